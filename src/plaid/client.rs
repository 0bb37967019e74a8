//! The Plaid HTTP client, behind the [`PlaidApi`] trait the sync service uses.
//!
//! Every call is a JSON POST with `PLAID-CLIENT-ID`, `PLAID-SECRET` and `Plaid-Version`
//! headers. Retryable failures (rate limits, Plaid 5xx, institution outages, network
//! errors) are retried with exponential backoff and full jitter, bounded in attempts and in
//! total time; failures that need a person are returned at once. Each answer's
//! `request_id` is logged; secrets and access tokens never are.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Disposition, PlaidError};
use super::types::*;
use crate::metrics::{self, PlaidStatus};

/// Which Plaid environment the credentials belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Sandbox,
    Production,
}

impl Environment {
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://sandbox.plaid.com",
            Environment::Production => "https://production.plaid.com",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }
}

/// A credential that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How hard to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Upper bound of the first backoff; each later one doubles it.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// No retry starts once this much time has gone by since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay up to the exponential bound.
    fn backoff(&self, attempt: u32) -> Duration {
        let bound = self
            .initial_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.max_backoff);
        bound.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

#[derive(Clone, Debug)]
pub struct PlaidConfig {
    pub environment: Environment,
    /// Where requests go: the environment's URL, or an override (the simulator).
    pub base_url: String,
    pub client_id: String,
    pub secret: Secret,
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Timeout of the first transactions call after linking (Plaid may take minutes).
    pub first_sync_timeout: Duration,
}

impl PlaidConfig {
    pub fn new(environment: Environment, client_id: &str, secret: &str) -> Self {
        PlaidConfig {
            environment,
            base_url: environment.base_url().to_owned(),
            client_id: client_id.to_owned(),
            secret: Secret::new(secret),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            first_sync_timeout: Duration::from_secs(180),
        }
    }
}

/// A page of `/investments/transactions/get`.
#[derive(Clone, Debug)]
pub struct TransactionsPage {
    pub access_token: AccessToken,
    pub start_date: chrono::NaiveDate,
    pub end_date: chrono::NaiveDate,
    pub account_ids: Option<Vec<String>>,
    pub count: i64,
    pub offset: i64,
    /// First sync after linking: Plaid may still be extracting, so wait longer.
    pub first_sync: bool,
}

/// The Plaid calls this server makes.
#[async_trait]
pub trait PlaidApi: Send + Sync {
    fn environment(&self) -> Environment;

    async fn investments_holdings_get(
        &self,
        access_token: &AccessToken,
        account_ids: Option<Vec<String>>,
    ) -> Result<InvestmentsHoldingsGetResponse, PlaidError>;

    async fn investments_transactions_get(
        &self,
        page: &TransactionsPage,
    ) -> Result<InvestmentsTransactionsGetResponse, PlaidError>;

    async fn investments_refresh(
        &self,
        access_token: &AccessToken,
    ) -> Result<RequestIdResponse, PlaidError>;

    async fn link_token_create(
        &self,
        request: &LinkTokenCreateRequest,
    ) -> Result<LinkTokenCreateResponse, PlaidError>;

    async fn item_public_token_exchange(
        &self,
        public_token: &PublicToken,
    ) -> Result<PublicTokenExchangeResponse, PlaidError>;

    async fn item_get(&self, access_token: &AccessToken) -> Result<ItemGetResponse, PlaidError>;

    async fn item_remove(
        &self,
        access_token: &AccessToken,
    ) -> Result<RequestIdResponse, PlaidError>;

    async fn accounts_get(
        &self,
        access_token: &AccessToken,
    ) -> Result<AccountsGetResponse, PlaidError>;

    async fn institutions_get_by_id(
        &self,
        institution_id: &str,
    ) -> Result<InstitutionsGetByIdResponse, PlaidError>;

    async fn sandbox_public_token_create(
        &self,
        institution_id: &str,
        webhook: Option<String>,
    ) -> Result<SandboxPublicTokenCreateResponse, PlaidError>;

    async fn webhook_verification_key_get(
        &self,
        key_id: &str,
    ) -> Result<WebhookVerificationKeyGetResponse, PlaidError>;
}

/// Plaid over HTTP.
pub struct PlaidClient {
    config: PlaidConfig,
    http: reqwest::Client,
}

#[derive(serde::Deserialize)]
struct RequestIdOnly {
    #[serde(default)]
    request_id: Option<String>,
}

impl PlaidClient {
    pub fn new(config: PlaidConfig) -> Result<Self, PlaidError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("investments/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PlaidError::Transport(e.to_string()))?;
        Ok(PlaidClient { config, http })
    }

    pub fn config(&self) -> &PlaidConfig {
        &self.config
    }

    async fn send_once<Resp: DeserializeOwned>(
        &self,
        path: &'static str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Resp, PlaidError> {
        let started = Instant::now();
        let sent = self
            .http
            .post(format!(
                "{}{path}",
                self.config.base_url.trim_end_matches('/')
            ))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("PLAID-CLIENT-ID", &self.config.client_id)
            .header("PLAID-SECRET", self.config.secret.expose())
            .header("Plaid-Version", PLAID_VERSION)
            .body(body.to_vec())
            .send()
            .await;
        let received = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.bytes().await;
                bytes.map(|b| (status, b)).map_err(|e| (Some(status), e))
            }
            Err(e) => Err((None, e)),
        };
        let (status, bytes) = match received {
            Ok(received) => received,
            Err((status, e)) => {
                let outcome = match status {
                    _ if e.is_timeout() => PlaidStatus::Timeout,
                    Some(status) => PlaidStatus::Http(status),
                    None => PlaidStatus::Transport,
                };
                metrics::plaid_request(path, outcome, started.elapsed());
                // reqwest's message carries the URL, never headers or body.
                return Err(PlaidError::Transport(e.without_url().to_string()));
            }
        };
        metrics::plaid_request(path, PlaidStatus::Http(status), started.elapsed());
        let request_id = serde_json::from_slice::<RequestIdOnly>(&bytes)
            .ok()
            .and_then(|r| r.request_id);
        tracing::info!(
            target: "investments::plaid",
            path,
            status,
            request_id = request_id.as_deref().unwrap_or("-"),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plaid call"
        );
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes)
                .map_err(|e| PlaidError::Unexpected(format!("{path}: {e}")));
        }
        match serde_json::from_slice::<PlaidErrorBody>(&bytes) {
            Ok(body) => Err(PlaidError::Api {
                status,
                body: Box::new(body),
            }),
            // A gateway's 5xx page without Plaid's error object: a transport problem.
            Err(_) if status >= 500 => Err(PlaidError::Transport(format!("HTTP {status}"))),
            Err(e) => Err(PlaidError::Unexpected(format!(
                "{path}: HTTP {status} without an error object ({e})"
            ))),
        }
    }

    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &'static str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, PlaidError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| PlaidError::Unexpected(format!("encoding {path}: {e}")))?;
        let policy = self.config.retry;
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            match self.send_once(path, &body, timeout).await {
                Ok(response) => return Ok(response),
                Err(err) => {
                    let retry = err.disposition() == Disposition::Retryable
                        && attempt < policy.max_attempts;
                    let delay = policy.backoff(attempt);
                    if !retry || started.elapsed() + delay > policy.max_elapsed {
                        return Err(err);
                    }
                    tracing::warn!(
                        target: "investments::plaid",
                        path,
                        attempt,
                        code = err.code(),
                        request_id = err.request_id().unwrap_or("-"),
                        delay_ms = delay.as_millis() as u64,
                        "plaid call failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[async_trait]
impl PlaidApi for PlaidClient {
    fn environment(&self) -> Environment {
        self.config.environment
    }

    async fn investments_holdings_get(
        &self,
        access_token: &AccessToken,
        account_ids: Option<Vec<String>>,
    ) -> Result<InvestmentsHoldingsGetResponse, PlaidError> {
        let request = InvestmentsHoldingsGetRequest {
            access_token: access_token.clone(),
            options: account_ids.map(|ids| AccountIdsOptions {
                account_ids: Some(ids),
            }),
        };
        self.call("/investments/holdings/get", &request, self.config.timeout)
            .await
    }

    async fn investments_transactions_get(
        &self,
        page: &TransactionsPage,
    ) -> Result<InvestmentsTransactionsGetResponse, PlaidError> {
        let request = InvestmentsTransactionsGetRequest {
            access_token: page.access_token.clone(),
            start_date: page.start_date.to_string(),
            end_date: page.end_date.to_string(),
            options: Some(TransactionsOptions {
                account_ids: page.account_ids.clone(),
                count: Some(page.count),
                offset: Some(page.offset),
                async_update: None,
            }),
        };
        let timeout = if page.first_sync {
            self.config.first_sync_timeout
        } else {
            self.config.timeout
        };
        self.call("/investments/transactions/get", &request, timeout)
            .await
    }

    async fn investments_refresh(
        &self,
        access_token: &AccessToken,
    ) -> Result<RequestIdResponse, PlaidError> {
        let request = AccessTokenRequest {
            access_token: access_token.clone(),
        };
        // Synchronous at Plaid and slow (often over 10 s).
        self.call(
            "/investments/refresh",
            &request,
            self.config.first_sync_timeout,
        )
        .await
    }

    async fn link_token_create(
        &self,
        request: &LinkTokenCreateRequest,
    ) -> Result<LinkTokenCreateResponse, PlaidError> {
        self.call("/link/token/create", request, self.config.timeout)
            .await
    }

    async fn item_public_token_exchange(
        &self,
        public_token: &PublicToken,
    ) -> Result<PublicTokenExchangeResponse, PlaidError> {
        let request = PublicTokenExchangeRequest {
            public_token: public_token.clone(),
        };
        self.call("/item/public_token/exchange", &request, self.config.timeout)
            .await
    }

    async fn item_get(&self, access_token: &AccessToken) -> Result<ItemGetResponse, PlaidError> {
        let request = AccessTokenRequest {
            access_token: access_token.clone(),
        };
        self.call("/item/get", &request, self.config.timeout).await
    }

    async fn item_remove(
        &self,
        access_token: &AccessToken,
    ) -> Result<RequestIdResponse, PlaidError> {
        let request = ItemRemoveRequest {
            access_token: access_token.clone(),
            reason_code: None,
            reason_note: None,
        };
        self.call("/item/remove", &request, self.config.timeout)
            .await
    }

    async fn accounts_get(
        &self,
        access_token: &AccessToken,
    ) -> Result<AccountsGetResponse, PlaidError> {
        let request = AccountsGetRequest {
            access_token: access_token.clone(),
            options: None,
        };
        self.call("/accounts/get", &request, self.config.timeout)
            .await
    }

    async fn institutions_get_by_id(
        &self,
        institution_id: &str,
    ) -> Result<InstitutionsGetByIdResponse, PlaidError> {
        let request = InstitutionsGetByIdRequest {
            institution_id: institution_id.to_owned(),
            country_codes: vec!["US".to_owned(), "CA".to_owned()],
            options: None,
        };
        self.call("/institutions/get_by_id", &request, self.config.timeout)
            .await
    }

    async fn sandbox_public_token_create(
        &self,
        institution_id: &str,
        webhook: Option<String>,
    ) -> Result<SandboxPublicTokenCreateResponse, PlaidError> {
        let request = SandboxPublicTokenCreateRequest {
            institution_id: institution_id.to_owned(),
            initial_products: vec!["investments".to_owned()],
            options: webhook.map(|url| SandboxPublicTokenOptions {
                webhook: Some(url),
                ..Default::default()
            }),
        };
        self.call(
            "/sandbox/public_token/create",
            &request,
            self.config.timeout,
        )
        .await
    }

    async fn webhook_verification_key_get(
        &self,
        key_id: &str,
    ) -> Result<WebhookVerificationKeyGetResponse, PlaidError> {
        let request = WebhookVerificationKeyGetRequest {
            key_id: key_id.to_owned(),
        };
        self.call(
            "/webhook_verification_key/get",
            &request,
            self.config.timeout,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(10),
        };
        for attempt in 1..12 {
            let d = policy.backoff(attempt);
            assert!(d <= Duration::from_secs(1), "{attempt}: {d:?}");
        }
        let first: Vec<Duration> = (0..50).map(|_| policy.backoff(1)).collect();
        assert!(first.iter().all(|d| *d <= Duration::from_millis(100)));
        assert!(first.iter().any(|d| *d != first[0]), "jittered");
    }

    #[test]
    fn secrets_do_not_print() {
        let token = AccessToken::new("access-sandbox-1234");
        let public = PublicToken::new("public-sandbox-5678");
        let secret = Secret::new("s3cr3t");
        let printed = format!("{token:?} {public:?} {secret:?}");
        assert!(
            !printed.contains("1234") && !printed.contains("5678") && !printed.contains("s3cr3t"),
            "{printed}"
        );
        let request = AccessTokenRequest {
            access_token: token,
        };
        assert!(!format!("{request:?}").contains("1234"));
    }
}

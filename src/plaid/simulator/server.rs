//! The simulator's HTTP side: Plaid's paths, request validation and error objects.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::data::{self, InstitutionInfo, ItemData, Rng};
use super::scenario::{ErrorCode, ScenarioItem};
use super::signing::Signer;
use super::{Scenario, SimulatorConfig};
use crate::plaid::types::*;

/// A Plaid error answer.
#[derive(Debug)]
pub struct SimError {
    status: u16,
    error_type: &'static str,
    error_code: &'static str,
    message: String,
    display_message: Option<&'static str>,
}

fn err(
    status: u16,
    error_type: &'static str,
    error_code: &'static str,
    message: impl Into<String>,
) -> SimError {
    SimError {
        status,
        error_type,
        error_code,
        message: message.into(),
        display_message: None,
    }
}

fn invalid_field(message: impl Into<String>) -> SimError {
    err(400, "INVALID_REQUEST", "INVALID_FIELD", message)
}

/// The error Plaid answers for an item in trouble: the one place that knows the type,
/// status and message of each code a scenario (or a per-item knob) can set.
pub fn item_error(code: ErrorCode) -> SimError {
    match code {
        ErrorCode::ItemLoginRequired => SimError {
            display_message: Some("Your login details have changed. Please log in again."),
            ..err(
                400,
                "ITEM_ERROR",
                "ITEM_LOGIN_REQUIRED",
                "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information",
            )
        },
        ErrorCode::ProductNotReady => err(
            400,
            "ITEM_ERROR",
            "PRODUCT_NOT_READY",
            "the requested product is not yet ready. please provide a webhook or try the request again later",
        ),
        ErrorCode::NoInvestmentAccounts => err(
            400,
            "ITEM_ERROR",
            "NO_INVESTMENT_ACCOUNTS",
            "no investment accounts are associated with this item",
        ),
        ErrorCode::InstitutionDown => SimError {
            display_message: Some(
                "This financial institution is not currently responding to requests. We apologize for the inconvenience.",
            ),
            ..err(
                400,
                "INSTITUTION_ERROR",
                "INSTITUTION_DOWN",
                "this institution is not currently responding to this request. please try again soon",
            )
        },
        ErrorCode::InternalServerError => err(
            500,
            "API_ERROR",
            "INTERNAL_SERVER_ERROR",
            "an unexpected error occurred",
        ),
    }
}

impl SimError {
    /// Plaid's error object for this error (`request_id` and `status` left to the caller).
    pub fn body(&self) -> PlaidErrorBody {
        PlaidErrorBody {
            error_type: self.error_type.to_owned(),
            error_code: self.error_code.to_owned(),
            error_code_reason: None,
            error_message: self.message.clone(),
            display_message: self.display_message.map(str::to_owned),
            request_id: None,
            status: None,
            documentation_url: Some(format!(
                "https://plaid.com/docs/?ref=error#{}",
                self.error_code.to_lowercase()
            )),
            suggested_action: None,
        }
    }

    /// The error object as a webhook carries it (with its HTTP status).
    pub fn in_webhook(&self) -> PlaidErrorBody {
        PlaidErrorBody {
            status: Some(self.status),
            ..self.body()
        }
    }
}

/// An item as the simulated Plaid keeps it.
pub struct SimItem {
    pub item_id: String,
    pub access_token: String,
    pub institution: &'static InstitutionInfo,
    pub webhook: Option<String>,
    pub data: ItemData,
    pub scenario: Scenario,
    pub rng: Rng,
    pub last_update: chrono::DateTime<Utc>,
    /// A scenario item's history; `None` for generated data.
    pub script: Option<Arc<ScenarioItem>>,
    /// The date `data` and the scripted fields below were replayed for.
    replayed: Option<NaiveDate>,
    /// Data calls fail with this (scripted).
    scripted_error: Option<ErrorCode>,
    /// `item.error` of successful answers (scripted).
    item_error: Option<ErrorCode>,
    consent_expiration_time: Option<chrono::DateTime<Utc>>,
}

impl SimItem {
    fn new(
        item_id: String,
        access_token: String,
        institution: &'static InstitutionInfo,
        webhook: Option<String>,
        data: ItemData,
        rng: Rng,
        now: chrono::DateTime<Utc>,
    ) -> SimItem {
        SimItem {
            item_id,
            access_token,
            institution,
            webhook,
            data,
            scenario: Scenario::default(),
            rng,
            last_update: now,
            script: None,
            replayed: None,
            scripted_error: None,
            item_error: None,
            consent_expiration_time: None,
        }
    }

    /// A scenario item's state on `today` replaces what it served before. Replayed once per
    /// date, so that in-process changes (`Simulator::add_transaction`, a knob's insert
    /// during pagination) last until the clock moves.
    pub fn replay(&mut self, today: NaiveDate) {
        let Some(script) = &self.script else { return };
        if self.replayed == Some(today) {
            return;
        }
        let state = script.state_at(today);
        self.data = state.data;
        self.scripted_error = state.error;
        self.item_error = state.item_error;
        self.consent_expiration_time = state.consent_expiration_time;
        self.replayed = Some(today);
    }

    /// The error data calls answer, if any: the knobs first, then the script.
    fn blocking_error(&self) -> Option<ErrorCode> {
        if self.scenario.login_required {
            Some(ErrorCode::ItemLoginRequired)
        } else if self.scenario.product_not_ready {
            Some(ErrorCode::ProductNotReady)
        } else {
            self.scripted_error
        }
    }

    fn wire_item(&self) -> Item {
        Item {
            item_id: self.item_id.clone(),
            institution_id: Some(self.institution.id.to_owned()),
            institution_name: None,
            webhook: self.webhook.clone(),
            error: self.item_error.map(|code| item_error(code).body()),
            available_products: vec!["balance".to_owned(), "transactions".to_owned()],
            billed_products: vec!["investments".to_owned()],
            products: Some(vec!["investments".to_owned()]),
            consented_products: None,
            consent_expiration_time: self.consent_expiration_time,
            update_type: "background".to_owned(),
            created_at: None,
        }
    }

    /// Adds a transaction dated `today` (it becomes the newest).
    pub fn add_transaction(&mut self, today: NaiveDate) -> InvestmentTransaction {
        let template = self.data.transactions[0].clone();
        let transaction = InvestmentTransaction {
            investment_transaction_id: self.rng.id(),
            date: today,
            name: format!("NEW {}", template.name),
            ..template
        };
        self.data.transactions.push(transaction.clone());
        data::sort_newest_first(&mut self.data.transactions);
        transaction
    }
}

struct PublicToken {
    institution: &'static InstitutionInfo,
    webhook: Option<String>,
}

#[derive(Default)]
pub struct World {
    pub items: HashMap<String, SimItem>,
    tokens: HashMap<String, String>,
    public_tokens: HashMap<String, PublicToken>,
    created: u64,
    pub calls: HashMap<String, u64>,
}

impl World {
    fn item_by_token(&mut self, token: &str) -> Result<&mut SimItem, SimError> {
        let id = self.tokens.get(token).cloned().ok_or_else(|| {
            err(
                400,
                "INVALID_INPUT",
                "INVALID_ACCESS_TOKEN",
                "provided access token is in an invalid format or does not exist",
            )
        })?;
        self.items.get_mut(&id).ok_or_else(|| {
            err(
                400,
                "ITEM_ERROR",
                "ITEM_NOT_FOUND",
                "the requested item was not found",
            )
        })
    }
}

pub struct State {
    pub config: SimulatorConfig,
    pub world: std::sync::Mutex<World>,
    pub signer: std::sync::Mutex<Signer>,
    pub http: reqwest::Client,
    requests: AtomicU64,
}

impl State {
    pub fn new(config: SimulatorConfig) -> State {
        let kid = Rng::new(config.seed ^ data::hash("kid"))
            .id()
            .to_lowercase();
        State {
            signer: std::sync::Mutex::new(Signer::generate(kid, config.clock.now().timestamp())),
            config,
            world: std::sync::Mutex::new(World::default()),
            http: reqwest::Client::new(),
            requests: AtomicU64::new(0),
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("not poisoned")
    }

    /// The item of an access token, replayed to today if it is a scenario item.
    fn item<'w>(
        &self,
        world: &'w mut World,
        token: &AccessToken,
    ) -> Result<&'w mut SimItem, SimError> {
        let item = world.item_by_token(token.expose())?;
        item.replay(self.config.clock.today());
        Ok(item)
    }

    /// Links a scenario item, or re-links it (Link's update mode, or the user linking the
    /// same login again): same `item_id`, a new access token, the old one invalid.
    fn link_scripted(
        &self,
        world: &mut World,
        script: &ScenarioItem,
        institution: &'static InstitutionInfo,
        webhook: Option<String>,
    ) -> Value {
        let item_id = script.item_id.clone();
        let access_token = format!(
            "access-sandbox-{}",
            Rng::new(self.config.seed ^ data::hash(&item_id) ^ world.created)
                .id()
                .to_lowercase()
        );
        match world.items.get_mut(&item_id) {
            Some(item) => {
                let old = std::mem::replace(&mut item.access_token, access_token.clone());
                world.tokens.remove(&old);
                item.webhook = webhook.or(item.webhook.take());
                // Going through Link again is what fixes a login.
                item.scenario.login_required = false;
            }
            None => {
                let mut item = SimItem::new(
                    item_id.clone(),
                    access_token.clone(),
                    institution,
                    webhook,
                    ItemData::default(),
                    Rng::new(self.config.seed ^ data::hash(&item_id)),
                    self.config.clock.now(),
                );
                item.script = Some(Arc::new(script.clone()));
                world.items.insert(item_id.clone(), item);
            }
        }
        world.tokens.insert(access_token.clone(), item_id.clone());
        json!({ "access_token": access_token, "item_id": item_id })
    }

    fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        format!("sim{:011x}", n ^ (self.config.seed & 0xffff))
    }
}

/// Parses a request body as Plaid does: JSON object, credentials allowed in the body,
/// missing fields -> MISSING_FIELDS, unknown fields -> UNKNOWN_FIELDS.
fn parse<T: DeserializeOwned>(
    body: &[u8],
) -> Result<(T, Option<String>, Option<String>), SimError> {
    let mut value: Value = serde_json::from_slice(body).map_err(|_| {
        err(
            400,
            "INVALID_REQUEST",
            "INVALID_BODY",
            "body could not be parsed as JSON",
        )
    })?;
    let object = value.as_object_mut().ok_or_else(|| {
        err(
            400,
            "INVALID_REQUEST",
            "INVALID_BODY",
            "body must be a JSON object",
        )
    })?;
    let take = |object: &mut serde_json::Map<String, Value>, key: &str| {
        object
            .remove(key)
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    let client_id = take(object, "client_id");
    let secret = take(object, "secret");
    let parsed = serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        if message.starts_with("missing field") {
            err(
                400,
                "INVALID_REQUEST",
                "MISSING_FIELDS",
                format!("the following required fields are missing: {message}"),
            )
        } else if message.starts_with("unknown field") {
            err(
                400,
                "INVALID_REQUEST",
                "UNKNOWN_FIELDS",
                format!("the following fields are not recognized by this endpoint: {message}"),
            )
        } else {
            invalid_field(message)
        }
    })?;
    Ok((parsed, client_id, secret))
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire types serialize")
}

fn date(field: &str, text: &str) -> Result<NaiveDate, SimError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| invalid_field(format!("{field} must be a valid date in YYYY-MM-DD format")))
}

/// The checks every data call of an item goes through, in Plaid's order of precedence.
fn data_call_checks(item: &mut SimItem, path: &str) -> Result<(), SimError> {
    if let Some(code) = item.blocking_error() {
        return Err(item_error(code));
    }
    if item.scenario.rate_limited_calls > 0 {
        item.scenario.rate_limited_calls -= 1;
        let code = if path.contains("holdings") {
            "INVESTMENT_HOLDINGS_GET_LIMIT"
        } else {
            "INVESTMENT_TRANSACTIONS_LIMIT"
        };
        return Err(err(
            429,
            "RATE_LIMIT_EXCEEDED",
            code,
            "rate limit exceeded for attempts to access this item. please try again later",
        ));
    }
    Ok(())
}

fn check_account_ids(item: &SimItem, ids: &Option<Vec<String>>) -> Result<(), SimError> {
    if let Some(ids) = ids {
        for id in ids {
            if !item.data.accounts.iter().any(|a| &a.account_id == id) {
                return Err(err(
                    400,
                    "INVALID_INPUT",
                    "INVALID_ACCOUNT_ID",
                    format!("one or more of the account IDs is invalid: {id}"),
                ));
            }
        }
    }
    Ok(())
}

fn securities_for<'a>(item: &SimItem, ids: impl Iterator<Item = &'a String>) -> Vec<Security> {
    let wanted: std::collections::HashSet<&String> = ids.collect();
    item.data
        .securities
        .iter()
        .filter(|s| wanted.contains(&s.security_id))
        .cloned()
        .collect()
}

impl State {
    fn latency(&self, path: &str, body: &[u8]) -> Duration {
        let mut latency = self.config.latency;
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body)
            && let Some(token) = object.get("access_token").and_then(Value::as_str)
        {
            let world = self.world();
            if let Some(item) = world.tokens.get(token).and_then(|id| world.items.get(id)) {
                latency += Duration::from_millis(item.scenario.latency_ms);
            }
        }
        let _ = path;
        latency
    }

    fn handle(&self, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, SimError> {
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(err(
                400,
                "INVALID_REQUEST",
                "INVALID_HEADERS",
                "Content-Type header must be application/json",
            ));
        }
        if let Some(version) = headers.get("plaid-version").and_then(|v| v.to_str().ok())
            && version != PLAID_VERSION
        {
            return Err(err(
                400,
                "INVALID_REQUEST",
                "INVALID_HEADERS",
                format!("unsupported Plaid-Version {version}"),
            ));
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let check_keys = |client_id: Option<String>, secret: Option<String>| {
            let client_id = header("plaid-client-id").or(client_id);
            let secret = header("plaid-secret").or(secret);
            match (client_id, secret) {
                (Some(c), Some(s)) if c == self.config.client_id && s == self.config.secret => {
                    Ok(())
                }
                (None, _) | (_, None) => Err(err(
                    400,
                    "INVALID_REQUEST",
                    "MISSING_FIELDS",
                    "the following required fields are missing: client_id, secret",
                )),
                _ => Err(err(
                    400,
                    "INVALID_INPUT",
                    "INVALID_API_KEYS",
                    "invalid client_id or secret provided",
                )),
            }
        };
        *self.world().calls.entry(path.to_owned()).or_default() += 1;
        macro_rules! request {
            ($t:ty) => {{
                let (request, client_id, secret) = parse::<$t>(body)?;
                check_keys(client_id, secret)?;
                request
            }};
        }
        match path {
            "/sandbox/public_token/create" => {
                let r = request!(SandboxPublicTokenCreateRequest);
                let institution = data::institution(&r.institution_id).ok_or_else(|| {
                    err(
                        400,
                        "INVALID_INPUT",
                        "INVALID_INSTITUTION",
                        format!("invalid institution_id {}", r.institution_id),
                    )
                })?;
                if !r.initial_products.iter().any(|p| p == "investments") {
                    return Err(err(
                        400,
                        "INVALID_INPUT",
                        "INVALID_PRODUCT",
                        "initial_products must include investments for this simulator",
                    ));
                }
                let mut world = self.world();
                world.created += 1;
                let token = format!(
                    "public-sandbox-{}",
                    Rng::new(self.config.seed ^ world.created)
                        .id()
                        .to_lowercase()
                );
                world.public_tokens.insert(
                    token.clone(),
                    PublicToken {
                        institution,
                        webhook: r.options.and_then(|o| o.webhook),
                    },
                );
                Ok(json!({ "public_token": token }))
            }
            "/item/public_token/exchange" => {
                let r = request!(PublicTokenExchangeRequest);
                let mut world = self.world();
                let pending = world
                    .public_tokens
                    .remove(r.public_token.expose())
                    .ok_or_else(|| {
                        err(
                            400,
                            "INVALID_INPUT",
                            "INVALID_PUBLIC_TOKEN",
                            "provided public token is expired, has been used, or does not exist",
                        )
                    })?;
                world.created += 1;
                if let Some(script) = self
                    .config
                    .scenario
                    .as_ref()
                    .and_then(|f| f.item_for_institution(pending.institution.id))
                {
                    return Ok(self.link_scripted(
                        &mut world,
                        script,
                        pending.institution,
                        pending.webhook,
                    ));
                }
                let seed = self.config.seed
                    ^ data::hash(pending.institution.id)
                    ^ world.created.wrapping_mul(0x9e37_79b9);
                let mut rng = Rng::new(seed ^ 0x5eed);
                let item_id = rng.id();
                let access_token = format!("access-sandbox-{}", rng.id().to_lowercase());
                let data = data::generate(
                    seed,
                    pending.institution,
                    self.config.clock.today(),
                    self.config.transactions_per_item,
                );
                world.tokens.insert(access_token.clone(), item_id.clone());
                world.items.insert(
                    item_id.clone(),
                    SimItem::new(
                        item_id.clone(),
                        access_token.clone(),
                        pending.institution,
                        pending.webhook,
                        data,
                        rng,
                        self.config.clock.now(),
                    ),
                );
                Ok(json!({ "access_token": access_token, "item_id": item_id }))
            }
            "/item/get" => {
                let r = request!(AccessTokenRequest);
                let mut world = self.world();
                let item = self.item(&mut world, &r.access_token)?;
                let mut wire = item.wire_item();
                // The item's own status shows a login that is required.
                if wire.error.is_none()
                    && item.blocking_error() == Some(ErrorCode::ItemLoginRequired)
                {
                    wire.error = Some(item_error(ErrorCode::ItemLoginRequired).body());
                }
                wire.created_at = Some(item.last_update);
                Ok(json!({
                    "item": to_value(&wire),
                    "status": { "investments": { "last_successful_update": item.last_update, "last_failed_update": null } },
                }))
            }
            "/accounts/get" => {
                let r = request!(AccountsGetRequest);
                let mut world = self.world();
                let item = self.item(&mut world, &r.access_token)?;
                // Errors of the whole item (not of the investments product) fail every
                // product's calls, accounts included.
                if let Some(
                    code @ (ErrorCode::ItemLoginRequired
                    | ErrorCode::InstitutionDown
                    | ErrorCode::InternalServerError),
                ) = item.blocking_error()
                {
                    return Err(item_error(code));
                }
                check_account_ids(
                    item,
                    &r.options.as_ref().and_then(|o| o.account_ids.clone()),
                )?;
                let accounts: Vec<Account> = item
                    .data
                    .accounts
                    .iter()
                    .cloned()
                    .map(|mut a| {
                        a.balances.margin_loan_amount = None;
                        a
                    })
                    .collect();
                Ok(json!({ "accounts": to_value(&accounts), "item": to_value(&item.wire_item()) }))
            }
            "/institutions/get_by_id" => {
                let r = request!(InstitutionsGetByIdRequest);
                if r.country_codes.is_empty() {
                    return Err(invalid_field("country_codes must not be empty"));
                }
                let info = data::institution(&r.institution_id).ok_or_else(|| {
                    err(
                        400,
                        "INVALID_INPUT",
                        "INVALID_INSTITUTION",
                        format!("invalid institution_id {}", r.institution_id),
                    )
                })?;
                let institution = Institution {
                    institution_id: info.id.to_owned(),
                    name: info.name.to_owned(),
                    products: vec![
                        "investments".to_owned(),
                        "transactions".to_owned(),
                        "balance".to_owned(),
                    ],
                    country_codes: vec![info.country.to_owned()],
                    url: None,
                    primary_color: None,
                    logo: None,
                    routing_numbers: Vec::new(),
                    oauth: false,
                };
                Ok(json!({ "institution": to_value(&institution) }))
            }
            "/investments/holdings/get" => {
                let r = request!(InvestmentsHoldingsGetRequest);
                let mut world = self.world();
                let item = self.item(&mut world, &r.access_token)?;
                data_call_checks(item, path)?;
                let account_ids = r.options.and_then(|o| o.account_ids);
                check_account_ids(item, &account_ids)?;
                let keep =
                    |account: &String| account_ids.as_ref().is_none_or(|ids| ids.contains(account));
                let holdings: Vec<Holding> = item
                    .data
                    .holdings
                    .iter()
                    .filter(|h| keep(&h.account_id))
                    .cloned()
                    .collect();
                let accounts: Vec<Account> = item
                    .data
                    .accounts
                    .iter()
                    .filter(|a| keep(&a.account_id))
                    .cloned()
                    .collect();
                let securities = securities_for(item, holdings.iter().map(|h| &h.security_id));
                Ok(to_value(&InvestmentsHoldingsGetResponse {
                    accounts,
                    holdings,
                    securities,
                    item: item.wire_item(),
                    request_id: String::new(),
                    is_investments_fallback_item: Some(false),
                }))
            }
            "/investments/transactions/get" => {
                let r = request!(InvestmentsTransactionsGetRequest);
                let start = date("start_date", &r.start_date)?;
                let end = date("end_date", &r.end_date)?;
                if start > end {
                    return Err(invalid_field(
                        "start_date must be before or equal to end_date",
                    ));
                }
                let options = r.options.unwrap_or_default();
                let count = options.count.unwrap_or(100);
                if !(1..=500).contains(&count) {
                    return Err(invalid_field("count must be an integer between 1 and 500"));
                }
                let offset = options.offset.unwrap_or(0);
                if offset < 0 {
                    return Err(invalid_field("offset must be a non-negative integer"));
                }
                let mut world = self.world();
                let item = self.item(&mut world, &r.access_token)?;
                data_call_checks(item, path)?;
                check_account_ids(item, &options.account_ids)?;
                if offset > 0 && item.scenario.failing_pages > 0 {
                    item.scenario.failing_pages -= 1;
                    return Err(item_error(ErrorCode::InternalServerError));
                }
                let in_window: Vec<&InvestmentTransaction> = item
                    .data
                    .transactions
                    .iter()
                    .filter(|t| t.date >= start && t.date <= end)
                    .filter(|t| {
                        options
                            .account_ids
                            .as_ref()
                            .is_none_or(|ids| ids.contains(&t.account_id))
                    })
                    .collect();
                let total = in_window.len() as i64;
                let page: Vec<InvestmentTransaction> = in_window
                    .into_iter()
                    .skip(offset as usize)
                    .take(count as usize)
                    .cloned()
                    .collect();
                let securities =
                    securities_for(item, page.iter().filter_map(|t| t.security_id.as_ref()));
                let response = to_value(&InvestmentsTransactionsGetResponse {
                    item: item.wire_item(),
                    accounts: item.data.accounts.clone(),
                    securities,
                    investment_transactions: page,
                    total_investment_transactions: total,
                    request_id: String::new(),
                    is_investments_fallback_item: Some(false),
                });
                if offset == 0 && item.scenario.insert_during_pagination {
                    item.scenario.insert_during_pagination = false;
                    item.add_transaction(self.config.clock.today());
                }
                Ok(response)
            }
            "/investments/refresh" => {
                let r = request!(AccessTokenRequest);
                let mut world = self.world();
                let item = self.item(&mut world, &r.access_token)?;
                data_call_checks(item, path)?;
                item.last_update = self.config.clock.now();
                Ok(json!({}))
            }
            "/item/remove" => {
                let r = request!(ItemRemoveRequest);
                let mut world = self.world();
                let item_id = world
                    .item_by_token(r.access_token.expose())?
                    .item_id
                    .clone();
                world.items.remove(&item_id);
                world.tokens.remove(r.access_token.expose());
                Ok(json!({}))
            }
            "/link/token/create" => {
                let r = request!(LinkTokenCreateRequest);
                if r.client_name.trim().is_empty() || r.user.client_user_id.trim().is_empty() {
                    return Err(invalid_field(
                        "client_name and user.client_user_id must be non-empty",
                    ));
                }
                if r.country_codes.is_empty() {
                    return Err(invalid_field("country_codes must not be empty"));
                }
                let update_mode = match &r.access_token {
                    Some(token) => {
                        self.world().item_by_token(token.expose())?;
                        true
                    }
                    None => {
                        if !r
                            .products
                            .as_ref()
                            .is_some_and(|p| p.iter().any(|p| p == "investments"))
                        {
                            return Err(err(
                                400,
                                "INVALID_INPUT",
                                "INVALID_PRODUCT",
                                "products must include investments",
                            ));
                        }
                        false
                    }
                };
                let lifetime = if update_mode {
                    chrono::Duration::minutes(30)
                } else {
                    chrono::Duration::hours(4)
                };
                let n = self.requests.load(Ordering::Relaxed);
                Ok(json!({
                    "link_token": format!("link-sandbox-{}", Rng::new(n ^ self.config.seed).id().to_lowercase()),
                    "expiration": (self.config.clock.now() + lifetime).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                }))
            }
            "/webhook_verification_key/get" => {
                let r = request!(WebhookVerificationKeyGetRequest);
                let signer = self.signer.lock().expect("not poisoned");
                if r.key_id != signer.kid() {
                    return Err(err(
                        400,
                        "INVALID_INPUT",
                        "INVALID_WEBHOOK_VERIFICATION_KEY_ID",
                        "invalid key_id provided",
                    ));
                }
                Ok(json!({ "key": to_value(signer.jwk()) }))
            }
            "/sandbox/item/fire_webhook" | "/sandbox/item/reset_login" => {
                // Answered by `dispatch`, which can await the delivery.
                Err(err(404, "INVALID_REQUEST", "NOT_FOUND", "not found"))
            }
            _ => Err(err(
                404,
                "INVALID_REQUEST",
                "NOT_FOUND",
                format!("{path} is not a Plaid endpoint"),
            )),
        }
    }
}

fn error_response(e: SimError, request_id: &str) -> Response {
    let body = PlaidErrorBody {
        request_id: Some(request_id.to_owned()),
        ..e.body()
    };
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(body)).into_response()
}

/// Every request: latency, then the endpoint, then Plaid's envelope (`request_id`).
pub async fn dispatch(
    AxumState(state): AxumState<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let request_id = state.request_id();
    let latency = state.latency(&path, &body);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let result = match path.as_str() {
        "/sandbox/item/fire_webhook" | "/sandbox/item/reset_login" => {
            super::sandbox_webhook(&state, &path, &headers, &body).await
        }
        _ => state.handle(&path, &headers, &body),
    };
    // As Plaid does once an institution refresh is done: announce it with a webhook.
    if path == "/investments/refresh" && result.is_ok() {
        super::announce_refresh(&state, &body);
    }
    match result {
        Ok(mut value) => {
            if let Value::Object(object) = &mut value {
                object.insert("request_id".to_owned(), Value::String(request_id));
            }
            axum::Json(value).into_response()
        }
        Err(e) => error_response(e, &request_id),
    }
}

/// Parses a sandbox request and checks its credentials (for the handlers in `mod.rs`).
pub fn sandbox_request<T: DeserializeOwned>(
    state: &State,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, SimError> {
    let (request, client_id, secret) = parse::<T>(body)?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let client_id = header("plaid-client-id").or(client_id);
    let secret = header("plaid-secret").or(secret);
    if client_id.as_deref() != Some(state.config.client_id.as_str())
        || secret.as_deref() != Some(state.config.secret.as_str())
    {
        return Err(err(
            400,
            "INVALID_INPUT",
            "INVALID_API_KEYS",
            "invalid client_id or secret provided",
        ));
    }
    Ok(request)
}

pub fn item_id_for_token(state: &State, token: &str) -> Result<String, SimError> {
    let mut world = state.world();
    Ok(world.item_by_token(token)?.item_id.clone())
}

pub fn webhook_failed(message: impl Into<String>) -> SimError {
    err(400, "INVALID_INPUT", "SANDBOX_WEBHOOK_INVALID", message)
}

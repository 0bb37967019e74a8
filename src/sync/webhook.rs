//! Plaid webhooks: verification of `Plaid-Verification`, and what each webhook does.
//!
//! Verification follows Plaid's procedure: the header is a compact JWT whose header must
//! say `ES256` and name a `kid`; the key is fetched from `/webhook_verification_key/get`
//! (cached by `kid`, refused once expired); the signature must verify; `iat` must be at
//! most five minutes old; and the SHA-256 of the raw body, as received, must equal the
//! `request_body_sha256` claim (compared in constant time). Anything else is refused.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use super::{SyncService, Trigger};
use crate::db::items::ItemErrorFields;
use crate::db::{self};
use crate::error::ApiResult;
use crate::plaid::client::PlaidApi;
use crate::plaid::error::PlaidError;
use crate::plaid::types::{Webhook, WebhookVerificationKey};
use crate::vocabulary::ItemStatus;

/// Oldest `iat` accepted, in seconds (replay protection).
pub const MAX_AGE_SECONDS: i64 = 5 * 60;

/// Why a webhook was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no Plaid-Verification header")]
    MissingHeader,
    #[error("Plaid-Verification is not a JWT")]
    Malformed,
    #[error("the JWT is not signed with ES256")]
    WrongAlgorithm,
    #[error("the verification key could not be obtained")]
    UnknownKey,
    #[error("the verification key has expired")]
    ExpiredKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the webhook is more than five minutes old")]
    Stale,
    #[error("the body does not match its signed hash")]
    BodyMismatch,
}

#[derive(Deserialize)]
struct Claims {
    iat: i64,
    request_body_sha256: String,
}

/// Verifies webhook signatures; keys are cached by `kid`.
pub struct WebhookVerifier {
    plaid: Arc<dyn PlaidApi>,
    keys: Mutex<HashMap<String, WebhookVerificationKey>>,
}

impl WebhookVerifier {
    pub fn new(plaid: Arc<dyn PlaidApi>) -> Self {
        WebhookVerifier {
            plaid,
            keys: Mutex::new(HashMap::new()),
        }
    }

    async fn key(&self, kid: &str) -> Result<WebhookVerificationKey, Rejection> {
        if let Some(key) = self.keys.lock().await.get(kid) {
            return Ok(key.clone());
        }
        let key = self
            .plaid
            .webhook_verification_key_get(kid)
            .await
            .map_err(|err| {
                tracing::warn!(
                    kid,
                    code = err.code(),
                    "webhook verification key unavailable"
                );
                Rejection::UnknownKey
            })?
            .key;
        self.keys.lock().await.insert(kid.to_owned(), key.clone());
        Ok(key)
    }

    /// Checks a webhook's `Plaid-Verification` header against its raw body, at `now`
    /// (unix seconds).
    pub async fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejection> {
        let jwt = header.ok_or(Rejection::MissingHeader)?.trim();
        let jwt_header = jsonwebtoken::decode_header(jwt).map_err(|_| Rejection::Malformed)?;
        if jwt_header.alg != Algorithm::ES256 {
            return Err(Rejection::WrongAlgorithm);
        }
        let kid = jwt_header.kid.ok_or(Rejection::Malformed)?;
        let key = self.key(&kid).await?;
        if key.expired_at.is_some() {
            return Err(Rejection::ExpiredKey);
        }
        let decoding =
            DecodingKey::from_ec_components(&key.x, &key.y).map_err(|_| Rejection::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Claims>(jwt, &decoding, &validation)
            .map_err(|_| Rejection::BadSignature)?
            .claims;
        if now - claims.iat > MAX_AGE_SECONDS || claims.iat - now > MAX_AGE_SECONDS {
            return Err(Rejection::Stale);
        }
        let digest = hex::encode(Sha256::digest(body));
        let claimed = claims.request_body_sha256.to_ascii_lowercase();
        if digest.len() != claimed.len() || !bool::from(digest.as_bytes().ct_eq(claimed.as_bytes()))
        {
            return Err(Rejection::BodyMismatch);
        }
        Ok(())
    }
}

/// What a verified webhook led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookAction {
    /// A sync of the item started in the background (or joined one already running).
    SyncStarted,
    /// The item's status was set.
    StatusSet(String),
    /// Not about an item of ours, or nothing to do.
    Ignored,
}

impl SyncService {
    /// Acts on a verified webhook. Syncs run in the background, so that Plaid gets its
    /// answer at once; a sync already running for the item is joined, not repeated.
    pub async fn handle_webhook(&self, webhook: &Webhook) -> ApiResult<WebhookAction> {
        let Some(item) = db::items::find_by_plaid_id(self.db(), &webhook.item_id).await? else {
            tracing::info!(item = %webhook.item_id, "webhook for an unknown item ignored");
            return Ok(WebhookAction::Ignored);
        };
        let error_fields = |err: &Option<crate::plaid::types::PlaidErrorBody>| {
            err.as_ref().map(|e| ItemErrorFields {
                error_type: Some(e.error_type.clone()),
                error_code: Some(e.error_code.clone()),
                error_message: Some(e.error_message.clone()),
                display_message: e.display_message.clone(),
            })
        };
        let action = match (webhook.webhook_type.as_str(), webhook.webhook_code.as_str()) {
            ("HOLDINGS", "DEFAULT_UPDATE")
            | ("INVESTMENTS_TRANSACTIONS", "DEFAULT_UPDATE")
            | ("INVESTMENTS_TRANSACTIONS", "HISTORICAL_UPDATE") => {
                // A supervised task (joined, or queued as a follow-up run when one is
                // running): Plaid gets its answer at once.
                self.start_sync(item, Trigger::Webhook, None, None)?;
                WebhookAction::SyncStarted
            }
            ("ITEM", "ERROR") => {
                let status = match &webhook.error {
                    Some(body) => super::status_after(&PlaidError::Api {
                        status: body.status.unwrap_or(400),
                        body: Box::new(body.clone()),
                    }),
                    None => ItemStatus::Error,
                };
                self.set_item_status(&item, status, error_fields(&webhook.error))
                    .await?;
                WebhookAction::StatusSet(status.as_str().to_owned())
            }
            ("ITEM", "LOGIN_REPAIRED") => {
                self.set_item_status(&item, ItemStatus::Healthy, None)
                    .await?;
                WebhookAction::StatusSet(ItemStatus::Healthy.as_str().to_owned())
            }
            ("ITEM", "PENDING_DISCONNECT") => {
                self.set_item_status(&item, ItemStatus::PendingDisconnect, None)
                    .await?;
                WebhookAction::StatusSet(ItemStatus::PendingDisconnect.as_str().to_owned())
            }
            ("ITEM", "PENDING_EXPIRATION") => {
                self.set_item_status(&item, ItemStatus::PendingExpiration, None)
                    .await?;
                if let Some(expires) = webhook.consent_expiration_time {
                    db::items::update(
                        self.db(),
                        crate::db::entities::plaid_items::ActiveModel {
                            id: sea_orm::Set(item.id),
                            consent_expiration_time: sea_orm::Set(Some(expires)),
                            ..Default::default()
                        },
                    )
                    .await?;
                }
                WebhookAction::StatusSet(ItemStatus::PendingExpiration.as_str().to_owned())
            }
            ("ITEM", "USER_PERMISSION_REVOKED") => {
                let error = error_fields(&webhook.error).or(Some(ItemErrorFields {
                    error_code: Some("USER_PERMISSION_REVOKED".to_owned()),
                    ..Default::default()
                }));
                self.set_item_status(&item, ItemStatus::LoginRequired, error)
                    .await?;
                WebhookAction::StatusSet(ItemStatus::LoginRequired.as_str().to_owned())
            }
            _ => WebhookAction::Ignored,
        };
        tracing::info!(
            item = %webhook.item_id,
            webhook_type = %webhook.webhook_type,
            webhook_code = %webhook.webhook_code,
            ?action,
            "webhook handled"
        );
        Ok(action)
    }
}

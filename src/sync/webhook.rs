//! Plaid webhooks: verification of `Plaid-Verification`, and what each webhook does.
//!
//! Verification follows Plaid's procedure: the header is a compact JWT whose header must
//! say `ES256` and name a `kid` (checked before anything else, so a token of any other
//! shape never reaches Plaid); the key is fetched from `/webhook_verification_key/get`;
//! the signature must verify; `iat` must be at most five minutes old; and the SHA-256 of
//! the raw body, as received, must equal the `request_body_sha256` claim (compared in
//! constant time). Anything else is refused.
//!
//! Anyone can post a token naming any `kid`, so key fetches are bounded:
//! - fetches share one token bucket of [`KEY_FETCH_BURST`] fetches, refilled by one every
//!   [`KEY_FETCH_REFILL_SECONDS`] (at most `10 + T/6` fetches in any `T` seconds); when it
//!   is empty an unknown `kid` is refused without a fetch (Plaid retries the delivery);
//! - a `kid` Plaid refused (or whose key has expired) is refused without a fetch for
//!   [`REFUSED_KID_SECONDS`] (remembered for the last [`REFUSED_KIDS`] such `kid`s);
//! - keys are cached by the `kid` Plaid returns (at most [`CACHED_KEYS`]), dropped once
//!   their `expired_at` has passed, and refetched when older than [`KEY_TTL_SECONDS`] or
//!   when a well-formed token fails to verify with them (at most once per
//!   [`REFRESH_COOLDOWN_SECONDS`] per key); a refresh that cannot happen keeps the
//!   cached key;
//! - fetches run one at a time, so simultaneous deliveries naming the same new `kid`
//!   make one fetch.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lru::LruCache;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{SyncService, Trigger};
use crate::db::items::ItemErrorFields;
use crate::error::ApiResult;
use crate::plaid::client::PlaidApi;
use crate::plaid::error::PlaidError;
use crate::plaid::types::{Webhook, WebhookVerificationKey};
use crate::vocabulary::ItemStatus;

/// Oldest `iat` accepted, in seconds (replay protection).
pub const MAX_AGE_SECONDS: i64 = 5 * 60;
/// Key fetches that may happen at once (the token bucket's size).
pub const KEY_FETCH_BURST: u32 = 10;
/// One more key fetch is allowed every this-many seconds (10 a minute), up to the burst.
pub const KEY_FETCH_REFILL_SECONDS: i64 = 6;
/// How long a `kid` Plaid refused, or whose key expired, is refused without a fetch.
pub const REFUSED_KID_SECONDS: i64 = 10 * 60;
/// How many refused `kid`s are remembered (least recently seen forgotten first).
pub const REFUSED_KIDS: usize = 1024;
/// How many keys are cached (Plaid has a handful valid at a time).
pub const CACHED_KEYS: usize = 16;
/// A cached key is refetched when older than this, to learn of its `expired_at`.
pub const KEY_TTL_SECONDS: i64 = 60 * 60;
/// A cached key that fails to verify a well-formed token is refetched at most this often.
pub const REFRESH_COOLDOWN_SECONDS: i64 = 60;
/// Longest `kid` considered.
const MAX_KID_LEN: usize = 256;

/// Why a webhook was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no Plaid-Verification header")]
    MissingHeader,
    #[error("Plaid-Verification is not a JWT")]
    Malformed,
    #[error("the JWT is not signed with ES256")]
    WrongAlgorithm,
    #[error("the verification key could not be obtained")]
    UnknownKey,
    #[error("too many unknown verification keys; try again later")]
    KeyFetchLimited,
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

/// A key as fetched.
#[derive(Clone)]
struct Cached {
    key: WebhookVerificationKey,
    fetched_at: i64,
}

/// Fetches allowed: [`KEY_FETCH_BURST`] at most, one more every
/// [`KEY_FETCH_REFILL_SECONDS`].
struct Bucket {
    tokens: u32,
    refilled_at: i64,
}

impl Bucket {
    fn take(&mut self, now: i64) -> bool {
        let elapsed = (now - self.refilled_at).max(0);
        let earned = elapsed / KEY_FETCH_REFILL_SECONDS;
        if earned > 0 {
            self.tokens = (i64::from(self.tokens) + earned).min(i64::from(KEY_FETCH_BURST)) as u32;
            self.refilled_at += earned * KEY_FETCH_REFILL_SECONDS;
        }
        if self.tokens == KEY_FETCH_BURST {
            // A full bucket earns nothing more. Never moved back: a clock set back must
            // not mint fetches.
            self.refilled_at = self.refilled_at.max(now);
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

struct Keys {
    known: LruCache<String, Cached>,
    /// `kid` -> (refused until, why).
    refused: LruCache<String, (i64, Rejection)>,
    bucket: Bucket,
    /// Fetches made, so that a task that waited for another's fetch looks again.
    generation: u64,
}

/// What the cache says about a `kid`.
enum Lookup {
    Use(WebhookVerificationKey),
    Refuse(Rejection),
    /// Fetch it; `stale` is the cached key to fall back on if the fetch cannot happen.
    Fetch {
        stale: Option<WebhookVerificationKey>,
    },
}

fn expired(key: &WebhookVerificationKey, now: i64) -> bool {
    key.expired_at.is_some_and(|at| at <= now)
}

impl Keys {
    fn refuse(&mut self, kid: &str, now: i64, why: Rejection) {
        self.known.pop(kid);
        self.refused
            .put(kid.to_owned(), (now + REFUSED_KID_SECONDS, why));
    }

    /// `verify_failed`: the cached key just failed to verify a well-formed token.
    fn lookup(&mut self, kid: &str, now: i64, verify_failed: bool) -> Lookup {
        if let Some(cached) = self.known.get(kid).cloned() {
            if expired(&cached.key, now) {
                self.refuse(kid, now, Rejection::ExpiredKey);
                return Lookup::Refuse(Rejection::ExpiredKey);
            }
            let age = now - cached.fetched_at;
            let due = age >= KEY_TTL_SECONDS || (verify_failed && age >= REFRESH_COOLDOWN_SECONDS);
            return if due {
                Lookup::Fetch {
                    stale: Some(cached.key),
                }
            } else {
                Lookup::Use(cached.key)
            };
        }
        match self.refused.get(kid) {
            Some(&(until, why)) if now < until => Lookup::Refuse(why),
            Some(_) => {
                self.refused.pop(kid);
                Lookup::Fetch { stale: None }
            }
            None => Lookup::Fetch { stale: None },
        }
    }
}

/// Verifies webhook signatures, with a bounded cache of Plaid's keys (see the module
/// documentation for the bounds).
pub struct WebhookVerifier {
    plaid: Arc<dyn PlaidApi>,
    keys: std::sync::Mutex<Keys>,
    /// Held during a fetch: one at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl WebhookVerifier {
    pub fn new(plaid: Arc<dyn PlaidApi>) -> Self {
        WebhookVerifier {
            plaid,
            keys: std::sync::Mutex::new(Keys {
                known: LruCache::new(NonZeroUsize::new(CACHED_KEYS).unwrap_or(NonZeroUsize::MIN)),
                refused: LruCache::new(
                    NonZeroUsize::new(REFUSED_KIDS).unwrap_or(NonZeroUsize::MIN),
                ),
                bucket: Bucket {
                    tokens: KEY_FETCH_BURST,
                    refilled_at: i64::MIN / 2,
                },
                generation: 0,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key for `kid` at `now`, fetched if need be (and allowed).
    async fn key(
        &self,
        kid: &str,
        now: i64,
        verify_failed: bool,
    ) -> Result<WebhookVerificationKey, Rejection> {
        loop {
            let (stale, generation) = {
                let mut keys = self.keys();
                match keys.lookup(kid, now, verify_failed) {
                    Lookup::Use(key) => return Ok(key),
                    Lookup::Refuse(why) => return Err(why),
                    Lookup::Fetch { stale } => (stale, keys.generation),
                }
            };
            let _fetching = self.fetching.lock().await;
            {
                let mut keys = self.keys();
                if keys.generation != generation {
                    // Another task fetched while this one waited: look again.
                    continue;
                }
                if !keys.bucket.take(now) {
                    tracing::warn!(kid, "webhook key fetch limit reached");
                    return stale.ok_or(Rejection::KeyFetchLimited);
                }
            }
            let answer = self.plaid.webhook_verification_key_get(kid).await;
            let mut keys = self.keys();
            // Counted once the answer is stored: a task that looked before this point
            // looks again instead of fetching the same key.
            keys.generation += 1;
            return match answer {
                Ok(answer) => {
                    let key = answer.key;
                    let returned = key.kid.clone();
                    if expired(&key, now) {
                        keys.refuse(&returned, now, Rejection::ExpiredKey);
                    } else {
                        keys.refused.pop(&returned);
                        keys.known.put(
                            returned.clone(),
                            Cached {
                                key: key.clone(),
                                fetched_at: now,
                            },
                        );
                    }
                    if returned != kid {
                        tracing::warn!(kid, returned, "Plaid answered with another key");
                        keys.refuse(kid, now, Rejection::UnknownKey);
                        Err(Rejection::UnknownKey)
                    } else if expired(&key, now) {
                        Err(Rejection::ExpiredKey)
                    } else {
                        Ok(key)
                    }
                }
                Err(err @ PlaidError::Api { status, .. })
                    if (400..500).contains(&status) && !err.is_rate_limit() =>
                {
                    tracing::warn!(kid, code = err.code(), "Plaid refused a webhook key id");
                    keys.refuse(kid, now, Rejection::UnknownKey);
                    Err(Rejection::UnknownKey)
                }
                Err(err) => {
                    tracing::warn!(
                        kid,
                        code = err.code(),
                        "webhook verification key unavailable"
                    );
                    stale.ok_or(Rejection::UnknownKey)
                }
            };
        }
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
        let kid = jwt_header
            .kid
            .filter(|kid| !kid.is_empty() && kid.len() <= MAX_KID_LEN)
            .ok_or(Rejection::Malformed)?;
        let key = self.key(&kid, now, false).await?;
        let claims = match decode(jwt, &key) {
            Err(Rejection::BadSignature) => {
                // Perhaps Plaid replaced the key: refetch it (within the bounds) and retry.
                let again = self.key(&kid, now, true).await?;
                if again == key {
                    return Err(Rejection::BadSignature);
                }
                decode(jwt, &again)?
            }
            other => other?,
        };
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

/// The claims of `jwt` if its signature verifies with `key`.
fn decode(jwt: &str, key: &WebhookVerificationKey) -> Result<Claims, Rejection> {
    let decoding =
        DecodingKey::from_ec_components(&key.x, &key.y).map_err(|_| Rejection::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims = HashSet::new();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Claims>(jwt, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|err| match err.kind() {
            ErrorKind::InvalidSignature => Rejection::BadSignature,
            _ => Rejection::Malformed,
        })
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
        let Some(item) = self
            .unscoped()
            .items()
            .find_by_plaid_id(&webhook.item_id)
            .await?
        else {
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
                // The end of an institution refresh a run waits for; otherwise a
                // supervised task (joined, or queued as a follow-up run when one is
                // running). Plaid gets its answer at once either way.
                if !self.refresh_done(item.id) {
                    self.start_sync(item, Trigger::Webhook, None, None)?;
                }
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
                    self.unscoped()
                        .items()
                        .update(crate::db::entities::plaid_items::ActiveModel {
                            id: sea_orm::Set(item.id),
                            consent_expiration_time: sea_orm::Set(Some(expires)),
                            ..Default::default()
                        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_one_fetch_per_refill_period() {
        let t = 1_700_000_000;
        let mut bucket = Bucket {
            tokens: KEY_FETCH_BURST,
            refilled_at: i64::MIN / 2,
        };
        let taken = (0..100).filter(|_| bucket.take(t)).count();
        assert_eq!(taken, KEY_FETCH_BURST as usize);
        assert!(!bucket.take(t + KEY_FETCH_REFILL_SECONDS - 1));
        assert!(bucket.take(t + KEY_FETCH_REFILL_SECONDS));
        assert!(!bucket.take(t + KEY_FETCH_REFILL_SECONDS));
        // Over an hour: the burst plus one per period, whatever the rate of asking.
        let taken = (0..3600)
            .filter(|s| bucket.take(t + 2 * KEY_FETCH_REFILL_SECONDS + s))
            .count();
        assert_eq!(taken, 1 + 3600 / KEY_FETCH_REFILL_SECONDS as usize - 1);
        // A clock set back does not mint fetches.
        let later = t + 10_000;
        let taken = (0..100).filter(|_| bucket.take(later)).count();
        assert_eq!(taken, KEY_FETCH_BURST as usize);
        assert!(!bucket.take(later - 3600));
        assert!(!bucket.take(later));
    }
}

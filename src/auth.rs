//! API tokens: issuing, verifying, scopes.
//!
//! A token is 256 random bits, shown once when created. Only its SHA-256 is stored; a
//! token has enough entropy that a fast hash is the right tool (no password stretching).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lru::LruCache;
use rand::RngCore;
use sea_orm::DatabaseConnection;

use crate::crypto::sha256_hex;
use crate::db::scope::UserScope;

use crate::db::entities::api_tokens;
use crate::db::users;
use crate::error::{ApiError, ApiResult};

/// Prefix that makes tokens recognisable (in logs scanners, secret scanners).
const TOKEN_PREFIX: &str = "inv_";

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Queries only.
    Read,
    /// Queries and mutations.
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: i64,
    pub token_id: i64,
    pub scope: Scope,
}

impl Viewer {
    /// The caller's rows: the one way requests reach their data.
    pub fn user_scope(&self, db: &sea_orm::DatabaseConnection) -> crate::db::scope::UserScope {
        crate::db::scope::UserScope::new(db.clone(), self.user_id)
    }

    /// Fails with `FORBIDDEN` unless the token may run mutations.
    pub fn require_write(&self) -> ApiResult<()> {
        match self.scope {
            Scope::Write => Ok(()),
            Scope::Read => Err(ApiError::Forbidden(
                "this token has the `read` scope; mutations need a `write` token".to_owned(),
            )),
        }
    }
}

/// A new token (the only time it exists in clear) and its stored record.
pub struct IssuedToken {
    pub token: String,
    pub record: api_tokens::Model,
}

/// A new token of `owner` (only its hash is stored; the token is shown once).
pub async fn issue_token(owner: &UserScope, name: &str, scope: Scope) -> ApiResult<IssuedToken> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let record = users::insert_token(
        owner.connection(),
        owner.user_id(),
        name,
        &sha256_hex(&token),
        scope.as_str(),
    )
    .await?;
    Ok(IssuedToken { token, record })
}

/// The viewer a bearer token stands for, or `UNAUTHENTICATED`; always from the database.
pub async fn authenticate(db: &DatabaseConnection, token: &str) -> ApiResult<Viewer> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(ApiError::Unauthenticated);
    }
    lookup(db, &sha256_hex(token)).await
}

async fn lookup(db: &DatabaseConnection, token_hash: &str) -> ApiResult<Viewer> {
    let record = users::find_token_by_hash(db, token_hash)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let scope = Scope::parse(&record.scope).ok_or_else(|| {
        ApiError::internal("token scope", format!("unknown scope {}", record.scope))
    })?;
    Ok(Viewer {
        user_id: record.user_id,
        token_id: record.id,
        scope,
    })
}

/// How long a verified token is trusted without asking the database again, unless
/// configured (`INVESTMENTS_TOKEN_CACHE_TTL`).
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

/// Tokens most recently seen, so that a request does not spend a statement on its token
/// each time. Revoking through this process forgets the token at once; another replica
/// (or the CLI) that revokes it is heeded within the time to live. Unknown tokens are
/// never cached, so a new token works at once everywhere.
#[derive(Clone)]
pub struct TokenCache {
    ttl: Duration,
    entries: Arc<Mutex<LruCache<String, (Viewer, Instant)>>>,
}

impl TokenCache {
    /// Tokens remembered at most (an LRU: the least recently used go first).
    const CAPACITY: usize = 10_000;

    /// A cache trusting a token for `ttl`; zero disables it.
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            entries: Arc::new(Mutex::new(LruCache::new(
                NonZeroUsize::new(Self::CAPACITY).expect("non-zero"),
            ))),
        }
    }

    /// [`authenticate`], answered from the cache while the token's entry is fresh.
    pub async fn authenticate(&self, db: &DatabaseConnection, token: &str) -> ApiResult<Viewer> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(ApiError::Unauthenticated);
        }
        let token_hash = sha256_hex(token);
        if let Some((viewer, at)) = self.lock().get(&token_hash).copied()
            && at.elapsed() < self.ttl
        {
            return Ok(viewer);
        }
        let viewer = lookup(db, &token_hash).await?;
        if !self.ttl.is_zero() {
            self.lock().put(token_hash, (viewer, Instant::now()));
        }
        Ok(viewer)
    }

    /// Forgets a revoked token, so that it stops working here at once.
    pub fn forget(&self, token_id: i64) {
        let mut entries = self.lock();
        let stale: Vec<String> = entries
            .iter()
            .filter(|(_, (viewer, _))| viewer.token_id == token_id)
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            entries.pop(&key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, (Viewer, Instant)>> {
        // A panic while holding the lock cannot leave the cache inconsistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(DEFAULT_TOKEN_CACHE_TTL)
    }
}

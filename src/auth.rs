//! API tokens: issuing, verifying, scopes.
//!
//! A token is 256 random bits, shown once when created. Only its SHA-256 is stored; a
//! token has enough entropy that a fast hash is the right tool (no password stretching).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::db::entities::api_tokens;
use crate::db::users;
use crate::error::{ApiError, ApiResult};

/// Prefix that makes tokens recognisable (in logs scanners, secret scanners).
const TOKEN_PREFIX: &str = "inv_";

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "TokenScope")]
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

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new token (the only time it exists in clear) and its stored record.
pub struct IssuedToken {
    pub token: String,
    pub record: api_tokens::Model,
}

pub async fn issue_token(
    db: &DatabaseConnection,
    user_id: i64,
    name: &str,
    scope: Scope,
) -> ApiResult<IssuedToken> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let record = users::insert_token(db, user_id, name, &hash(&token), scope.as_str()).await?;
    Ok(IssuedToken { token, record })
}

/// The viewer a bearer token stands for, or `UNAUTHENTICATED`.
pub async fn authenticate(db: &DatabaseConnection, token: &str) -> ApiResult<Viewer> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(ApiError::Unauthenticated);
    }
    let record = users::find_token_by_hash(db, &hash(token))
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

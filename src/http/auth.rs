//! Bearer-token authentication of HTTP requests.

use super::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderMap, header};

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The caller of a request, or `UNAUTHENTICATED`.
pub async fn viewer(state: &AppState, headers: &HeaderMap) -> ApiResult<Viewer> {
    let token = bearer_token(headers).ok_or(ApiError::Unauthenticated)?;
    state.tokens.authenticate(&state.db, token).await
}

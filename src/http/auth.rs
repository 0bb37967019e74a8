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

/// The caller of a request, or `UNAUTHENTICATED`; `RATE_LIMITED` when its token is over
/// its rate (counted here, once the token is known, so a bad token costs no one).
pub async fn viewer(state: &AppState, headers: &HeaderMap) -> ApiResult<Viewer> {
    let token = bearer_token(headers).ok_or(ApiError::Unauthenticated)?;
    let viewer = state.tokens.authenticate(&state.db, token).await?;
    if let Some(limiter) = &state.rate_limit {
        limiter.check(viewer.token_id)?;
    }
    Ok(viewer)
}

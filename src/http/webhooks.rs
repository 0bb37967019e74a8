//! `POST /webhooks/plaid`: verified, acted on, answered at once (syncs run in the
//! background, so Plaid never waits on one).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::{error_response, json_error};
use crate::plaid::types::Webhook;

pub async fn plaid(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (Some(sync), Some(verifier)) = (&state.sync, &state.webhooks) else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "PLAID_UNAVAILABLE",
            "Plaid is not configured",
        );
    };
    let header = headers
        .get("plaid-verification")
        .and_then(|v| v.to_str().ok());
    let now = state.clock.now().timestamp();
    if let Err(rejection) = verifier.verify(header, &body, now).await {
        tracing::warn!(reason = %rejection, "webhook refused");
        return json_error(
            StatusCode::UNAUTHORIZED,
            "WEBHOOK_UNVERIFIED",
            &rejection.to_string(),
        );
    }
    let webhook: Webhook = match serde_json::from_slice(&body) {
        Ok(webhook) => webhook,
        Err(err) => {
            tracing::warn!(error = %err, "verified webhook with an unreadable body");
            return json_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "unreadable webhook body",
            );
        }
    };
    match sync.handle_webhook(&webhook).await {
        Ok(_) => (StatusCode::OK, axum::Json(json!({ "message": "received" }))).into_response(),
        // Plaid retries anything but a 200, so a passing database failure is not lost.
        Err(err) => error_response(&err),
    }
}

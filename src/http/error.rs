//! The one error body every HTTP path answers with: a GraphQL error document
//! (`{"errors":[{"message", "extensions":{"code"}}]}`) and the status of its code, so a
//! client reads failures of `/graphql`, the CSV export and the webhooks the same way.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// A GraphQL error body with `code` and `status`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    (status, axum::Json(body)).into_response()
}

/// The HTTP status of `err`, the same on every path: a Plaid failure is a bad gateway
/// whatever its code, any other error has the status of its code.
pub fn status_of(err: &ApiError) -> StatusCode {
    match err {
        ApiError::Plaid(_) => StatusCode::BAD_GATEWAY,
        _ => status_of_code(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// The status of an [`ApiError`] code, wherever the code comes from (an error of ours, or
/// one already in a GraphQL response); `None` for codes that are not ours.
pub fn status_of_code(code: &str) -> Option<StatusCode> {
    Some(match code {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "BAD_USER_INPUT" | "QUERY_TOO_COMPLEX" => StatusCode::BAD_REQUEST,
        "ARITHMETIC_OVERFLOW" => StatusCode::UNPROCESSABLE_ENTITY,
        "DEADLINE_EXCEEDED" => StatusCode::GATEWAY_TIMEOUT,
        "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        "INTERNAL_SERVER_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => return None,
    })
}

/// `err` as a response: its status, its code, the challenge a 401 must carry, and when a
/// rate-limited client may try again.
pub fn error_response(err: &ApiError) -> Response {
    err.log_cause();
    let mut response = json_error(status_of(err), err.code(), &err.message());
    if matches!(err, ApiError::Unauthenticated) {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"investments\""),
        );
    }
    if let ApiError::RateLimited { retry_after } = err {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::error::retry_after_secs(*retry_after)),
        );
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}

/// Gives an error response that carries no body of ours (axum's 404 and 405, the
/// timeout's 408, the body limit's 413) the same JSON body and a code, keeping its
/// headers (`Allow`, `Retry-After`).
pub async fn json_bodies(response: Response) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_error || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("NOT_FOUND", "there is nothing at this path"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "this path does not take this method (see `Allow`)",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "REQUEST_TIMEOUT",
            "the request took longer than the server allows; syncs go on in the background",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "the request body is too large"),
        StatusCode::UNAUTHORIZED => ("UNAUTHENTICATED", "a valid bearer token is required"),
        StatusCode::SERVICE_UNAVAILABLE => ("SERVICE_UNAVAILABLE", "try again shortly"),
        status if status.is_server_error() => ("INTERNAL_SERVER_ERROR", "internal error"),
        _ => ("BAD_REQUEST", "the request could not be served"),
    };
    let mut answer = json_error(status, code, message);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PlaidFailure;
    use std::time::Duration;

    #[test]
    fn every_error_has_its_status() {
        let plaid = ApiError::Plaid(Box::new(PlaidFailure::bare(
            "ITEM_LOGIN_REQUIRED",
            "sign in again",
        )));
        let cases = [
            (ApiError::Unauthenticated, StatusCode::UNAUTHORIZED),
            (ApiError::Forbidden(String::new()), StatusCode::FORBIDDEN),
            (ApiError::not_found(""), StatusCode::NOT_FOUND),
            (ApiError::bad_input(""), StatusCode::BAD_REQUEST),
            (plaid, StatusCode::BAD_GATEWAY),
            (
                ApiError::Overflow(String::new()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (ApiError::TooCostly(String::new()), StatusCode::BAD_REQUEST),
            (
                ApiError::DeadlineExceeded(Duration::from_secs(1)),
                StatusCode::GATEWAY_TIMEOUT,
            ),
            (ApiError::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            (
                ApiError::RateLimited {
                    retry_after: Duration::from_secs(1),
                },
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (
                ApiError::internal("test", "failed"),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(status_of(&err), status, "{}", err.code());
        }
    }
}

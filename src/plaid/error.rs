//! Plaid failures, typed, and what each one means for us: retry, stop until the user acts,
//! or wait for Plaid (classification from the reference's error table).

use super::types::PlaidErrorBody;

/// A failed Plaid call.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PlaidError {
    /// Plaid answered with its error object.
    #[error("Plaid {}/{} (HTTP {status}): {}", body.error_type, body.error_code, body.error_message)]
    Api {
        status: u16,
        body: Box<PlaidErrorBody>,
    },
    /// No answer: connection refused or reset, timeout.
    #[error("Plaid unreachable: {0}")]
    Transport(String),
    /// An answer that is not what Plaid documents.
    #[error("unexpected answer from Plaid: {0}")]
    Unexpected(String),
}

/// Codes after which nothing will work until the user goes through Link's update mode (or
/// relinks).
const NEEDS_USER: &[&str] = &[
    "ITEM_LOGIN_REQUIRED",
    "ACCESS_NOT_GRANTED",
    "ADDITIONAL_CONSENT_REQUIRED",
    "ITEM_LOCKED",
    "USER_SETUP_REQUIRED",
    "PASSWORD_RESET_REQUIRED",
    "INVALID_CREDENTIALS",
    "MFA_NOT_SUPPORTED",
    "USER_PERMISSION_REVOKED",
    "INSUFFICIENT_CREDENTIALS",
];

/// Temporary institution outages.
const INSTITUTION_OUTAGES: &[&str] = &[
    "INSTITUTION_DOWN",
    "INSTITUTION_NOT_RESPONDING",
    "INSTITUTION_NOT_AVAILABLE",
];

/// What a failure means for the item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Worth retrying soon (rate limit, Plaid 5xx, outage, network).
    Retryable,
    /// The user must act in Link (update mode).
    NeedsUser,
    /// Plaid has not prepared the data yet.
    NotReady,
    /// Anything else: a bug, a configuration problem, a removed item.
    Fatal,
}

impl PlaidError {
    pub fn code(&self) -> &str {
        match self {
            PlaidError::Api { body, .. } => &body.error_code,
            PlaidError::Transport(_) => "TRANSPORT_ERROR",
            PlaidError::Unexpected(_) => "UNEXPECTED_RESPONSE",
        }
    }

    pub fn error_type(&self) -> Option<&str> {
        match self {
            PlaidError::Api { body, .. } => Some(&body.error_type),
            _ => None,
        }
    }

    pub fn body(&self) -> Option<&PlaidErrorBody> {
        match self {
            PlaidError::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        self.body().and_then(|b| b.request_id.as_deref())
    }

    pub fn disposition(&self) -> Disposition {
        match self {
            PlaidError::Transport(_) => Disposition::Retryable,
            PlaidError::Unexpected(_) => Disposition::Fatal,
            PlaidError::Api { status, body } => {
                let code = body.error_code.as_str();
                if NEEDS_USER.contains(&code) {
                    Disposition::NeedsUser
                } else if code == "PRODUCT_NOT_READY" {
                    Disposition::NotReady
                } else if body.error_type == "RATE_LIMIT_EXCEEDED" {
                    if code == "CREDITS_EXHAUSTED" {
                        Disposition::Fatal
                    } else {
                        Disposition::Retryable
                    }
                } else if INSTITUTION_OUTAGES.contains(&code)
                    || *status >= 500
                    || body.error_type == "API_ERROR"
                {
                    Disposition::Retryable
                } else {
                    Disposition::Fatal
                }
            }
        }
    }

    pub fn is_rate_limit(&self) -> bool {
        matches!(self, PlaidError::Api { body, .. } if body.error_type == "RATE_LIMIT_EXCEEDED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, error_type: &str, code: &str) -> PlaidError {
        PlaidError::Api {
            status,
            body: Box::new(PlaidErrorBody {
                error_type: error_type.into(),
                error_code: code.into(),
                error_code_reason: None,
                error_message: "m".into(),
                display_message: None,
                request_id: Some("r".into()),
                status: None,
                documentation_url: None,
                suggested_action: None,
            }),
        }
    }

    #[test]
    fn classification_follows_the_reference() {
        use Disposition::*;
        let cases = [
            (api(400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED"), NeedsUser),
            (
                api(400, "INVALID_INPUT", "USER_PERMISSION_REVOKED"),
                NeedsUser,
            ),
            (api(400, "ITEM_ERROR", "PRODUCT_NOT_READY"), NotReady),
            (
                api(429, "RATE_LIMIT_EXCEEDED", "INVESTMENT_TRANSACTIONS_LIMIT"),
                Retryable,
            ),
            (api(429, "RATE_LIMIT_EXCEEDED", "CREDITS_EXHAUSTED"), Fatal),
            (api(500, "API_ERROR", "INTERNAL_SERVER_ERROR"), Retryable),
            (api(503, "API_ERROR", "PLANNED_MAINTENANCE"), Retryable),
            (api(400, "INSTITUTION_ERROR", "INSTITUTION_DOWN"), Retryable),
            (
                api(400, "INSTITUTION_ERROR", "INSTITUTION_NO_LONGER_SUPPORTED"),
                Fatal,
            ),
            (api(400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN"), Fatal),
            (api(400, "INVALID_REQUEST", "INVALID_FIELD"), Fatal),
            (PlaidError::Transport("reset".into()), Retryable),
        ];
        for (err, want) in cases {
            assert_eq!(err.disposition(), want, "{err}");
        }
    }
}

//! The one error type of the services and the database layer, with the code callers see.
//! It knows no transport: `graphql` turns it into a GraphQL error (`extensions.code`),
//! `http::error` into a status and a body.
//!
//! `ApiError` deliberately has no `Display` impl: async-graphql converts any `Display`
//! error into a plain error without a code, so `?` must go through the `From` in
//! `graphql`.

/// A failure the caller can see. An internal failure's details travel with it as a
/// [`Cause`], logged where the error is turned into an answer and never sent.
#[derive(Clone, Debug)]
pub enum ApiError {
    /// No token, or a token that is not valid.
    Unauthenticated,
    /// A valid token without the scope the operation needs.
    Forbidden(String),
    /// The object does not exist, or belongs to another user (indistinguishable).
    NotFound(String),
    /// The request is malformed: bad argument, cursor, id or filter.
    BadUserInput(String),
    /// Plaid refused or failed; carries what the caller needs to act on it.
    Plaid(Box<PlaidFailure>),
    /// A figure does not fit an exact decimal (28 significant digits): refused rather
    /// than rounded or panicking.
    Overflow(String),
    /// The request asks for more than a request may (its cost, root fields or aliases;
    /// see `graphql::cost`): refused before anything runs.
    TooCostly(String),
    /// The query or mutation ran past the execution deadline and was stopped.
    DeadlineExceeded(std::time::Duration),
    /// The database is unreachable, restarting, or the request lost a lock race
    /// (deadlock, serialization failure) after its retries: worth trying again.
    Unavailable,
    /// The token sent more requests than its rate allows; it may again after the wait.
    RateLimited { retry_after: std::time::Duration },
    /// Anything else; the message sent is generic, the cause is logged.
    Internal(Cause),
}

/// What went wrong behind an `Internal` error, and where in our code it was made: kept for
/// the log, never sent. The boundaries that turn an error into an answer (a GraphQL
/// error, an HTTP response, the CLI's report, a sync run's record) call
/// [`ApiError::log_cause`]; a cause is logged once however many copies of the error
/// (a DataLoader's shared failure, a sync ticket's waiters) reach one.
#[derive(Clone, Debug, Default)]
pub struct Cause(Option<std::sync::Arc<CauseDetail>>);

#[derive(Debug)]
struct CauseDetail {
    at: &'static std::panic::Location<'static>,
    detail: String,
    logged: std::sync::atomic::AtomicBool,
}

impl Cause {
    /// `detail`, made at the caller's line.
    #[track_caller]
    pub fn new(detail: impl std::fmt::Display) -> Self {
        Cause(Some(std::sync::Arc::new(CauseDetail {
            at: std::panic::Location::caller(),
            detail: detail.to_string(),
            logged: std::sync::atomic::AtomicBool::new(false),
        })))
    }

    /// The detail and its origin (`file:line:column`), the first time only; `None` after
    /// that, and for an error whose cause was logged elsewhere (another replica's run).
    fn take_for_log(&self) -> Option<(&str, &'static std::panic::Location<'static>)> {
        let cause = self.0.as_ref()?;
        let first = !cause.logged.swap(true, std::sync::atomic::Ordering::SeqCst);
        first.then_some((cause.detail.as_str(), cause.at))
    }
}

/// A Plaid failure as callers see it (never with an access token in it).
#[derive(Clone, Debug, Default)]
pub struct PlaidFailure {
    /// `ITEM_LOGIN_REQUIRED`, `PLAID_RATE_LIMITED`, `PLAID_UNAVAILABLE`,
    /// `PRODUCT_NOT_READY` or `PLAID_ERROR`.
    pub code: &'static str,
    pub message: String,
    pub plaid_error_type: Option<String>,
    pub plaid_error_code: Option<String>,
    pub display_message: Option<String>,
    pub request_id: Option<String>,
    pub plaid_item_id: Option<String>,
    /// The item's status after the failure (`login_required`, `error`, ...).
    pub item_status: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl PlaidFailure {
    /// A failure with only its code and message: nothing Plaid said to pass on.
    pub fn bare(code: &'static str, message: impl Into<String>) -> Self {
        PlaidFailure {
            code,
            message: message.into(),
            ..Default::default()
        }
    }
}

impl ApiError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }

    /// The result of a checked decimal operation, or an `Overflow` naming the figure.
    pub fn exact(
        value: Option<rust_decimal::Decimal>,
        figure: &str,
    ) -> ApiResult<rust_decimal::Decimal> {
        value.ok_or_else(|| ApiError::Overflow(format!("{figure} is too large to compute exactly")))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(message.into())
    }

    /// An unexpected failure, hidden from the caller; `context` says what was being done.
    #[track_caller]
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        ApiError::Internal(Cause::new(format_args!("{context}: {err}")))
    }

    /// Logs an internal error's cause with its origin, once across the error's copies:
    /// called where an error becomes an answer. Other errors are the caller's to read and
    /// are not logged.
    pub fn log_cause(&self) {
        if let ApiError::Internal(cause) = self
            && let Some((detail, at)) = cause.take_for_log()
        {
            tracing::error!(error = %detail, at = %at, "internal error");
        }
    }

    /// The GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::Plaid(failure) => failure.code,
            ApiError::Overflow(_) => "ARITHMETIC_OVERFLOW",
            ApiError::TooCostly(_) => "QUERY_TOO_COMPLEX",
            ApiError::DeadlineExceeded(_) => "DEADLINE_EXCEEDED",
            ApiError::Unavailable => "SERVICE_UNAVAILABLE",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => {
                "a valid `Authorization: Bearer <token>` header is required".to_owned()
            }
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::BadUserInput(m)
            | ApiError::Overflow(m)
            | ApiError::TooCostly(m) => m.clone(),
            ApiError::DeadlineExceeded(limit) => format!(
                "stopped after the {} this server allows a request to run; ask for less \
                 (smaller pages, shorter periods) or split the request. A mutation may have \
                 taken effect: query its result before repeating it",
                humantime::format_duration(*limit)
            ),
            ApiError::Plaid(failure) => failure.message.clone(),
            ApiError::Unavailable => {
                "the database is unavailable or busy; try again shortly".to_owned()
            }
            ApiError::RateLimited { retry_after } => format!(
                "this token sent more requests than its rate allows; try again in {} s",
                retry_after_secs(*retry_after)
            ),
            ApiError::Internal(_) => "internal server error".to_owned(),
        }
    }
}

/// How the CLI and the demo report a failure (they speak `anyhow`): message and code,
/// with an internal error's cause logged.
impl From<ApiError> for anyhow::Error {
    fn from(err: ApiError) -> Self {
        err.log_cause();
        anyhow::anyhow!("{} ({})", err.message(), err.code())
    }
}

/// A wait in whole seconds, rounded up and at least 1, as `Retry-After` counts it.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// True for a database failure that passes: a lost or refused connection, a server
/// restarting, a pool exhausted, a deadlock or serialization failure (PostgreSQL SQLSTATE
/// 40P01 / 40001 and class 08 / 57P), SQLite busy or locked.
pub fn is_transient(err: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
                Sqlx::Database(db) => db.code().is_some_and(|code| {
                    matches!(code.as_ref(), "40P01" | "40001" | "57P01" | "57P02" | "57P03")
                        || code.starts_with("08")
                        // SQLite: SQLITE_BUSY, SQLITE_LOCKED
                        || matches!(code.as_ref(), "5" | "6" | "517" | "262")
                }),
                _ => false,
            }
        }
        _ => false,
    }
}

/// A database failure: `Unavailable` when it passes (logged here as a warning, since the
/// sync retries these and the retried ones reach no answer), else `Internal` with the
/// error and the line of the `?` that met it as its cause.
impl From<sea_orm::DbErr> for ApiError {
    #[track_caller]
    fn from(err: sea_orm::DbErr) -> Self {
        if is_transient(&err) {
            let at = std::panic::Location::caller();
            tracing::warn!(error = %err, at = %at, "database unavailable or busy");
            return ApiError::Unavailable;
        }
        ApiError::Internal(Cause::new(format_args!("database: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::{ApiError, retry_after_secs};
    use std::time::Duration;

    #[test]
    fn an_internal_cause_is_logged_once_across_copies_with_the_line_that_made_it() {
        let made_at = line!() + 1;
        let err = ApiError::internal("reading a page", "disk on fire");
        let copy = err.clone();
        let ApiError::Internal(cause) = &copy else {
            panic!("internal expected, got {copy:?}");
        };
        let (detail, at) = cause.take_for_log().expect("first report logs");
        assert_eq!(detail, "reading a page: disk on fire");
        assert_eq!((at.file(), at.line()), (file!(), made_at));
        let ApiError::Internal(original) = &err else {
            unreachable!()
        };
        assert!(original.take_for_log().is_none(), "logged once");
        assert_eq!(
            err.message(),
            "internal server error",
            "the cause is never sent"
        );
    }

    #[test]
    fn a_database_error_names_the_line_of_its_question_mark() {
        let question_mark_at = line!() + 2;
        fn fails() -> Result<(), ApiError> {
            Err(sea_orm::DbErr::Custom("no such table".to_owned()))?;
            Ok(())
        }
        let Err(ApiError::Internal(cause)) = fails() else {
            panic!("internal expected");
        };
        let (detail, at) = cause.take_for_log().expect("logs");
        assert!(detail.contains("no such table"), "{detail}");
        assert_eq!((at.file(), at.line()), (file!(), question_mark_at));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_at_least_one() {
        let secs = |ms| retry_after_secs(Duration::from_millis(ms));
        assert_eq!(secs(0), 1);
        assert_eq!(secs(1), 1);
        assert_eq!(secs(500), 1);
        assert_eq!(secs(1000), 1);
        assert_eq!(secs(1001), 2);
        assert_eq!(secs(2000), 2);
    }
}

//! The HTTP server: `/graphql`, GraphiQL, health, and the middleware around them.

pub mod auth;
mod error;
mod export;
mod graphql;
mod media;
mod metrics;
mod rate_limit;
mod webhooks;

pub use rate_limit::{DEFAULT_BURST, DEFAULT_PER_SECOND, RateLimit};

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::graphql::AppSchema;
use crate::sync::SyncService;
use crate::sync::webhook::WebhookVerifier;

/// Largest request body accepted (a GraphQL document with its variables).
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The request id header: kept when the client sends one, made up otherwise, and echoed.
const X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");
/// Longest a request may take before it is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds a client should wait before trying a 503 again (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 1;

/// Every 503, whichever handler made it (GraphQL, export, webhooks, health), tells the
/// client when to try again: it is a passing state (database unreachable or busy).
async fn retry_after(mut response: axum::response::Response) -> axum::response::Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    response
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    /// The sync engine, when Plaid is configured.
    pub sync: Option<SyncService>,
    /// Verifies `/webhooks/plaid` deliveries, when Plaid is configured.
    pub webhooks: Option<Arc<WebhookVerifier>>,
    /// Every "now" and "today" the API reads.
    pub clock: Clock,
    /// Computed portfolio figures, per user and data version.
    pub analytics: Arc<crate::portfolio::AnalyticsCache>,
    /// Recently verified API tokens.
    pub tokens: crate::auth::TokenCache,
    /// Documents named by hash (automatic persisted queries, or an allowlist).
    pub persisted: Arc<crate::graphql::persisted::PersistedQueries>,
    /// Requests per token, when limited; set by [`router`] from [`HttpOptions::rate_limit`].
    rate_limit: Option<Arc<rate_limit::TokenLimiter>>,
}

impl AppState {
    /// The state of an app whose schema enforces `limits` (made by [`crate::app::AppBuilder`]).
    pub(crate) fn new(
        db: DatabaseConnection,
        sync: Option<SyncService>,
        clock: Clock,
        limits: &crate::graphql::Limits,
    ) -> Self {
        AppState {
            schema: crate::graphql::schema(sync.clone(), clock.clone(), limits),
            clock,
            webhooks: sync
                .as_ref()
                .map(|s| Arc::new(WebhookVerifier::new(s.plaid().clone()))),
            sync,
            db,
            analytics: Arc::new(crate::portfolio::AnalyticsCache::default()),
            tokens: crate::auth::TokenCache::default(),
            persisted: Arc::default(),
            rate_limit: None,
        }
    }
}

/// Options of the HTTP layer.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Origins allowed to call the API from a browser; empty allows any origin (safe with
    /// bearer tokens: browsers never attach them on their own).
    pub cors_origins: Vec<String>,
    /// Bearer token `GET /metrics` requires; `None` leaves it open (bind or firewall it).
    pub metrics_token: Option<crate::plaid::client::Secret>,
    /// Longest a request may take before it is answered with 408; `None`: 60 seconds.
    /// Syncs outlive it: they run as background tasks.
    pub request_timeout: Option<Duration>,
    /// Run only these documents (`--persisted-only FILE`); `None`: any document, and
    /// automatic persisted queries.
    pub persisted_only: Option<crate::graphql::persisted::Manifest>,
    /// Requests each token may send; `None`: unlimited. `serve` and the demo use
    /// [`RateLimit::default`] unless told otherwise (`INVESTMENTS_RATE_LIMIT`).
    pub rate_limit: Option<RateLimit>,
}

/// CORS of the API routes only (`/graphql`, the CSV exports, `/healthz`). The playground,
/// its assets and `/` carry no CORS headers, so no other origin can read them; the
/// webhooks, `/metrics` and the WebSocket (not subject to CORS) are not for browsers.
fn cors(options: &HttpOptions) -> CorsLayer {
    let origins = if options.cors_origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            options
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, X_REQUEST_ID])
        .expose_headers([X_REQUEST_ID])
        .max_age(Duration::from_secs(3600))
}

/// The span of one request: its id (`x-request-id`, given or made) is on every log line
/// written while the request is served.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        uri = %request.uri(),
        version = ?request.version(),
        request_id = %request_id,
    )
}

pub fn router(mut state: AppState, options: &HttpOptions) -> Router {
    crate::metrics::install();
    if let Some(manifest) = &options.persisted_only {
        state.persisted = Arc::new(crate::graphql::persisted::PersistedQueries::allowlist(
            manifest.clone(),
        ));
    }
    state.rate_limit = options
        .rate_limit
        .map(|limit| Arc::new(rate_limit::TokenLimiter::new(limit, state.clock.clone())));
    let metrics_token: Option<Arc<str>> = options
        .metrics_token
        .as_ref()
        .map(|t| t.expose())
        .filter(|t| !t.is_empty())
        .map(Arc::from);
    // The body limit and the timeout sit inside CORS, so that a browser can read the API's
    // 413 and 408 too.
    let bounded = |routes: Router<AppState>| {
        routes
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                options.request_timeout.unwrap_or(REQUEST_TIMEOUT),
            ))
    };
    let api = Router::new()
        .route(
            "/graphql",
            axum::routing::post(graphql::execute).get(graphql::execute),
        )
        .route("/healthz", get(health))
        .route(
            "/export/investment_transactions.csv",
            get(export::csv::<export::Transactions>),
        )
        .route("/export/holdings.csv", get(export::csv::<export::Holdings>));
    let others = Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphiql") }))
        .route("/graphql/ws", get(graphql::subscriptions))
        .route("/graphiql", get(graphql::graphiql))
        .route("/graphiql/assets/{file}", get(graphql::graphiql_asset))
        .route("/webhooks/plaid", axum::routing::post(webhooks::plaid))
        .route(
            "/metrics",
            get(move |State(state): State<AppState>, headers: HeaderMap| {
                metrics::page(state, headers, metrics_token.clone())
            }),
        );
    bounded(others)
        .merge(bounded(api).layer(cors(options)))
        .with_state(state)
        .layer(axum::middleware::map_response(retry_after))
        .layer(axum::middleware::map_response(error::json_bodies))
        // Outermost last: an id is set (or the client's kept), the trace span carries it,
        // and every response, 408 and CORS answers included, echoes it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Liveness and database reachability; no authentication.
async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "database unavailable" })),
            )
        }
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CapturedLogs as Captured;

    #[test]
    fn a_request_s_logs_carry_its_id() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(RequestId::new(HeaderValue::from_static("req-42")));
        tracing::subscriber::with_default(subscriber, || {
            let span = request_span(&request);
            let _entered = span.enter();
            tracing::info!("handled");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("request_id=req-42"), "{text}");
        assert!(text.contains("handled"), "{text}");
    }
}

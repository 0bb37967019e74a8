//! `POST /graphql` and the GraphiQL page.

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;
use crate::graphql;

/// A request-level failure as a GraphQL response body with the matching HTTP status.
fn error_response(err: ApiError) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": err.message(), "extensions": { "code": err.code() } }]
    });
    let mut response = (err.status(), axum::Json(body)).into_response();
    if matches!(err, ApiError::Unauthenticated) {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"investments\""),
        );
    }
    response
}

pub async fn execute(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let started = std::time::Instant::now();
    let viewer = match super::auth::viewer(&state, &headers).await {
        Ok(viewer) => viewer,
        Err(err) => {
            // Refused before the schema (and its metrics extension) saw the request.
            let operation = crate::metrics::OPERATION_UNKNOWN.to_owned();
            crate::metrics::graphql_request(operation, err.code(), started.elapsed());
            return error_response(err);
        }
    };
    let mut request = request.into_inner();
    request.data = graphql::request_data(&state.db, &state.analytics, &state.tokens, viewer);
    let response = state.schema.execute(request).await;
    let unavailable = unavailable(&response);
    let mut response = GraphQLResponse::from(response).into_response();
    if unavailable {
        // Nothing could be answered because the database is down: the same retryable 503
        // (with `Retry-After`) as when it fails before execution.
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    response
}

/// True when a response has no data and every error is `SERVICE_UNAVAILABLE`.
fn unavailable(response: &async_graphql::Response) -> bool {
    let code = ApiError::Unavailable.code();
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| *c == async_graphql::Value::from(code))
        })
}

/// `GET /graphql/ws`: subscriptions over `graphql-transport-ws` (and the older
/// `graphql-ws`), as Apollo Client's `GraphQLWsLink` and urql's `subscriptionExchange`
/// speak them. The token comes in `connection_init`'s payload (`{"Authorization": "Bearer
/// ..."}`, any case); the same tokens and scopes as `/graphql`, and an unknown token closes
/// the connection.
pub async fn subscriptions(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let schema = state.schema.clone();
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let mut headers = HeaderMap::new();
                    let token = payload.as_object().and_then(|fields| {
                        fields
                            .iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                            .and_then(|(_, value)| value.as_str())
                    });
                    if let Some(value) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
                        headers.insert(header::AUTHORIZATION, value);
                    }
                    let viewer = super::auth::viewer(&state, &headers)
                        .await
                        .map_err(async_graphql::Error::from)?;
                    Ok(graphql::request_data(
                        &state.db,
                        &state.analytics,
                        &state.tokens,
                        viewer,
                    ))
                })
                .serve()
        })
}

/// GraphiQL's scripts and styles, served by us so that the playground works offline.
const GRAPHIQL_ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "https://unpkg.com/react@18/umd/react.development.js",
        "react.production.min.js",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "https://unpkg.com/react-dom@18/umd/react-dom.development.js",
        "react-dom.production.min.js",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "https://unpkg.com/graphiql@4/graphiql.min.css",
        "graphiql.min.css",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "https://unpkg.com/graphiql@4/graphiql.min.js",
        "graphiql.min.js",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
];

pub async fn graphiql(State(state): State<AppState>) -> Html<String> {
    let mut source = GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .title("investments — GraphiQL");
    for (name, value) in &state.graphiql_headers {
        source = source.header(name, value);
    }
    let mut page = source.finish().replace(
        r#"<link rel="icon" href="https://graphql.org/favicon.ico">"#,
        "",
    );
    for (cdn, file, _) in GRAPHIQL_ASSETS {
        page = page.replace(cdn, &format!("/graphiql/assets/{file}"));
    }
    Html(page)
}

/// `GET /graphiql/assets/{file}`.
pub async fn graphiql_asset(Path(file): Path<String>) -> Response {
    let Some((_, _, body)) = GRAPHIQL_ASSETS.iter().find(|(_, name, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = if file.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        *body,
    )
        .into_response()
}

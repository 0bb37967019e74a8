//! `/graphql` (POST, and GET for queries) and the GraphiQL page.

use async_graphql::ParseRequestError;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::{error_response, json_error};
use super::media;
use crate::error::ApiError;
use crate::graphql;

/// A body or query string that is not a GraphQL request: a JSON error with a code, never
/// the parser's debug output.
pub struct Unreadable {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Unreadable {
    fn bad(message: impl Into<String>) -> Self {
        Unreadable {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }
}

impl From<ParseRequestError> for Unreadable {
    fn from(err: ParseRequestError) -> Self {
        match err {
            ParseRequestError::PayloadTooLarge => Unreadable {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "PAYLOAD_TOO_LARGE",
                message: "the request body is too large".to_owned(),
            },
            ParseRequestError::InvalidRequest(err)
                if err
                    .downcast_ref::<serde_json::Error>()
                    .is_some_and(|e| e.is_syntax() || e.is_eof()) =>
            {
                Unreadable::bad(format!("the body is not valid JSON: {err}"))
            }
            ParseRequestError::InvalidRequest(_) => Unreadable::bad(
                "the body must be a JSON object with a `query` string, and optionally \
                 `variables` (an object), `operationName` and `extensions`",
            ),
            _ => Unreadable::bad("the request could not be read as a GraphQL request"),
        }
    }
}

impl IntoResponse for Unreadable {
    fn into_response(self) -> Response {
        json_error(self.status, self.code, &self.message)
    }
}

/// The URL parameters of a GET, named as the GraphQL-over-HTTP spec names them
/// (async-graphql's own GET parsing reads `operation_name`, which no client sends).
#[derive(serde::Deserialize)]
struct GetParameters {
    #[serde(default)]
    query: String,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// A GraphQL request from a POST body or from a GET's URL parameters.
pub struct HttpRequest(async_graphql::Request);

impl<S: Send + Sync> axum::extract::FromRequest<S> for HttpRequest {
    type Rejection = Unreadable;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Unreadable> {
        if request.method() != Method::GET {
            if !media::is_json_body(request.headers()) {
                return Err(Unreadable {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    code: "UNSUPPORTED_MEDIA_TYPE",
                    message: "a POST body must be `Content-Type: application/json`".to_owned(),
                });
            }
            let request = GraphQLRequest::<Unreadable>::from_request(request, state).await?;
            return Ok(HttpRequest(request.into_inner()));
        }
        let parameters = axum::extract::Query::<GetParameters>::try_from_uri(request.uri())
            .map_err(|_| {
                Unreadable::bad(
                    "the URL parameters must be `query`, and optionally `operationName`, \
                     `variables` and `extensions` (JSON objects)",
                )
            })?
            .0;
        let object = |name: &str, text: Option<String>| -> Result<serde_json::Value, Unreadable> {
            match text {
                None => Ok(serde_json::Value::Null),
                Some(text) => match serde_json::from_str(&text) {
                    Ok(value @ (serde_json::Value::Object(_) | serde_json::Value::Null)) => {
                        Ok(value)
                    }
                    _ => Err(Unreadable::bad(format!("`{name}` must be a JSON object"))),
                },
            }
        };
        let json = serde_json::json!({
            "query": parameters.query,
            "operationName": parameters.operation_name,
            "variables": object("variables", parameters.variables)?,
            "extensions": object("extensions", parameters.extensions)?,
        });
        serde_json::from_value(json)
            .map(HttpRequest)
            .map_err(|_| Unreadable::bad("the URL parameters are not a GraphQL request"))
    }
}

/// True when the operation `request` selects is a mutation (or a subscription), which a
/// GET must not run: a GET may be repeated, prefetched or cached by anything on the way.
fn changes_state(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false; // execution reports the syntax error
    };
    graphql::extensions::selected_operation(&document, request.operation_name.as_deref())
        .is_some_and(|op| op.ty != OperationType::Query)
}

/// `POST /graphql`, and `GET /graphql?query=...` for queries (urql's default,
/// `preferGetMethod`, and any client of the GraphQL-over-HTTP spec).
pub async fn execute(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    HttpRequest(mut request): HttpRequest,
) -> Response {
    let Some(media) = media::negotiate(&headers) else {
        return json_error(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "`Accept` must allow application/graphql-response+json or application/json",
        );
    };
    if let Err(err) = state.persisted.resolve(&mut request) {
        return answer(media, request_error(err.code(), err.message()));
    }
    if request.query.trim().is_empty() {
        return Unreadable::bad("`query` is required").into_response();
    }
    if method == Method::GET && changes_state(&request) {
        let mut response = json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "mutations and subscriptions are not run over GET; send them with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let started = std::time::Instant::now();
    let viewer = match super::auth::viewer(&state, &headers).await {
        Ok(viewer) => viewer,
        Err(err) => {
            // Refused before the schema (and its metrics extension) saw the request.
            let operation = crate::metrics::OPERATION_UNKNOWN.to_owned();
            crate::metrics::graphql_request(operation, err.code(), started.elapsed());
            let mut response = error_response(&err);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(media.content_type()),
            );
            return response;
        }
    };
    request.data = graphql::request_data(&state.db, &state.analytics, &state.tokens, viewer);
    // Boxed: the execution future is large (every resolver's state), too large for a
    // thread stack in debug builds.
    let response = Box::pin(state.schema.execute(request)).await;
    answer(media, response)
}

/// A GraphQL response with one error and no `data`: the request did not run.
fn request_error(code: &str, message: String) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![graphql::extensions::coded(message, code)])
}

/// The status of a request error answered as `application/graphql-response+json`: the
/// spec's 4xx for a document that could not run, or the status of the refusal.
fn request_error_status(code: Option<&str>) -> StatusCode {
    match code {
        Some("PERSISTED_QUERY_NOT_FOUND") => StatusCode::NOT_FOUND,
        Some("PERSISTED_QUERY_NOT_IN_LIST") => StatusCode::FORBIDDEN,
        // A refusal keeps the status it has on every path; any other document that could
        // not run is the client's to fix.
        Some(code) => match super::error::status_of_code(code) {
            Some(
                status @ (StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::GATEWAY_TIMEOUT
                | StatusCode::SERVICE_UNAVAILABLE),
            ) => status,
            _ => StatusCode::BAD_REQUEST,
        },
        None => StatusCode::BAD_REQUEST,
    }
}

/// A response to a request that did not run: errors, and no `data` entry.
#[derive(serde::Serialize)]
struct RequestErrors<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// `response` in `media`. A request error (nothing ran: no data, no error with a path)
/// has no `data` entry, as the GraphQL spec says; as `application/graphql-response+json`
/// it is a 4xx, as `application/json` a 200. A database that is down is a retryable 503
/// either way.
fn answer(media: media::ResponseMedia, response: async_graphql::Response) -> Response {
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if unavailable(&response) {
        StatusCode::SERVICE_UNAVAILABLE
    } else if request_error && media == media::ResponseMedia::GraphQLResponseJson {
        request_error_status(
            response
                .errors
                .first()
                .and_then(graphql::extensions::code_of),
        )
    } else {
        StatusCode::OK
    };
    // Written straight from the response (a `serde_json::Value` would sort the fields).
    let body = if request_error {
        serde_json::to_vec(&RequestErrors {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_vec(&response)
    };
    let body = match body {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "a GraphQL response could not be serialized");
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal error",
            );
        }
    };
    let mut http = (status, body).into_response();
    http.headers_mut().extend(response.http_headers);
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    http
}

/// True when a response has no data and every error is `SERVICE_UNAVAILABLE`.
fn unavailable(response: &async_graphql::Response) -> bool {
    let code = ApiError::Unavailable.code();
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|e| graphql::extensions::code_of(e) == Some(code))
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

/// Reads a token handed over in the URL fragment (`/graphiql#token=...`, as the demo
/// prints it), removes it from the address bar, and starts GraphiQL with it. A fragment is
/// never sent to the server and no other origin can read it, so the token is in no page
/// that the server serves.
const TOKEN_FROM_FRAGMENT: &str = r#"const handedToken = new URLSearchParams(window.location.hash.slice(1)).get('token');
      if (handedToken) {
        history.replaceState(null, '', window.location.pathname + window.location.search);
      }
      const authorization = handedToken ? { Authorization: 'Bearer ' + handedToken } : undefined;
      const initialHeaders = authorization ? JSON.stringify(authorization, null, 2) : undefined;
      ReactDOM.createRoot("#;

/// The GraphiQL page: async-graphql's, with our copies of its scripts and the token read
/// from the fragment ([`TOKEN_FROM_FRAGMENT`]) in the Headers pane and in the WebSocket's
/// `connection_init`.
pub async fn graphiql() -> Html<String> {
    let mut page = GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .title("investments — GraphiQL")
        .finish()
        .replace(
            r#"<link rel="icon" href="https://graphql.org/favicon.ico">"#,
            "",
        )
        .replace("ReactDOM.createRoot(", TOKEN_FROM_FRAGMENT)
        .replace(
            "subscriptionUrl: createUrl('/graphql/ws', true),",
            "subscriptionUrl: createUrl('/graphql/ws', true),\n            \
             wsConnectionParams: authorization,",
        )
        .replace(
            "defaultEditorToolsVisibility: true,",
            "defaultEditorToolsVisibility: true,\n          \
             headers: initialHeaders,\n          \
             defaultHeaders: initialHeaders,",
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

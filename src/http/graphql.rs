//! `POST /graphql` and the GraphiQL page.

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
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
    let viewer = match super::auth::viewer(&state.db, &headers).await {
        Ok(viewer) => viewer,
        Err(err) => return error_response(err),
    };
    let (viewer, loaders) = graphql::request_data(&state.db, viewer);
    let request = request.into_inner().data(viewer).data(loaders);
    GraphQLResponse::from(state.schema.execute(request).await).into_response()
}

pub async fn graphiql(State(state): State<AppState>) -> Html<String> {
    let mut source = GraphiQLSource::build()
        .endpoint("/graphql")
        .title("investments — GraphiQL");
    for (name, value) in &state.graphiql_headers {
        source = source.header(name, value);
    }
    Html(source.finish())
}

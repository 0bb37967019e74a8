//! Media types of `/graphql`, as the GraphQL-over-HTTP spec sets them: the request body
//! must be `application/json`; the answer is `application/graphql-response+json` or
//! `application/json`, whichever the `Accept` header ranks first.

use axum::http::{HeaderMap, header};

/// The spec's own media type: its status codes tell request errors from results.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The media type of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMedia {
    /// `application/graphql-response+json`: a request error (nothing executed) is a 4xx
    /// without `data`.
    GraphQLResponseJson,
    /// `application/json`, the legacy type: every GraphQL answer is a 200.
    Json,
}

impl ResponseMedia {
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseMedia::GraphQLResponseJson => {
                "application/graphql-response+json; charset=utf-8"
            }
            ResponseMedia::Json => "application/json; charset=utf-8",
        }
    }
}

/// The answer's media type from `Accept`: the supported type with the highest `q`, the
/// first listed among equals. No `Accept`, `*/*` and `application/*` mean
/// `application/json` (the spec's rule for clients that predate it). `None` when the
/// header lists only types we cannot produce (406).
pub fn negotiate(headers: &HeaderMap) -> Option<ResponseMedia> {
    let accepts: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if accepts.is_empty() {
        return Some(ResponseMedia::Json);
    }
    let mut best: Option<(f32, ResponseMedia)> = None;
    for range in accepts {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let supported = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => ResponseMedia::GraphQLResponseJson,
            JSON | "application/*" | "*/*" => ResponseMedia::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, supported));
        }
    }
    best.map(|(_, media)| media)
}

/// True when a request body's `Content-Type` is `application/json` (any parameters, such
/// as `charset=utf-8`).
pub fn is_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: Option<&str>) -> Option<ResponseMedia> {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        negotiate(&headers)
    }

    #[test]
    fn accept_ranks_by_quality_then_order() {
        use ResponseMedia::*;
        assert_eq!(accept(None), Some(Json));
        assert_eq!(accept(Some("*/*")), Some(Json));
        assert_eq!(accept(Some("application/json")), Some(Json));
        assert_eq!(
            accept(Some("application/graphql-response+json")),
            Some(GraphQLResponseJson)
        );
        // Apollo Client's header.
        assert_eq!(
            accept(Some(
                "application/graphql-response+json,application/json;q=0.9"
            )),
            Some(GraphQLResponseJson)
        );
        // urql's header.
        assert_eq!(
            accept(Some(
                "application/graphql-response+json, application/graphql+json, \
                 application/json, text/event-stream, multipart/mixed"
            )),
            Some(GraphQLResponseJson)
        );
        assert_eq!(
            accept(Some("application/json, application/graphql-response+json")),
            Some(Json)
        );
        assert_eq!(
            accept(Some(
                "application/json;q=0.5, application/graphql-response+json;q=0.8"
            )),
            Some(GraphQLResponseJson)
        );
        assert_eq!(accept(Some("text/html")), None);
        assert_eq!(accept(Some("application/json;q=0")), None);
        assert_eq!(accept(Some("text/html, */*;q=0.1")), Some(Json));
    }
}

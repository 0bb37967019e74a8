//! The GraphQL-over-HTTP spec (graphql.github.io/graphql-over-http, the draft Apollo
//! Client, urql and graphql-http target), rule by rule: each check names the rule it
//! holds the server to. Requests are sent raw, headers and all, so that nothing a client
//! library adds hides a miss.

use investments::auth::Scope;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, on_each_backend_as};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// One raw request to `/graphql`: its status, `Content-Type` and body text.
struct Answer {
    status: u16,
    content_type: String,
    text: String,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    fn code(&self) -> Value {
        self.json()["errors"][0]["extensions"]["code"].clone()
    }

    fn has_data_entry(&self) -> bool {
        self.json()
            .as_object()
            .is_some_and(|o| o.contains_key("data"))
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut request = app.request(method, path_and_query);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    Answer {
        status,
        content_type,
        text,
        headers,
    }
}

/// A POST of `body` as `application/json` accepting `accept` (none when `None`).
async fn post(app: &TestApp, token: &str, accept: Option<&str>, body: &Value) -> Answer {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    if let Some(accept) = accept {
        headers.push(("accept", accept));
    }
    send(
        app,
        Method::POST,
        "/graphql",
        &headers,
        Some(&body.to_string()),
    )
    .await
}

fn url_with(params: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params("http://x/graphql", params).unwrap();
    format!("/graphql?{}", url.query().unwrap_or_default())
}

#[tokio::test]
async fn media_types_follow_the_accept_header() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let query = json!({ "query": "{ viewer { name } }" });
        let ok = |a: &Answer, what: &str| {
            assert_eq!(a.status, 200, "{what}: {}", a.text);
            assert_eq!(a.json()["data"]["viewer"]["name"], "alice", "{what}");
        };

        // "A server MUST support ... application/json": asked for it alone, that is what
        // comes back (never the newer type a legacy client cannot read).
        let a = post(&app, &token, Some("application/json"), &query).await;
        ok(&a, "Accept: application/json");
        assert!(
            a.content_type.starts_with("application/json"),
            "{}",
            a.content_type
        );

        // "... SHOULD support application/graphql-response+json."
        let a = post(&app, &token, Some(GRAPHQL_RESPONSE_JSON), &query).await;
        ok(&a, "Accept: graphql-response+json");
        assert!(
            a.content_type.starts_with(GRAPHQL_RESPONSE_JSON),
            "{}",
            a.content_type
        );

        // "If the client does not supply an Accept header, the server SHOULD treat the
        // request as if it had Accept: application/json." And `*/*` accepts anything,
        // so the legacy type, which every client reads.
        for accept in [None, Some("*/*"), Some("application/*")] {
            let a = post(&app, &token, accept, &query).await;
            ok(&a, &format!("Accept: {accept:?}"));
            assert!(
                a.content_type.starts_with("application/json"),
                "{accept:?}: {}",
                a.content_type
            );
        }

        // "The server MUST ... encode the response in the highest priority media type
        // listed that is supported": q-values first, then the order listed.
        let a = post(
            &app,
            &token,
            Some("application/json;q=0.5, application/graphql-response+json"),
            &query,
        )
        .await;
        assert!(
            a.content_type.starts_with(GRAPHQL_RESPONSE_JSON),
            "{}",
            a.content_type
        );
        let a = post(
            &app,
            &token,
            Some("application/json, application/graphql-response+json"),
            &query,
        )
        .await;
        assert!(
            a.content_type.starts_with("application/json"),
            "{}",
            a.content_type
        );

        // "... MAY respond with 406 Not Acceptable" when nothing listed is supported:
        // with a JSON error, not an empty body.
        let a = post(&app, &token, Some("text/html"), &query).await;
        assert_eq!(a.status, 406, "{}", a.text);
        assert_eq!(a.code(), "NOT_ACCEPTABLE");
    })
    .await;
}

#[tokio::test]
async fn request_bodies_must_be_json() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let bearer = format!("Bearer {token}");
        let body = json!({ "query": "{ viewer { name } }" }).to_string();
        // "A server MUST support POST requests encoded with application/json"; any
        // parameter (charset) is fine.
        let a = send(
            &app,
            Method::POST,
            "/graphql",
            &[
                ("authorization", &bearer),
                ("content-type", "application/json; charset=utf-8"),
            ],
            Some(&body),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.text);
        // Anything else is 415 Unsupported Media Type, before the body is read: no
        // Content-Type, text/plain (what a CORS "simple request" would send, so refusing
        // it also keeps cross-site form posts out), `application/graphql`, multipart.
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/graphql"),
            Some("multipart/form-data; boundary=x"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let mut headers = vec![("authorization", bearer.as_str())];
            if let Some(ct) = content_type {
                headers.push(("content-type", ct));
            }
            let a = send(&app, Method::POST, "/graphql", &headers, Some(&body)).await;
            assert_eq!(a.status, 415, "{content_type:?}: {}", a.text);
            assert_eq!(a.code(), "UNSUPPORTED_MEDIA_TYPE", "{content_type:?}");
        }
        // "If the request body is not valid JSON ... 400" with a GraphQL error body, and
        // "query ... MUST be a string": a number is a malformed request, 400 too.
        for malformed in ["{\"query\": ", "{\"query\": 5}"] {
            let headers = [
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ];
            let a = send(&app, Method::POST, "/graphql", &headers, Some(malformed)).await;
            assert_eq!(a.status, 400, "{malformed}: {}", a.text);
            assert_eq!(a.code(), "BAD_REQUEST", "{malformed}");
        }
    })
    .await;
}

#[tokio::test]
async fn request_errors_are_4xx_without_data_in_the_new_media_type() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let cases = [
            ("document parse failure", json!({ "query": "{ viewer { name }" }), "GRAPHQL_PARSE_FAILED"),
            ("document validation failure", json!({ "query": "{ viewer { noSuchField } }" }), "GRAPHQL_VALIDATION_FAILED"),
            (
                "variable coercion failure",
                json!({ "query": "query($n: Int!) { investmentTransactions(first: $n) { totalCount } }", "variables": { "n": "ten" } }),
                "BAD_USER_INPUT",
            ),
            (
                "operation not found",
                json!({ "query": "query A { viewer { name } } query B { viewer { id } }", "operationName": "C" }),
                "OPERATION_RESOLUTION_FAILURE",
            ),
        ];
        for (rule, body, code) in cases {
            // application/graphql-response+json: "the server MUST reply with a 4xx or 5xx
            // status code" when the response has no data, and "SHOULD use 400" for these.
            let a = post(&app, &token, Some(GRAPHQL_RESPONSE_JSON), &body).await;
            assert_eq!(a.status, 400, "{rule}: {}", a.text);
            assert_eq!(a.code(), code, "{rule}: {}", a.text);
            // GraphQL spec 7.1.1: an error raised before execution means no `data` entry.
            assert!(!a.has_data_entry(), "{rule}: {}", a.text);
            // application/json: "the server SHOULD use the 200 status code for every
            // response to a well-formed GraphQL-over-HTTP request", still without data.
            let a = post(&app, &token, Some("application/json"), &body).await;
            assert_eq!(a.status, 200, "{rule} as application/json: {}", a.text);
            assert_eq!(a.code(), code, "{rule}: {}", a.text);
            assert!(!a.has_data_entry(), "{rule}: {}", a.text);
        }
        // A field error is not a request error: data is there (the failed field null)
        // and the status is 200 in both media types.
        let field_error = json!({ "query": "{ node(id: \"bm90LWFuLWlk\") { id } viewer { name } }" });
        for accept in [GRAPHQL_RESPONSE_JSON, "application/json"] {
            let a = post(&app, &token, Some(accept), &field_error).await;
            assert_eq!(a.status, 200, "{accept}: {}", a.text);
            let body = a.json();
            assert_eq!(body["data"]["viewer"]["name"], "alice", "{accept}: {body}");
            assert!(body["errors"][0]["path"].is_array(), "{accept}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn get_requests_carry_the_request_in_the_url() {
    on_each_backend_as("alice", Scope::Write, |app| async move {
        let (_, token) = app.viewer();
        let bearer = format!("Bearer {token}");
        let auth = [("authorization", bearer.as_str())];
        // "query, operationName, variables and extensions as URL query parameters",
        // variables and extensions JSON-encoded; operationName picks among several.
        let url = url_with(&[
            ("query", "query A($n: Int) { investmentTransactions(first: $n) { totalCount } } query B { viewer { name } }"),
            ("operationName", "B"),
            ("variables", "{}"),
            ("extensions", "{}"),
        ]);
        let a = send(&app, Method::GET, &url, &auth, None).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.json()["data"], json!({ "viewer": { "name": "alice" } }));
        // "GET requests MUST NOT be used for executing mutation operations ... the server
        // MUST respond with error status code 405 (Method Not Allowed)", and nothing runs.
        let url = url_with(&[("query", "mutation { createApiToken(input: {name: \"x\", scope: READ}) { token } }")]);
        let a = send(&app, Method::GET, &url, &auth, None).await;
        assert_eq!(a.status, 405, "{}", a.text);
        assert_eq!(a.headers["allow"], "POST");
        assert_eq!(a.code(), "METHOD_NOT_ALLOWED");
        let tokens = app.query(&token, "{ viewer { apiTokens { id } } }", json!({})).await;
        assert_eq!(tokens["viewer"]["apiTokens"].as_array().unwrap().len(), 1, "{tokens}");
    })
    .await;
}

#[tokio::test]
async fn fields_come_back_in_the_order_asked() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        // `portfolio` reads the database and `__typename` does not, so resolved
        // concurrently `b` finishes first; the answer must still list `a` first, and
        // inside it `totalCount` before `edges`, as written, fragments spread in place.
        let query = "query { a: investmentTransactions(first: 2) { totalCount ...F } \
                     b: __typename c: viewer { name id } } \
                     fragment F on InvestmentTransactionConnection { edges { cursor } pageInfo { hasNextPage } }";
        for _ in 0..5 {
            let a = post(&app, &token, None, &json!({ "query": query })).await;
            assert_eq!(a.status, 200, "{}", a.text);
            let at = |key: &str| a.text.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} in {}", a.text));
            assert!(at("a") < at("b") && at("b") < at("c"), "{}", a.text);
            assert!(at("totalCount") < at("edges") && at("edges") < at("pageInfo"), "{}", a.text);
            assert!(at("name") < at("id"), "{}", a.text);
        }
    })
    .await;
}

#[tokio::test]
async fn every_error_is_a_json_body_with_a_code() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let bearer = format!("Bearer {token}");
        let cases: Vec<(&str, Answer, u16, &str)> = vec![
            (
                "an unknown path",
                send(&app, Method::GET, "/nope", &[], None).await,
                404,
                "NOT_FOUND",
            ),
            (
                "a method /graphql does not take",
                send(
                    &app,
                    Method::PUT,
                    "/graphql",
                    &[("authorization", &bearer)],
                    Some("{}"),
                )
                .await,
                405,
                "METHOD_NOT_ALLOWED",
            ),
            (
                "no token",
                post(&app, "", None, &json!({ "query": "{ viewer { name } }" })).await,
                401,
                "UNAUTHENTICATED",
            ),
            (
                "a body over the limit",
                send(
                    &app,
                    Method::POST,
                    "/graphql",
                    &[
                        ("authorization", &bearer),
                        ("content-type", "application/json"),
                    ],
                    Some(&format!(
                        "{{\"query\": \"{}\"}}",
                        " ".repeat(2 * 1024 * 1024)
                    )),
                )
                .await,
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                "an unknown asset",
                send(&app, Method::GET, "/graphiql/assets/nope.js", &[], None).await,
                404,
                "NOT_FOUND",
            ),
            (
                "an unsigned webhook",
                send(
                    &app,
                    Method::POST,
                    "/webhooks/plaid",
                    &[("content-type", "application/json")],
                    Some("{}"),
                )
                .await,
                503,
                "PLAID_UNAVAILABLE",
            ),
        ];
        for (what, answer, status, code) in cases {
            assert_eq!(answer.status, status, "{what}: {}", answer.text);
            assert!(
                answer.content_type.contains("json"),
                "{what}: {}",
                answer.content_type
            );
            assert_eq!(answer.code(), code, "{what}: {}", answer.text);
            assert!(answer.json()["errors"][0]["message"].is_string(), "{what}");
        }
    })
    .await;
}

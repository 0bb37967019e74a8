//! `/graphql` as clients reach it: GET for queries (urql's default), mutations refused
//! over GET, and requests that are not GraphQL answered with a JSON error and a code.

use investments::auth::Scope;
use serde_json::{Value, json};

use crate::common::{TestApp, on_each_backend_as};

async fn get(app: &TestApp, token: &str, params: &[(&str, &str)]) -> reqwest::Response {
    app.get_with_params(Some(token), "/graphql", params).await
}

async fn post_raw(app: &TestApp, token: &str, content_type: &str, body: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/graphql")
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn queries_over_get_and_mutations_refused_there() {
    on_each_backend_as("alice", Scope::Write, |app| async move {
    let (_, token) = app.viewer();

    // What urql sends with `preferGetMethod`: query, variables and operationName as URL
    // parameters.
    let response = get(
        &app,
        &token,
        &[
            (
                "query",
                "query Me($n: Int) { viewer { name } items(first: $n) { totalCount } }",
            ),
            ("variables", r#"{"n": 5}"#),
            ("operationName", "Me"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["name"], "alice", "{body}");
    assert_eq!(body["data"]["items"]["totalCount"], 0, "{body}");

    // A mutation over GET is never run: 405, `Allow: POST`, and a JSON error.
    for (query, operation) in [
        (
            r#"mutation { createApiToken(input: {name: "x", scope: READ}) { token } }"#,
            None,
        ),
        (
            r#"query A { viewer { name } } mutation B { createApiToken(input: {name: "x", scope: READ}) { token } }"#,
            Some("B"),
        ),
    ] {
        let mut params = vec![("query", query)];
        if let Some(name) = operation {
            params.push(("operationName", name));
        }
        let response = get(&app, &token, &params).await;
        assert_eq!(response.status(), 405, "{query}");
        assert_eq!(response.headers()["allow"], "POST");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "METHOD_NOT_ALLOWED"
        );
    }
    let tokens = app
        .query(&token, "{ viewer { apiTokens { name } } }", json!({}))
        .await;
    assert_eq!(
        tokens["viewer"]["apiTokens"].as_array().unwrap().len(),
        1,
        "no token was created over GET"
    );

    // The query operation of the same document is fine over GET.
    let response = get(
        &app,
        &token,
        &[
            (
                "query",
                r#"query A { viewer { name } } mutation B { createApiToken(input: {name: "x", scope: READ}) { token } }"#,
            ),
            ("operationName", "A"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn requests_that_are_not_graphql_get_a_json_error_with_a_code() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        for (what, response) in [
            (
                "malformed JSON",
                post_raw(
                    &app,
                    &token,
                    "application/json",
                    r#"{"query": "{ viewer { name } }""#,
                )
                .await,
            ),
            (
                "JSON without a query",
                post_raw(&app, &token, "application/json", r#"{"variables": {}}"#).await,
            ),
            (
                "a GET without a query",
                get(&app, &token, &[("variables", "{}")]).await,
            ),
            (
                "variables that are not JSON",
                get(
                    &app,
                    &token,
                    &[("query", "{ viewer { name } }"), ("variables", "{oops")],
                )
                .await,
            ),
        ] {
            assert_eq!(response.status(), 400, "{what}");
            let body: Value = response
                .json()
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
                "{what}: {body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap();
            for internal in ["BatchRequest", "InvalidRequest", "Error(", "untagged"] {
                assert!(!message.contains(internal), "{what}: {message}");
            }
        }
    })
    .await;
}

/// Text filters, `in:` lists and id lists are bounded: beyond the bound, `BAD_USER_INPUT`
/// before any SQL, in GraphQL and in the CSV export alike (which then sends no CSV).
#[tokio::test]
async fn oversized_inputs_are_refused_before_any_sql() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
    let (_, token) = app.viewer();
    // Warm the token cache, so that the refused requests below would run SQL only for
    // their filters.
    app.query(&token, "{ viewer { name } }", json!({})).await;
    let long = "x".repeat(201);
    let many: Vec<String> = (0..501).map(|i| format!("t{i}")).collect();
    let filters = [
        json!({ "name": { "contains": long } }),
        json!({ "name": { "eq": long } }),
        json!({ "type": { "in": many } }),
        json!({ "institutionIds": many }),
    ];
    const QUERY: &str = "query($f: InvestmentTransactionFilter) { investmentTransactions(filter: $f) { totalCount } }";
    for filter in &filters {
        let mark = app.statement_count();
        let code = app.error_code(&token, QUERY, json!({ "f": filter })).await;
        assert_eq!(code, "BAD_USER_INPUT", "{filter}");
        assert_eq!(app.statement_count(), mark, "no SQL for {filter}");

        let params = [("filter", filter.to_string())];
        let response = app
            .get_with_params(Some(&token), "/export/investment_transactions.csv", &params)
            .await;
        assert_eq!(response.status(), 400, "export {filter}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "export {filter}"
        );
        assert_eq!(
            app.statement_count(),
            mark,
            "no SQL for the export of {filter}"
        );
    }
    // At the bound, accepted.
    let at_bound = json!({ "name": { "contains": "x".repeat(200) } });
    let data = app.query(&token, QUERY, json!({ "f": at_bound })).await;
    assert_eq!(data["investmentTransactions"]["totalCount"], 0);
    })
    .await;
}

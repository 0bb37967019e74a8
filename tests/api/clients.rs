//! The server driven the way Apollo Client and urql drive it in their default setups, on
//! the wire: their methods, headers, URL parameters and persisted-query extension
//! (Apollo's `createPersistedQueryLink`, urql's `persistedExchange`), and the allowlist
//! a production frontend runs under (`--persisted-only`).

use investments::auth::Scope;
use investments::http::HttpOptions;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{TestApp, backends, on_each_backend_as};

/// Apollo Client's `HttpLink` `Accept` header.
const APOLLO_ACCEPT: &str = "application/graphql-response+json,application/json;q=0.9";
/// urql's `Accept` header.
const URQL_ACCEPT: &str = "application/graphql-response+json, application/graphql+json, \
                           application/json, text/event-stream, multipart/mixed";

const HOLDINGS: &str = "query Holdings { viewer { name } holdings(first: 5) { totalCount } }";

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// Status and JSON body of one request as a browser client sends it.
async fn send(
    app: &TestApp,
    method: Method,
    token: &str,
    accept: &str,
    params: &[(&str, String)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .request_with_params(method, "/graphql", params)
        .bearer_auth(token)
        .header("accept", accept);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, body)
}

/// A JSON POST of `body`, as both clients send queries with a document or a hash.
async fn post(app: &TestApp, token: &str, accept: &str, body: Value) -> (u16, Value) {
    send(app, Method::POST, token, accept, &[], Some(body)).await
}

/// A GET with these URL parameters, as urql and Apollo's hashed queries send it.
async fn get(app: &TestApp, token: &str, accept: &str, params: &[(&str, String)]) -> (u16, Value) {
    send(app, Method::GET, token, accept, params, None).await
}

fn code(body: &Value) -> &Value {
    &body["errors"][0]["extensions"]["code"]
}

#[tokio::test]
async fn apollo_client_with_persisted_queries() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let hash = sha256(HOLDINGS);
        let mut extensions = persisted(&hash);
        extensions["clientLibrary"] = json!({ "name": "@apollo/client", "version": "4.0.0" });

        // 1. The link sends the hash alone. The server has not seen it: the miss both
        //    clients look for (message `PersistedQueryNotFound`, code
        //    `PERSISTED_QUERY_NOT_FOUND`), a 404 in the spec's media type (the request
        //    did not run, so no `data`).
        let hash_only =
            json!({ "operationName": "Holdings", "variables": {}, "extensions": extensions });
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, hash_only.clone()).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
        assert!(body.get("data").is_none(), "{body}");

        // 2. It sends again with the document: it runs, and is remembered.
        let mut with_query = hash_only.clone();
        with_query["query"] = json!(HOLDINGS);
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, with_query).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["name"], "alice", "{body}");

        // 3. From now on the hash alone is enough, over POST ...
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, hash_only).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["holdings"]["totalCount"], 0, "{body}");
        // ... and over GET (`useGETForHashedQueries: true`), which caches like any URL.
        let params = [
            ("operationName", "Holdings".to_owned()),
            ("variables", "{}".to_owned()),
            ("extensions", persisted(&hash).to_string()),
        ];
        let (status, body) = get(&app, &token, APOLLO_ACCEPT, &params).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["name"], "alice", "{body}");

        // A document whose hash is not the one sent is refused, and not remembered
        // under the false hash.
        let other = "query Other { viewer { id } }";
        let lie = json!({ "query": other, "extensions": persisted(&hash) });
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, lie).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(code(&body), "PERSISTED_QUERY_HASH_MISMATCH");
        let unknown = json!({ "extensions": persisted(&sha256(other)) });
        let (status, _) = post(&app, &token, APOLLO_ACCEPT, unknown).await;
        assert_eq!(status, 404);

        // A malformed extension is a 400 with a code.
        let bad =
            json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } });
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(code(&body), "BAD_REQUEST");
    })
    .await;
}

#[tokio::test]
async fn urql_defaults_get_for_queries_post_for_mutations() {
    on_each_backend_as("alice", Scope::Write, |app| async move {
        let (_, token) = app.viewer();
        // urql's fetchExchange (`preferGetMethod: 'within-url-limit'`): a query as GET
        // with `query`, `operationName` and JSON `variables`.
        let query = "query Tx($first: Int) { investmentTransactions(first: $first) { totalCount } }";
        let params = [
            ("query", query.to_owned()),
            ("operationName", "Tx".to_owned()),
            ("variables", json!({ "first": 3 }).to_string()),
        ];
        let (status, body) = get(&app, &token, URQL_ACCEPT, &params).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["investmentTransactions"]["totalCount"], 0, "{body}");

        // Mutations always go as a JSON POST.
        let mutation = json!({
            "query": "mutation Create($input: CreateApiTokenInput!) { createApiToken(input: $input) { apiToken { name } } }",
            "operationName": "Create",
            "variables": { "input": { "name": "urql", "scope": "READ" } },
        });
        let (status, body) = post(&app, &token, URQL_ACCEPT, mutation).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["createApiToken"]["apiToken"]["name"], "urql", "{body}");

        // `persistedExchange` (GET for persisted queries): the hash alone, then on the
        // miss the hash with the document, then the hash alone again.
        let hash = sha256(query);
        let hash_only = [
            ("operationName", "Tx".to_owned()),
            ("variables", json!({ "first": 3 }).to_string()),
            ("extensions", persisted(&hash).to_string()),
        ];
        let (status, body) = get(&app, &token, URQL_ACCEPT, &hash_only).await;
        assert_eq!((status, code(&body).clone()), (404, json!("PERSISTED_QUERY_NOT_FOUND")), "{body}");
        let mut with_query = hash_only.to_vec();
        with_query.push(("query", query.to_owned()));
        let (status, body) = get(&app, &token, URQL_ACCEPT, &with_query).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = get(&app, &token, URQL_ACCEPT, &hash_only).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["investmentTransactions"]["totalCount"], 0, "{body}");

        // A mutation named by hash over GET is still refused (405), nothing run.
        let mutation_doc = "mutation { revokeApiToken(input: {id: \"x\"}) { revokedTokenId } }";
        let register = json!({ "query": mutation_doc, "extensions": persisted(&sha256(mutation_doc)) });
        // Registered over POST (it fails on its bad id, which does not matter here) ...
        post(&app, &token, URQL_ACCEPT, register).await;
        // ... then named over GET.
        let params = [("extensions", persisted(&sha256(mutation_doc)).to_string())];
        let (status, body) = get(&app, &token, URQL_ACCEPT, &params).await;
        assert_eq!(status, 405, "{body}");
    })
    .await;
}

#[tokio::test]
async fn an_allowlist_runs_its_documents_only() {
    for backend in backends() {
        let listed = HOLDINGS;
        let hash = sha256(listed);
        // Apollo's manifest format, as `generate-persisted-query-manifest` writes it.
        let manifest = investments::graphql::persisted::parse_manifest(
            &json!({
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{ "id": hash, "name": "Holdings", "type": "query", "body": listed }],
            })
            .to_string(),
        )
        .unwrap();
        let app = TestApp::builder(backend)
            .with_http(HttpOptions {
                persisted_only: Some(manifest),
                ..Default::default()
            })
            .with_user("alice", Scope::Read)
            .start()
            .await;
        let (_, token) = app.viewer();
        let mark = app.statement_count();

        // Listed: by hash (POST and GET), or in full.
        let by_hash = json!({ "operationName": "Holdings", "extensions": persisted(&hash) });
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, by_hash).await;
        assert_eq!(status, 200, "[{backend:?}] {body}");
        assert_eq!(body["data"]["viewer"]["name"], "alice");
        let params = [("extensions", persisted(&hash).to_string())];
        let (status, _) = get(&app, &token, URQL_ACCEPT, &params).await;
        assert_eq!(status, 200);
        let (status, _) = post(&app, &token, APOLLO_ACCEPT, json!({ "query": listed })).await;
        assert_eq!(status, 200);

        // Not listed: refused before it is parsed or run, in full (403) or by an
        // unknown hash (404, the client's retry with the document then gets the 403);
        // registering it the APQ way is refused too.
        let unlisted = "{ viewer { name } }";
        let before = app.statement_count();
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, json!({ "query": unlisted })).await;
        assert_eq!(status, 403, "[{backend:?}] {body}");
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_IN_LIST");
        let (status, body) = post(
            &app,
            &token,
            APOLLO_ACCEPT,
            json!({ "extensions": persisted(&sha256(unlisted)) }),
        )
        .await;
        assert_eq!(status, 404, "{body}");
        let register = json!({ "query": unlisted, "extensions": persisted(&sha256(unlisted)) });
        let (status, body) = post(&app, &token, APOLLO_ACCEPT, register).await;
        assert_eq!(status, 403, "{body}");
        // As application/json, the legacy media type, refusals are 200 with the code.
        let (status, body) = post(
            &app,
            &token,
            "application/json",
            json!({ "query": unlisted }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_IN_LIST");
        assert_eq!(
            app.statement_count(),
            before,
            "[{backend:?}] refused requests ran SQL"
        );
        assert!(app.statement_count() > mark);
    }
}

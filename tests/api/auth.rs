use investments::auth::Scope;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::common::{TestApp, on_each_backend, on_each_backend_as};

const VIEWER: &str = "{ viewer { name tokenScope } }";
const CREATE_TOKEN: &str = r#"mutation { createApiToken(input: {name: "dashboard", scope: READ}) { token apiToken { id scope isCurrent } } }"#;

async fn token_count(app: &TestApp, token: &str) -> usize {
    let data = app
        .query(token, "{ viewer { apiTokens { id } } }", json!({}))
        .await;
    data["viewer"]["apiTokens"].as_array().unwrap().len()
}

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthenticated() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let mut forged = token.clone();
        forged.pop();
        forged.push(if token.ends_with('A') { 'B' } else { 'A' });
        for bad in [None, Some(""), Some("not-a-token"), Some(forged.as_str())] {
            let (status, body) = app.post(bad, VIEWER, json!({})).await;
            assert_eq!(status, 401, "{bad:?}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
            assert!(
                body.get("data").is_none(),
                "no data without a token: {body}"
            );
        }
        let response = app
            .request(reqwest::Method::POST, "/graphql")
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"investments\""
        );
        // The scheme is case-insensitive.
        let response = app
            .request(reqwest::Method::POST, "/graphql")
            .header("authorization", format!("bearer {token}"))
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn read_token_queries_but_may_not_mutate() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let data = app.query(&token, VIEWER, json!({})).await;
        assert_eq!(
            data["viewer"],
            json!({ "name": "alice", "tokenScope": "READ" })
        );

        let (status, body) = app.post(Some(&token), CREATE_TOKEN, json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
        assert_eq!(body["data"], json!(null));
        assert_eq!(token_count(&app, &token).await, 1, "nothing was created");

        // A document holding a query and a mutation: running the query is allowed.
        let doc = format!(
            "query Me {VIEWER} mutation Make {}",
            &CREATE_TOKEN["mutation ".len()..]
        );
        let (_, body) = app.post(Some(&token), &doc, json!({})).await;
        assert!(
            body["errors"].is_array(),
            "ambiguous without operationName: {body}"
        );
        let (_, response) = app
            .post_body(Some(&token), json!({ "query": doc, "operationName": "Me" }))
            .await;
        assert_eq!(response["data"]["viewer"]["name"], "alice", "{response}");
        let (_, response) = app
            .post_body(
                Some(&token),
                json!({ "query": doc, "operationName": "Make" }),
            )
            .await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "FORBIDDEN");
    })
    .await;
}

#[tokio::test]
async fn write_token_creates_and_revokes_tokens() {
    on_each_backend_as("alice", Scope::Write, |app| async move {
        let (user_id, token) = app.viewer();
        let data = app.query(&token, CREATE_TOKEN, json!({})).await;
        let created = &data["createApiToken"];
        let new_token = created["token"].as_str().unwrap().to_owned();
        assert_eq!(created["apiToken"]["scope"], "READ");
        assert_eq!(created["apiToken"]["isCurrent"], false);
        assert!(
            new_token.len() >= 40,
            "at least 128 random bits: {new_token}"
        );

        let data = app.query(&new_token, VIEWER, json!({})).await;
        assert_eq!(data["viewer"]["tokenScope"], "READ");

        // Only a hash is stored.
        let stored = investments::db::entities::api_tokens::Entity::find()
            .filter(investments::db::entities::api_tokens::Column::UserId.eq(user_id))
            .all(&app.db)
            .await
            .unwrap();
        assert!(
            stored
                .iter()
                .all(|t| t.token_hash != new_token && !t.token_hash.contains(&new_token))
        );

        let revoke = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { revokedTokenId } }";
        let id = created["apiToken"]["id"].clone();
        app.query(&token, revoke, json!({ "id": id })).await;
        let (status, _) = app.post(Some(&new_token), VIEWER, json!({})).await;
        assert_eq!(status, 401, "a revoked token stops working");
        assert_eq!(
            app.error_code(&token, revoke, json!({ "id": id })).await,
            "NOT_FOUND"
        );
    })
    .await;
}

#[tokio::test]
async fn health_needs_no_token() {
    on_each_backend(|app| async move {
        let response = app.get("/healthz", &[]).await;
        assert_eq!(response.status(), 200);
        let page = app.get("/graphiql", &[]).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("/graphql"));
        // Everything the playground loads comes from this server (it works offline).
        assert!(!page.contains("https://"), "external URL in GraphiQL page");
        let assets: Vec<&str> = page
            .split('"')
            .filter(|s| s.starts_with("/graphiql/assets/"))
            .collect();
        assert_eq!(assets.len(), 4, "{assets:?}");
        for asset in assets {
            let response = app.get(asset, &[]).await;
            assert_eq!(response.status(), 200, "{asset}");
            assert!(response.bytes().await.unwrap().len() > 1000, "{asset}");
        }
        let missing = app.get("/graphiql/assets/nope.js", &[]).await;
        assert_eq!(missing.status(), 404);
    })
    .await;
}

#[tokio::test]
async fn errors_carry_codes() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        assert_eq!(
            app.error_code(&token, "{ viewer { name ", json!({})).await,
            "GRAPHQL_PARSE_FAILED"
        );
        assert_eq!(
            app.error_code(&token, "{ viewer { noSuchField } }", json!({})).await,
            "GRAPHQL_VALIDATION_FAILED"
        );
        assert_eq!(
            app.error_code(
                &token,
                r#"{ investmentTransactions(filter: {amount: {gte: "ten"}}) { totalCount } }"#,
                json!({})
            )
            .await,
            "BAD_USER_INPUT"
        );
        assert_eq!(
            app.error_code(
                &token,
                "query($a: Decimal) { investmentTransactions(filter: {amount: {gte: $a}}) { totalCount } }",
                json!({ "a": 1.5 })
            )
            .await,
            "BAD_USER_INPUT",
            "fractions must be sent as strings"
        );
        assert_eq!(
            app.error_code(&token, r#"{ node(id: "bm9wZQ") { id } }"#, json!({})).await,
            "BAD_USER_INPUT"
        );
        // Depth 17, one more than the limit.
        let deep = format!(
            "{{ holdings {{ nodes {{ {} id {} }} }} }}",
            "security { holdings { ".repeat(7),
            "} } ".repeat(7)
        );
        let deep = deep.as_str();
        assert_eq!(
            app.error_code(&token, deep, json!({})).await,
            "GRAPHQL_VALIDATION_FAILED"
        );
    })
    .await;
}

//! The cost model and the request limits over HTTP: aliases and fragments counted, root
//! field and alias caps, the cost limit, the execution deadline, and the documented
//! queries far under the limits. Refusals happen before any SQL.

use std::time::{Duration, Instant};

use investments::auth::Scope;
use investments::graphql::Limits;
use investments::graphql::cost::{MAX_ALIASES, MAX_COMPLEXITY, MAX_ROOT_FIELDS};
use investments::plaid::simulator::SimulatorConfig;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, backends, on_each_backend_as};
use crate::plaid_support::public_token;

/// Posts `query`, which must be refused with `QUERY_TOO_COMPLEX` before any SQL; returns the
/// error message.
async fn refused(app: &TestApp, token: &str, query: &str) -> String {
    let body = app
        .refused_before_sql(token, query, json!({}), "QUERY_TOO_COMPLEX")
        .await;
    assert!(body["data"].is_null(), "nothing ran: {body}");
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

/// `n` aliased copies of `field` in a portfolio, the `i`th with `from` `i` days after
/// 2024-01-01 so that no two share a cached result.
fn aliased(n: usize, field: &str, selection: &str) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let copies: Vec<String> = (0..n)
        .map(|i| {
            let from = start + chrono::Days::new(i as u64);
            format!("a{i}: {field}(from: \"{from}\", to: \"2026-01-01\") {selection}")
        })
        .collect();
    format!("{{ portfolio {{ {} }} }}", copies.join(" "))
}

#[tokio::test]
async fn five_hundred_aliased_realized_gains_are_refused_before_any_sql() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let query = aliased(500, "realizedGains", "{ totals { realizedGain } }");
        let message = refused(&app, &token, &query).await;
        assert!(message.contains("500 aliased fields"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn five_hundred_aliased_income_and_costs_are_refused_before_any_sql() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let query = aliased(500, "incomeAndCosts", "{ month currency dividends }");
        let message = refused(&app, &token, &query).await;
        assert!(message.contains("500 aliased fields"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn every_alias_adds_its_cost() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        // One `realizedGains { totals { realizedGain } }`: 2,000 transactions + 10 rows x
        // (the list `totals`: 1 + its one field) = 2,020. With `portfolio` (1):
        // 49 copies cost 1 + 49 x 2,020 = 98,981, under 100,000: they run.
        assert_eq!(MAX_COMPLEXITY, 100_000);
        let selection = "{ totals { realizedGain } }";
        let data = app
            .query(&token, &aliased(49, "realizedGains", selection), json!({}))
            .await;
        assert_eq!(data["portfolio"]["a48"]["totals"], json!([]));
        // 50 copies (within the alias cap) cost 1 + 50 x 2,020 = 101,001: refused.
        let message = refused(&app, &token, &aliased(50, "realizedGains", selection)).await;
        assert!(message.contains("costs 101001"), "{message}");
        // The same 50 through a fragment spread five times: counted per spread.
        let ten: Vec<String> = (0..10)
            .map(|i| {
                format!(
                    "a{i}: realizedGains(from: \"2024-01-0{}\") {selection}",
                    i % 9 + 1
                )
            })
            .collect();
        let query = format!(
            "{{ portfolio {{ ...F ...F ...F ...F ...F }} }} fragment F on Portfolio {{ {} }}",
            ten.join(" ")
        );
        let message = refused(&app, &token, &query).await;
        assert!(message.contains("costs 101001"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn root_fields_are_capped_through_fragments_and_inline_fragments() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        assert_eq!(MAX_ROOT_FIELDS, 20);
        // 9 spreads of 2 fields + an inline fragment of 2: 20 root fields run.
        let fragment = "fragment F on Query { viewer { name } holdings(first: 1) { totalCount } }";
        let twenty = format!(
            "{{ {} ... on Query {{ viewer {{ id }} accounts(first: 1) {{ totalCount }} }} }} {fragment}",
            "...F ".repeat(9)
        );
        let data = app.query(&token, &twenty, json!({})).await;
        assert_eq!(data["viewer"]["name"], "alice");
        // One more: 21.
        let twenty_one = twenty.replacen("{ ...F", "{ items(first: 1) { totalCount } ...F", 1);
        let message = refused(&app, &token, &twenty_one).await;
        assert!(message.contains("21 root fields"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn aliases_are_capped_at_any_depth_through_fragments() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        assert_eq!(MAX_ALIASES, 50);
        // 5 spreads of a fragment with 10 aliases, inside `viewer`: 50 aliases run.
        let names: Vec<String> = (0..10).map(|i| format!("n{i}: name")).collect();
        let fragment = format!("fragment G on User {{ {} }}", names.join(" "));
        let fifty = format!("{{ viewer {{ ...G ...G ...G ...G ...G }} }} {fragment}");
        let data = app.query(&token, &fifty, json!({})).await;
        assert_eq!(data["viewer"]["n9"], "alice");
        // One more, in an inline fragment: 51.
        let fifty_one = fifty.replacen("...G", "... on User { me: id } ...G", 1);
        let message = refused(&app, &token, &fifty_one).await;
        assert!(message.contains("51 aliased fields"), "{message}");
        // Only the selected operation counts: the other one is never run.
        let two = format!(
            "query Small {{ viewer {{ name }} }} query Big {{ viewer {{ ...G ...G ...G ...G ...G me: id }} }} {fragment}"
        );
        let (_, body) = app
            .post_body(Some(&token), json!({ "query": two, "operationName": "Small" }))
            .await;
        assert_eq!(body["data"]["viewer"]["name"], "alice", "{body}");
    })
    .await;
}

/// The ```graphql examples of the README and docs/features, and the demo's dashboard
/// query, on a server whose cost limit is a fifth of the real one: each costs less than
/// that, so a dashboard stays far under the limit.
#[tokio::test]
async fn documented_queries_cost_under_a_fifth_of_the_limit() {
    let limits = Limits {
        max_complexity: MAX_COMPLEXITY / 5,
        ..Default::default()
    };
    let app = TestApp::builder(Backend::Sqlite)
        .with_limits(limits)
        .with_user("alice", Scope::Write)
        .start()
        .await;
    let (_, token) = app.viewer();
    let mut operations = crate::schema::documented_operations();
    operations.push((
        "src/demo.rs".to_owned(),
        investments::demo::DASHBOARD_QUERY.to_owned(),
        None,
    ));
    let mut over = Vec::new();
    for (file, document, name) in operations {
        let mut body =
            json!({ "query": document, "variables": crate::schema::placeholders(&document) });
        if let Some(name) = &name {
            body["operationName"] = json!(name);
        }
        let (_, response) = app.post_body(Some(&token), body).await;
        for error in response["errors"].as_array().into_iter().flatten() {
            if error["extensions"]["code"] == "QUERY_TOO_COMPLEX" {
                over.push(format!("{file} {name:?}: {error}\n{document}"));
            }
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n\n"));
    // The lower limit is in force: ten realized-gains figures cost 1 + 10 x 2,020 =
    // 20,201, over 20,000.
    let message = refused(
        &app,
        &token,
        &aliased(10, "realizedGains", "{ totals { realizedGain } }"),
    )
    .await;
    assert!(message.contains("more than the 20000"), "{message}");
}

/// A server whose Plaid answers after `latency` and whose GraphQL deadline is 300 ms,
/// with alice's write token ready.
async fn past_the_deadline(backend: crate::common::Backend, latency: Duration) -> TestApp {
    let limits = Limits {
        deadline: DEADLINE,
        ..Default::default()
    };
    TestApp::builder(backend)
        .with_plaid(SimulatorConfig {
            latency,
            ..Default::default()
        })
        .with_limits(limits)
        .with_user("alice", Scope::Write)
        .start()
        .await
}

/// The deadline of the tests that run past it.
const DEADLINE: Duration = Duration::from_millis(300);

/// A mutation waiting on a slow Plaid (5 s a call) is stopped at a 300 ms deadline with
/// `DEADLINE_EXCEEDED`, instead of answering after Plaid.
#[tokio::test]
async fn a_mutation_past_the_deadline_is_stopped_with_a_code() {
    for backend in backends() {
        let app = past_the_deadline(backend, Duration::from_secs(5)).await;
        let (_, token) = app.viewer();
        let started = Instant::now();
        let (status, body) = app
            .post(
                Some(&token),
                "mutation { createLinkToken { linkToken } }",
                json!({}),
            )
            .await;
        let elapsed = started.elapsed();
        assert_eq!(status, 200, "[{backend:?}] {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "DEADLINE_EXCEEDED",
            "[{backend:?}] {body}"
        );
        assert!(body["data"].is_null(), "{body}");
        assert!(
            elapsed < Duration::from_secs(4),
            "[{backend:?}] answered at the deadline, not after Plaid: {elapsed:?}"
        );
    }
}

/// The same over WebSocket (`graphql-transport-ws`), where queries and mutations go
/// through the same execution as over HTTP.
#[tokio::test]
async fn a_mutation_over_websocket_past_the_deadline_is_stopped_with_a_code() {
    use crate::subscriptions::{connect, next, send};
    for backend in backends() {
        let app = past_the_deadline(backend, Duration::from_secs(5)).await;
        let (_, token) = app.viewer();
        let mut socket = connect(&app, &token).await;
        let started = Instant::now();
        let query = "mutation { createLinkToken { linkToken } }";
        send(
            &mut socket,
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }),
        )
        .await;
        let message = next(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(
            message["payload"]["errors"][0]["extensions"]["code"], "DEADLINE_EXCEEDED",
            "[{backend:?}] {message}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    }
}

/// A query over GET that cannot get a database connection (the test holds them all) is
/// stopped at the deadline rather than waiting for the pool's 10 s timeout.
#[tokio::test]
async fn a_query_over_get_past_the_deadline_is_stopped_with_a_code() {
    for backend in backends() {
        let limits = Limits {
            deadline: Duration::from_millis(300),
            ..Default::default()
        };
        let app = TestApp::builder(backend)
            .with_limits(limits)
            .with_user("alice", Scope::Read)
            .start()
            .await;
        let (_, token) = app.viewer();
        let get = || async {
            let params = [("query", "{ holdings { totalCount } }")];
            let response = app
                .request_with_params(reqwest::Method::GET, "/graphql", &params)
                .bearer_auth(&token)
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        };
        // Served while a connection is free (and the token is now cached).
        let body = get().await;
        assert_eq!(body["data"]["holdings"]["totalCount"], 0, "{body}");
        let mut held = Vec::new();
        for _ in 0..app.db_config.max_connections {
            held.push(sea_orm::TransactionTrait::begin(&app.db).await.unwrap());
        }
        let started = Instant::now();
        let body = get().await;
        let elapsed = started.elapsed();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "DEADLINE_EXCEEDED",
            "[{backend:?}] {body}"
        );
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        drop(held);
    }
}

/// A public token exchange cut by the deadline still stores the item and its access
/// token: lost between Plaid's answer and the database, the item could never be removed
/// at Plaid.
#[tokio::test]
async fn a_token_exchange_cut_by_the_deadline_still_stores_its_item() {
    use investments::db::entities::plaid_items;
    use sea_orm::{EntityTrait, PaginatorTrait};
    for backend in backends() {
        let app = past_the_deadline(backend, Duration::from_secs(1)).await;
        let (_, token) = app.viewer();
        let public = public_token(&app, "ins_109512").await;
        let (_, body) = app
            .post(
                Some(&token),
                "mutation($t: String!) { exchangePublicToken(input: {publicToken: $t}) { item { id } } }",
                json!({ "t": public }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "DEADLINE_EXCEEDED",
            "[{backend:?}] {body}"
        );
        // Nothing announces the stored row (no one is waiting for it any more): look for
        // it until Plaid's answer (1 s) has had ample time to arrive.
        let started = Instant::now();
        while plaid_items::Entity::find().count(&app.db).await.unwrap() == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "[{backend:?}] the exchanged item was never stored"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let item = plaid_items::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            item.access_token_ciphertext.is_some(),
            "its access token is kept"
        );
    }
}

//! Database faults: a lost, refused or closed database connection is a retryable
//! `SERVICE_UNAVAILABLE` (HTTP 503 with `Retry-After` outside GraphQL), never an internal
//! error; a sync that meets one either succeeds (its store is retried) or fails cleanly,
//! leaving whole data and no run `running`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use investments::auth::Scope;
use investments::db::{self, DbConfig};
use investments::plaid::simulator::{Scenario, SimulatorConfig};
use investments::sync::Trigger;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, TestAppBuilder, backends};
use crate::plaid_support::*;

const QUERY: &str = r#"{
  viewer { id name }
  items(first: 50) { totalCount nodes { id accounts { id } } }
  holdings(first: 100) { totalCount nodes { id account { id } security { id } } }
  investmentTransactions(first: 100) { totalCount nodes { id security { id } } }
}"#;

async fn killer(app: &TestApp) -> DatabaseConnection {
    let mut config = DbConfig::new(app.db_config.url.clone());
    config.max_connections = 1;
    db::connect(&config).await.expect("killer connection")
}

/// A server with Plaid on PostgreSQL, set up by `configure`, when PostgreSQL is tested
/// (the tests of lost connections: SQLite has none to lose).
async fn postgres_with_plaid(
    configure: impl FnOnce(TestAppBuilder) -> TestAppBuilder,
) -> Option<TestApp> {
    if !backends().contains(&Backend::Postgres) {
        return None;
    }
    let builder = TestApp::builder(Backend::Postgres).with_plaid(SimulatorConfig::default());
    Some(configure(builder).start().await)
}

/// A 503 that says when to try again, with the GraphQL error `SERVICE_UNAVAILABLE`.
async fn assert_unavailable(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    assert_retry_after(&response, what);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{what}: {body}"
    );
}

/// A 503 must say when to try again.
fn assert_retry_after(response: &reqwest::Response, what: &str) {
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1"),
        "{what}: a 503 without Retry-After"
    );
}

/// Every path that reads the database answers 503 + `Retry-After` (GraphQL with
/// `SERVICE_UNAVAILABLE`) once the server's pool is closed, on SQLite and PostgreSQL.
#[tokio::test]
async fn a_closed_pool_is_service_unavailable_with_retry_after() {
    for backend in backends() {
        eprintln!("-- on {backend:?}");
        let app = TestApp::builder(backend)
            .with_plaid(SimulatorConfig::default())
            .with_user("alice", Scope::Write)
            .start()
            .await;
        let (_, token) = app.viewer();
        let item = link(&app, &token, "ins_109508").await;
        app.db.clone().close().await.expect("close the pool");

        let response = app
            .request(reqwest::Method::POST, "/graphql")
            .bearer_auth(&token)
            .json(&json!({ "query": QUERY }))
            .send()
            .await
            .unwrap();
        assert_unavailable(response, &format!("[{backend:?}] graphql")).await;

        let response = app
            .get(
                "/export/holdings.csv",
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
        assert_unavailable(response, &format!("[{backend:?}] export")).await;

        let response = app.get("/healthz", &[]).await;
        assert_eq!(response.status(), 503, "[{backend:?}] healthz");
        assert_retry_after(&response, "healthz");

        // Plaid retries a webhook answered with anything but 200: nothing is lost.
        let status = holdings_update(&app, &item).await;
        assert_eq!(status, 503, "[{backend:?}] webhook");
    }
}

/// One answer of the storm: what a client saw.
struct Seen {
    status: u16,
    retry_after: bool,
    body: Value,
}

/// 200 queries over four concurrent clients while the server's connections are killed
/// again and again (PostgreSQL only: SQLite has no connection to lose, its "server" is a
/// file in the process). Every answer is a success or `SERVICE_UNAVAILABLE`, and queries
/// succeed again afterwards.
#[tokio::test]
async fn queries_through_killed_connections_are_retryable() {
    let configure = |b: TestAppBuilder| {
        b.with_user("alice", Scope::Read)
            .with_user("bob", Scope::Write)
    };
    let Some(app) = postgres_with_plaid(configure).await else {
        return;
    };
    let (_, token) = app.user_named("alice");
    let (_, writer) = app.user_named("bob");
    link(&app, &writer, "ins_109508").await;
    let killer = killer(&app).await;
    let done = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();

    let clients = (0..4).map(|_| {
        let (client, url, token) = (client.clone(), app.base_url.clone(), token.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..50 {
                let response = client
                    .post(format!("{url}/graphql"))
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(30))
                    .json(&json!({ "query": QUERY }))
                    .send()
                    .await
                    .expect("an answer");
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.json().await.expect("JSON");
                seen.push(Seen {
                    status,
                    retry_after,
                    body,
                });
            }
            seen
        })
    });
    let clients: Vec<_> = clients.collect();
    let killed = Arc::new(AtomicU64::new(0));
    let kills = {
        let (done, killed) = (done.clone(), killed.clone());
        let (killer, config) = (killer.clone(), app.db_config.clone());
        async move {
            // Bounded: at most 400 rounds, 15 ms apart.
            for _ in 0..400 {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
                killed.fetch_add(kill_connections(&killer, &config).await, Ordering::SeqCst);
            }
        }
    };
    let answers = async {
        let mut all = Vec::new();
        for c in clients {
            all.extend(c.await.unwrap());
        }
        done.store(true, Ordering::SeqCst);
        all
    };
    let (answers, ()) = tokio::join!(answers, kills);

    assert_eq!(answers.len(), 200);
    let mut unavailable = 0;
    for seen in &answers {
        assert!(
            seen.status == 200 || seen.status == 503,
            "status {}: {}",
            seen.status,
            seen.body
        );
        if seen.status == 503 {
            assert!(seen.retry_after, "503 without Retry-After: {}", seen.body);
        }
        if let Some(errors) = seen.body.get("errors").and_then(Value::as_array) {
            unavailable += 1;
            for error in errors {
                assert_eq!(
                    error["extensions"]["code"], "SERVICE_UNAVAILABLE",
                    "{}",
                    seen.body
                );
            }
        }
    }
    let killed = killed.load(Ordering::SeqCst);
    eprintln!("{killed} connections killed; {unavailable} of 200 answers SERVICE_UNAVAILABLE");
    assert!(
        killed > 0,
        "the storm killed no connection: it proved nothing"
    );
    for _ in 0..5 {
        app.query(&token, QUERY, json!({})).await;
    }
}

/// Terminates every connection of the test server's pools (known by their
/// `application_name`, the test's schema, see `common.rs`), and no other test's
/// connection; returns how many.
async fn kill_connections(killer: &DatabaseConnection, config: &DbConfig) -> u64 {
    let name = config.application_name.clone().expect("named pool");
    let row = killer
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND application_name = $1",
            [name.into()],
        ))
        .await
        .expect("terminate");
    row.and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0)
        .try_into()
        .unwrap_or(0)
}

/// Holdings, transactions and snapshots stored for an item.
async fn counts(app: &TestApp, item_id: i64) -> (usize, usize, usize) {
    let state = stored_state(app, item_id).await;
    let count = |prefix: &str| state.iter().filter(|r| r.starts_with(prefix)).count();
    (count("holding "), count("transaction "), count("snapshot "))
}

/// Syncs whose connections are killed once mid-way, then again and again (PostgreSQL
/// only, as above): each either succeeds or fails as `SERVICE_UNAVAILABLE`; the data is
/// whole either way (the same counts as a clean re-sync) and no run stays `running`.
#[tokio::test]
async fn syncs_meeting_killed_connections_succeed_or_fail_cleanly() {
    let configure = |b: TestAppBuilder| b.with_user("alice", Scope::Write);
    let Some(app) = postgres_with_plaid(configure).await else {
        return;
    };
    let (_, token) = app.viewer();
    let item = link(&app, &token, "ins_109508").await;
    let clean = counts(&app, item.row.id).await;
    assert!(clean.0 > 0 && clean.1 > 0, "{clean:?}");
    let killer = killer(&app).await;
    set_scenario(app.simulator(), &item.plaid_item_id, |s| s.latency_ms = 100);

    for (round, every) in [(1, None), (2, Some(Duration::from_millis(10)))] {
        let ticket = start_manual_sync(&app, item.row.id, None).await;
        let outcome = ticket.outcome();
        tokio::pin!(outcome);
        // Round 1 kills once, 150 ms in (Plaid answers take 100 ms: the sync is
        // fetching); round 2 kills every 10 ms until the sync ends (at most 2,000 times).
        let mut kills = 0u32;
        let mut killed = 0;
        let outcome = loop {
            let pause = every.unwrap_or(Duration::from_millis(150));
            tokio::select! {
                outcome = &mut outcome => break outcome,
                () = tokio::time::sleep(pause) => {
                    if (every.is_some() && kills < 2000) || kills == 0 {
                        kills += 1;
                        killed += kill_connections(&killer, &app.db_config).await;
                    }
                }
            }
        };
        eprintln!("round {round}: {killed} connections killed");
        let code = outcome.error.as_ref().map(|e| e.code());
        eprintln!("round {round}: outcome {code:?}");
        assert!(
            code.is_none() || code == Some("SERVICE_UNAVAILABLE"),
            "round {round}: {code:?}"
        );
        let runs = runs_of(&app, item.row.id).await;
        assert!(
            runs.iter().all(|r| r.outcome != "running"),
            "round {round}: a run left running: {:?}",
            runs.last()
        );
        assert_eq!(counts(&app, item.row.id).await, clean, "round {round}");
    }

    app.simulator()
        .set_scenario(&item.plaid_item_id, Scenario::default());
    let row = item_row(&app, item.row.id).await;
    let outcome = app.sync().sync_item(row, Trigger::Manual, None, None).await;
    assert!(outcome.error.is_none(), "the clean re-sync");
    assert_eq!(
        counts(&app, item.row.id).await,
        clean,
        "after a clean re-sync"
    );
    assert!(
        runs_of(&app, item.row.id)
            .await
            .iter()
            .all(|r| r.outcome != "running")
    );
}

//! Several server replicas on one PostgreSQL database: advisory locks keep one sync per
//! item and one scheduled round at a time. (SQLite deployments are one process; there the
//! in-process bookkeeping is the lock, tested in `sync.rs`.)

use std::time::Duration;

use investments::auth::Scope;
use investments::db;
use investments::plaid::simulator::SimulatorConfig;
use investments::sync::{Trigger, scheduler};
use sea_orm::EntityTrait;

use crate::common::{
    Backend, TestApp, on_each_backend_as_alice, on_each_backend_with_plaid, post_graphql,
    sync_service,
};
use crate::plaid_support::*;

/// A second replica: its own pool and sync engine on the same database and Plaid.
async fn second_replica(app: &TestApp) -> investments::sync::SyncService {
    let pool = db::connect(&app.db_config).await.unwrap();
    sync_service(&pool, app.simulator(), None)
}

#[tokio::test]
async fn two_replicas_syncing_one_item_run_one_sync() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        if app.backend != Backend::Postgres {
            return;
        }
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        set_scenario(app.simulator(), &item.plaid_item_id, |s| s.latency_ms = 200);
        let other = second_replica(&app).await;
        let row = item_row(&app, item.row.id).await;
        let fetches = app.simulator().calls("/investments/holdings/get");
        let (a, b) = tokio::join!(
            app.sync()
                .sync_item(row.clone(), Trigger::Manual, None, None),
            other.sync_item(row, Trigger::Manual, None, None)
        );
        assert!(a.error.is_none() && b.error.is_none());
        assert_eq!(
            app.simulator().calls("/investments/holdings/get") - fetches,
            1,
            "one replica synced; the other waited and reports its result"
        );
        let (a, b) = (a.run.unwrap(), b.run.unwrap());
        assert_ne!(a.id, b.id, "each request has its own run");
        assert_eq!(
            (
                a.outcome.as_str(),
                a.holdings_upserted,
                a.transactions_upserted
            ),
            (
                b.outcome.as_str(),
                b.holdings_upserted,
                b.transactions_upserted
            ),
            "the waiting replica's run carries the other's result"
        );
        assert_eq!(runs_of(&app, item.row.id).await.len(), 3, "link + two runs");
    })
    .await;
}

#[tokio::test]
async fn one_scheduled_round_at_a_time_and_only_when_due() {
    on_each_backend_as_alice(SimulatorConfig::default(), |app, token| async move {
        let a = link(&app, &token, "ins_109508").await;
        link(&app, &token, "ins_109511").await;
        let hour = Duration::from_secs(3600);
        let round = scheduler::round_if_due(app.sync(), hour).await.unwrap();
        assert_eq!(round.map(|o| o.len()), Some(2), "the first round runs");
        assert!(
            scheduler::round_if_due(app.sync(), hour)
                .await
                .unwrap()
                .is_none(),
            "not due again within the interval"
        );
        assert_eq!(
            runs_of(&app, a.row.id).await.last().unwrap().trigger,
            "schedule"
        );
        assert!(
            scheduler::round_if_due(app.sync(), Duration::ZERO)
                .await
                .unwrap()
                .is_some()
        );

        if app.backend == Backend::Postgres {
            set_scenario(app.simulator(), &a.plaid_item_id, |s| s.latency_ms = 200);
            let other = second_replica(&app).await;
            let (x, y) = tokio::join!(
                scheduler::round_if_due(app.sync(), Duration::ZERO),
                scheduler::round_if_due(&other, Duration::ZERO)
            );
            let ran = [x.unwrap(), y.unwrap()]
                .iter()
                .filter(|r| r.is_some())
                .count();
            assert_eq!(ran, 1, "one replica ran the round");
        }
    })
    .await;
}

/// A second replica serving HTTP: its own pool, sync engine and router on a loopback port
/// (items linked through it register its webhook URL). Two in-process routers stand for two
/// processes: they share nothing but the database and Plaid.
async fn second_server(app: &TestApp) -> (String, investments::sync::SyncService) {
    let pool = db::connect(&app.db_config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sync = sync_service(
        &pool,
        app.simulator(),
        Some(format!("http://{addr}/webhooks/plaid")),
    );
    let router = investments::app::AppBuilder::new(pool)
        .clock(app.simulator().config().clock.clone())
        .sync(Some(sync.clone()))
        .router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), sync)
}

async fn post_to(
    base: &str,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    let body = serde_json::json!({ "query": query, "variables": variables });
    let (_, body) = post_graphql(&reqwest::Client::new(), base, Some(token), &body).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// Holdings and transactions stored for an item.
async fn row_counts(app: &TestApp, item_id: i64) -> (usize, usize) {
    let state = stored_state(app, item_id).await;
    let count = |prefix: &str| state.iter().filter(|r| r.starts_with(prefix)).count();
    (count("holding "), count("transaction "))
}

/// Two replicas, four items of one user sharing securities, and a storm: `refreshAll`
/// twice from each replica and three webhooks per item, all at once. Every run ends
/// (awaited by draining both sync engines), none failed (no deadlock), no row is
/// duplicated, and only runs that fetched asked Plaid for holdings (a run that waited for
/// the other replica reports its result).
#[tokio::test]
async fn a_storm_of_refreshes_and_webhooks_on_two_replicas() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        if app.backend != Backend::Postgres {
            return; // SQLite is one process: see the module's comment.
        }
        let (_, token) = app.user("alice", Scope::Write).await;
        let (other_url, other) = second_server(&app).await;
        let mut items = Vec::new();
        for institution in ["ins_109508", "ins_109509"] {
            items.push(link(&app, &token, institution).await.plaid_item_id);
        }
        for institution in ["ins_109510", "ins_109511"] {
            let data = post_to(
                &other_url,
                &token,
                LINK,
                serde_json::json!({ "institution": institution }),
            )
            .await;
            assert_eq!(
                data["sandboxLinkItem"]["syncRun"]["outcome"], "SUCCEEDED",
                "{data}"
            );
            items.push(
                data["sandboxLinkItem"]["item"]["plaidItemId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let rows = investments::db::entities::plaid_items::Entity::find()
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 4);
        let mut single = Vec::new();
        for row in &rows {
            single.push(row_counts(&app, row.id).await);
        }
        let before: std::collections::HashMap<i64, usize> = {
            let mut m = std::collections::HashMap::new();
            for row in &rows {
                m.insert(row.id, runs_of(&app, row.id).await.len());
            }
            m
        };
        for item in &items {
            set_scenario(app.simulator(), item, |s| s.latency_ms = 30);
        }
        let fetches = app.simulator().calls("/investments/holdings/get");
        const REFRESH_ALL: &str = "mutation { refreshAll { results { error { code } } } }";
        let refreshes = futures_util::future::join_all(
            [
                app.base_url.clone(),
                other_url.clone(),
                app.base_url.clone(),
                other_url.clone(),
            ]
            .into_iter()
            .map(|base| {
                let token = token.clone();
                async move { post_to(&base, &token, REFRESH_ALL, serde_json::json!({})).await }
            }),
        );
        let webhooks = futures_util::future::join_all(items.iter().cycle().take(12).map(|item| {
            app.simulator()
                .fire_webhook(item, "HOLDINGS", "DEFAULT_UPDATE", None)
        }));
        let (refreshed, delivered) = tokio::join!(refreshes, webhooks);
        for data in refreshed {
            for result in data["refreshAll"]["results"].as_array().unwrap() {
                assert_eq!(result["error"], serde_json::Value::Null, "{data}");
            }
        }
        for status in delivered {
            assert_eq!(status, Ok(200));
        }
        // Every sync started (follow-ups included) runs to its end.
        tokio::join!(
            app.sync().shutdown(Duration::from_secs(120)),
            other.shutdown(Duration::from_secs(120))
        );

        let mut fetching_runs = 0;
        for (row, counts) in rows.iter().zip(&single) {
            let runs = runs_of(&app, row.id).await;
            let storm = &runs[before[&row.id]..];
            assert!(!storm.is_empty(), "item {} synced in the storm", row.id);
            for run in storm {
                assert_eq!(run.outcome, "succeeded", "{run:?}");
                assert!(run.finished_at.is_some(), "{run:?}");
            }
            fetching_runs += storm.iter().filter(|r| r.window_start.is_some()).count();
            assert_eq!(&row_counts(&app, row.id).await, counts, "item {}", row.id);
        }
        let fetched = app.simulator().calls("/investments/holdings/get") - fetches;
        eprintln!("{fetching_runs} runs fetched, {fetched} holdings calls");
        assert_eq!(
            fetched as usize, fetching_runs,
            "only runs that fetched asked Plaid: the others reported another run's result"
        );
    })
    .await;
}

//! Syncs as supervised background work, on SQLite and PostgreSQL: a request only waits
//! (up to its `wait`) and a sync outlives it; webhooks during a run queue one follow-up
//! run; shutdown interrupts what outlives the grace period; runs left behind by a process
//! that is gone are marked abandoned.

use std::time::Duration;

use investments::auth::Scope;
use investments::db::unscoped::Unscoped;
use investments::plaid::simulator::{Scenario, SimulatorConfig};
use investments::sync::Trigger;
use serde_json::json;

use crate::common::{TestApp, on_each_backend_with_plaid};
use crate::plaid_support::{Linked, item_row, link, runs_of};

const REFRESH: &str = r#"mutation($id: ID!, $wait: Int) {
  refreshItem(input: {itemId: $id, wait: $wait}) {
    item { id }
    syncRun { id outcome phase trigger }
  }
}"#;

/// Makes every Plaid answer about the item take `ms` milliseconds.
fn slow(app: &TestApp, item: &Linked, ms: u64) {
    app.simulator().set_scenario(
        &item.plaid_item_id,
        Scenario {
            latency_ms: ms,
            ..Default::default()
        },
    );
}

#[tokio::test]
async fn a_sync_longer_than_the_wait_answers_running_and_finishes_anyway() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        slow(&app, &item, 400);
        let mut events = app.sync().subscribe();
        let data = app
            .query(&token, REFRESH, json!({ "id": item.id, "wait": 0 }))
            .await;
        let run = &data["refreshItem"]["syncRun"];
        assert_eq!(run["outcome"], "RUNNING", "{data}");
        assert!(
            ["QUEUED", "FETCHING"].contains(&run["phase"].as_str().unwrap()),
            "{data}"
        );
        // The sync goes on after the answer, and ends.
        let event = events.recv().await.unwrap();
        assert!(event.succeeded);
        let data = app
            .query(
                &token,
                "query($id: ID!) { node(id: $id) { ... on SyncRun { outcome phase } } }",
                json!({ "id": run["id"] }),
            )
            .await;
        assert_eq!(
            data["node"],
            json!({ "outcome": "SUCCEEDED", "phase": null })
        );
    })
    .await;
}

#[tokio::test]
async fn a_client_that_hangs_up_does_not_cut_the_sync() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        slow(&app, &item, 300);
        let mut events = app.sync().subscribe();
        // A client that gives up after 100 ms, long before the sync ends.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let sent = client
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&token)
            .json(&json!({ "query": REFRESH, "variables": { "id": item.id } }))
            .send()
            .await;
        assert!(sent.is_err(), "the client hung up");
        let event = events.recv().await.unwrap();
        assert!(event.succeeded, "the sync ran to its end");
        let runs = runs_of(&app, item.row.id).await;
        assert_eq!(runs.last().unwrap().outcome, "succeeded");
        assert_eq!(runs.last().unwrap().phase, None);
    })
    .await;
}

#[tokio::test]
async fn a_webhook_during_a_run_queues_one_follow_up_run() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        slow(&app, &item, 300);
        let mut events = app.sync().subscribe();
        let running = app
            .sync()
            .start_sync(
                item_row(&app, item.row.id).await,
                Trigger::Manual,
                None,
                None,
            )
            .unwrap();
        // Two webhooks while it runs: coalesced into one follow-up run.
        for _ in 0..2 {
            let status = app
                .simulator()
                .fire_webhook(&item.plaid_item_id, "HOLDINGS", "DEFAULT_UPDATE", None)
                .await
                .unwrap();
            assert_eq!(status, 200);
        }
        let first = events.recv().await.unwrap();
        let second = events.recv().await.unwrap();
        assert_eq!(
            (first.trigger, second.trigger),
            (Trigger::Manual, Trigger::Webhook)
        );
        assert!(first.succeeded && second.succeeded);
        // Whoever waited gets the last run's outcome.
        let outcome = running.outcome().await;
        assert_eq!(outcome.run.map(|r| r.id), second.run_id);
        let triggers: Vec<String> = runs_of(&app, item.row.id)
            .await
            .into_iter()
            .map(|r| r.trigger)
            .collect();
        assert_eq!(triggers, ["link", "manual", "webhook"]);
    })
    .await;
}

#[tokio::test]
async fn shutdown_interrupts_the_runs_that_outlive_the_grace_period() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        slow(&app, &item, 2_000);
        let ticket = app
            .sync()
            .start_sync(
                item_row(&app, item.row.id).await,
                Trigger::Manual,
                None,
                None,
            )
            .unwrap();
        app.sync().shutdown(Duration::from_millis(50)).await;
        let outcome = ticket.outcome().await;
        assert_eq!(outcome.error.map(|e| e.code()), Some("SERVICE_UNAVAILABLE"));
        let last = runs_of(&app, item.row.id).await.pop().unwrap();
        assert_eq!(last.outcome, "interrupted");
        assert!(last.finished_at.is_some());
        // No new sync starts once shutting down.
        let data = app
            .post(Some(&token), REFRESH, json!({ "id": item.id }))
            .await
            .1;
        assert_eq!(
            data["errors"][0]["extensions"]["code"],
            "SERVICE_UNAVAILABLE"
        );
    })
    .await;
}

#[tokio::test]
async fn runs_left_running_by_a_process_that_is_gone_are_marked_abandoned() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (user, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        // A run a crashed process left `running` an hour ago, and a fresh one.
        let now = chrono::Utc::now();
        let runs = Unscoped::new(&app.db).sync_runs();
        let old = runs
            .start(
                user,
                item.row.id,
                "manual",
                now - chrono::TimeDelta::hours(1),
            )
            .await
            .unwrap();
        let fresh = runs.start(user, item.row.id, "manual", now).await.unwrap();
        let mut updates = app.sync().run_updates();
        let abandoned = app.sync().recover_abandoned(false).await.unwrap();
        assert_eq!(abandoned, vec![old.id], "only a run older than 15 minutes");
        // Subscribers are told.
        let update = updates.recv().await.unwrap();
        assert_eq!((update.id, update.outcome.as_str()), (old.id, "abandoned"));
        let runs = runs_of(&app, item.row.id).await;
        let outcome_of = |id| runs.iter().find(|r| r.id == id).unwrap().outcome.clone();
        assert_eq!(outcome_of(old.id), "abandoned");
        assert_eq!(outcome_of(fresh.id), "running");
        // At a start on SQLite (one process), any run still running is abandoned.
        let at_start = app.sync().recover_abandoned(true).await.unwrap();
        match app.backend {
            crate::common::Backend::Sqlite => assert_eq!(at_start, vec![fresh.id]),
            crate::common::Backend::Postgres => assert!(at_start.is_empty()),
        }
    })
    .await;
}

#[tokio::test]
async fn a_wait_out_of_range_is_refused_before_any_sync() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        for wait in [-1, 51] {
            let code = app
                .error_code(&token, REFRESH, json!({ "id": item.id, "wait": wait }))
                .await;
            assert_eq!(code, "BAD_USER_INPUT", "wait {wait}");
        }
        assert_eq!(
            runs_of(&app, item.row.id).await.len(),
            1,
            "only the link's run"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refresh_at_the_institution_reads_once_plaid_announces_it() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        let refreshes = app.simulator().calls("/investments/refresh");
        let data = app
            .query(
                &token,
                r#"mutation($id: ID!) {
                  refreshItem(input: {itemId: $id, refreshAtInstitution: true}) {
                    syncRun { outcome trigger } } }"#,
                json!({ "id": item.id }),
            )
            .await;
        // Ended within the default 20 s wait: Plaid's webhook, not the 120 s timeout,
        // let the run read.
        assert_eq!(
            data["refreshItem"]["syncRun"]["outcome"], "SUCCEEDED",
            "{data}"
        );
        assert_eq!(app.simulator().calls("/investments/refresh") - refreshes, 1);
        // The webhook woke the waiting run; it started no follow-up run.
        let triggers: Vec<String> = runs_of(&app, item.row.id)
            .await
            .into_iter()
            .map(|r| r.trigger)
            .collect();
        assert_eq!(triggers, ["link", "manual"]);
    })
    .await;
}

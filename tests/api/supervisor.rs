//! Syncs as supervised background work, on SQLite and PostgreSQL: a request only waits
//! (up to its `wait`) and a sync outlives it; webhooks during a run queue one follow-up
//! run; shutdown interrupts what outlives the grace period; runs left behind by a process
//! that is gone are marked abandoned.

use std::future::Future;
use std::time::Duration;

use investments::db::unscoped::Unscoped;
use investments::plaid::simulator::SimulatorConfig;
use investments::sync::{SyncEvent, Trigger};
use serde_json::json;
use tokio::sync::broadcast::Receiver;

use crate::common::TestApp;
use crate::plaid_support::{
    Linked, holdings_update, on_each_backend_linked, runs_of, set_scenario, start_manual_sync,
};

const REFRESH: &str = r#"mutation($id: ID!, $wait: Int) {
  refreshItem(input: {itemId: $id, wait: $wait}) {
    item { id }
    syncRun { id outcome phase trigger }
  }
}"#;

/// Makes every Plaid answer about the item take `ms` milliseconds; returns the sync
/// engine's events from then on.
fn slow(app: &TestApp, item: &Linked, ms: u64) -> Receiver<SyncEvent> {
    set_scenario(app.simulator(), &item.plaid_item_id, |s| s.latency_ms = ms);
    app.sync().subscribe()
}

/// Runs `test` once per backend on a server where alice linked an item whose Plaid
/// answers then take `ms` milliseconds: `test(app, alice's token, the item, the sync
/// engine's events from then on)`.
async fn on_each_backend_slowed<F, Fut>(ms: u64, test: F)
where
    F: Fn(TestApp, String, Linked, Receiver<SyncEvent>) -> Fut,
    Fut: Future<Output = ()>,
{
    let test = &test;
    on_each_backend_linked(SimulatorConfig::default(), |app, token, item| async move {
        let events = slow(&app, &item, ms);
        test(app, token, item, events).await;
    })
    .await;
}

#[tokio::test]
async fn a_sync_longer_than_the_wait_answers_running_and_finishes_anyway() {
    on_each_backend_slowed(400, |app, token, item, mut events| async move {
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
    on_each_backend_slowed(300, |app, token, item, mut events| async move {
        // A client that gives up after 100 ms, long before the sync ends.
        let sent = app
            .request(reqwest::Method::POST, "/graphql")
            .timeout(Duration::from_millis(100))
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
    on_each_backend_slowed(300, |app, _, item, mut events| async move {
        let running = start_manual_sync(&app, item.row.id, None).await;
        // Two webhooks while it runs: coalesced into one follow-up run.
        for _ in 0..2 {
            let status = holdings_update(&app, &item).await;
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
    on_each_backend_linked(SimulatorConfig::default(), |app, token, item| async move {
        slow(&app, &item, 2_000);
        let ticket = start_manual_sync(&app, item.row.id, None).await;
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
    on_each_backend_linked(SimulatorConfig::default(), |app, _, item| async move {
        let (user, _) = app.viewer();
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
    on_each_backend_linked(SimulatorConfig::default(), |app, token, item| async move {
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
    on_each_backend_linked(SimulatorConfig::default(), |app, token, item| async move {
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

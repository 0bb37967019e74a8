//! Several server replicas on one PostgreSQL database: advisory locks keep one sync per
//! item and one scheduled round at a time. (SQLite deployments are one process; there the
//! in-process bookkeeping is the lock, tested in `sync.rs`.)

use std::time::Duration;

use investments::auth::Scope;
use investments::db;
use investments::plaid::simulator::{Scenario, SimulatorConfig};
use investments::sync::{Trigger, scheduler};

use crate::common::{Backend, TestApp, on_each_backend_with_plaid, sync_service};
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
        app.simulator().set_scenario(
            &item.plaid_item_id,
            Scenario {
                latency_ms: 200,
                ..Default::default()
            },
        );
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
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
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
            app.simulator().set_scenario(
                &a.plaid_item_id,
                Scenario {
                    latency_ms: 200,
                    ..Default::default()
                },
            );
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

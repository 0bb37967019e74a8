//! Concurrent syncs of one user's items, which share securities: rounds of `refreshAll`
//! (four items at a time) must never deadlock or fail, on SQLite and PostgreSQL.

use investments::plaid::simulator::SimulatorConfig;
use serde_json::json;

use crate::common::on_each_backend_as_alice;
use crate::plaid_support::link;

#[tokio::test]
async fn items_sharing_securities_sync_concurrently_without_deadlocks() {
    let config = SimulatorConfig {
        transactions_per_item: 200,
        ..Default::default()
    };
    on_each_backend_as_alice(config, |app, token| async move {
        // Every simulated item holds the same catalogue of securities (same seed).
        for institution in ["ins_109508", "ins_109509", "ins_109510", "ins_109511"] {
            link(&app, &token, institution).await;
        }
        for round in 0..10 {
            let data = app
                .query(
                    &token,
                    "mutation { refreshAll { results { syncRun { outcome } error { code } } } }",
                    json!({}),
                )
                .await;
            let results = data["refreshAll"]["results"].as_array().unwrap();
            assert_eq!(results.len(), 4);
            for r in results {
                assert_eq!(r["error"], json!(null), "round {round}: {r}");
                assert_eq!(r["syncRun"]["outcome"], "SUCCEEDED", "round {round}: {r}");
            }
        }
    })
    .await;
}

//! The operations surface over real HTTP, on SQLite and PostgreSQL: the `x-request-id`
//! header.

use serde_json::json;

use crate::common::on_each_backend;

#[tokio::test]
async fn every_response_carries_a_request_id() {
    on_each_backend(|app| async move {
        let made = app.get("/healthz", &[]).await;
        assert_eq!(made.status().as_u16(), 200);
        let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "a UUID: {id}");
        let again = app.get("/healthz", &[]).await;
        assert_ne!(again.headers()["x-request-id"], id.as_str());

        let echoed = app
            .get("/healthz", &[("x-request-id", "trace-abc-123")])
            .await;
        assert_eq!(echoed.headers()["x-request-id"], "trace-abc-123");

        // Refusals too.
        let (status, _) = app.post(None, "{ viewer { name } }", json!({})).await;
        assert_eq!(status, 401);
        let refused = app
            .get("/export/holdings.csv", &[("x-request-id", "trace-refused")])
            .await;
        assert_eq!(refused.status().as_u16(), 401);
        assert_eq!(refused.headers()["x-request-id"], "trace-refused");
    })
    .await;
}

//! `POST /webhooks/plaid`: only exactly verified webhooks act.

use investments::auth::Scope;
use investments::plaid::simulator::{Scenario, Simulator, SimulatorConfig};
use serde_json::json;
use tokio::sync::broadcast::error::TryRecvError;

use crate::common::{TestApp, on_each_backend_with_plaid};
use crate::plaid_support::*;

async fn post_webhook(app: &TestApp, header: Option<&str>, body: &[u8]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/plaid", app.base_url))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(header) = header {
        request = request.header("Plaid-Verification", header);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn verified_updates_start_a_sync_and_answer_at_once() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        let mut events = app.sync().subscribe();
        // A slow Plaid: the sync takes a while; the webhook's answer must not wait for it.
        app.simulator().set_scenario(
            &item.plaid_item_id,
            Scenario {
                latency_ms: 300,
                ..Default::default()
            },
        );
        let status = app
            .simulator()
            .fire_webhook(&item.plaid_item_id, "HOLDINGS", "DEFAULT_UPDATE", None)
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert!(
            matches!(events.try_recv(), Err(TryRecvError::Empty)),
            "answered before the sync finished"
        );
        let event = events.recv().await.unwrap();
        assert_eq!(event.item_id, item.row.id);
        assert!(event.succeeded);
        let runs = runs_of(&app, item.row.id).await;
        assert_eq!(runs.last().unwrap().trigger, "webhook");
        assert_eq!(runs.last().unwrap().outcome, "succeeded");

        app.simulator()
            .set_scenario(&item.plaid_item_id, Scenario::default());
        let status = app
            .simulator()
            .fire_webhook(
                &item.plaid_item_id,
                "INVESTMENTS_TRANSACTIONS",
                "DEFAULT_UPDATE",
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert!(events.recv().await.unwrap().succeeded);
        assert_eq!(runs_of(&app, item.row.id).await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn item_webhooks_set_the_status() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        let error = investments::plaid::types::PlaidErrorBody {
            error_type: "ITEM_ERROR".into(),
            error_code: "ITEM_LOGIN_REQUIRED".into(),
            error_code_reason: None,
            error_message: "the login details of this item have changed".into(),
            display_message: None,
            request_id: None,
            status: Some(400),
            documentation_url: None,
            suggested_action: None,
        };
        let sim = app.simulator();
        let status_of = || async { item_row(&app, item.row.id).await.status };
        assert_eq!(
            sim.fire_webhook(&item.plaid_item_id, "ITEM", "ERROR", Some(error))
                .await,
            Ok(200)
        );
        assert_eq!(status_of().await, "login_required");
        assert_eq!(
            item_row(&app, item.row.id).await.error_code.as_deref(),
            Some("ITEM_LOGIN_REQUIRED")
        );
        assert_eq!(
            sim.fire_webhook(&item.plaid_item_id, "ITEM", "LOGIN_REPAIRED", None)
                .await,
            Ok(200)
        );
        assert_eq!(status_of().await, "healthy");
        assert_eq!(item_row(&app, item.row.id).await.error_code, None);
        assert_eq!(
            sim.fire_webhook(&item.plaid_item_id, "ITEM", "PENDING_DISCONNECT", None)
                .await,
            Ok(200)
        );
        assert_eq!(status_of().await, "pending_disconnect");
        assert_eq!(
            sim.fire_webhook(&item.plaid_item_id, "ITEM", "PENDING_EXPIRATION", None)
                .await,
            Ok(200)
        );
        assert_eq!(status_of().await, "pending_expiration");
        assert!(
            item_row(&app, item.row.id)
                .await
                .consent_expiration_time
                .is_some()
        );
        // Unknown kinds are acknowledged and ignored.
        assert_eq!(
            sim.fire_webhook(
                &item.plaid_item_id,
                "ITEM",
                "WEBHOOK_UPDATE_ACKNOWLEDGED",
                None
            )
            .await,
            Ok(200)
        );
        assert_eq!(status_of().await, "pending_expiration");
        let data = app
            .query(&token, "{ items { nodes { status } } }", json!({}))
            .await;
        assert_eq!(data["items"]["nodes"][0]["status"], "PENDING_EXPIRATION");
    })
    .await;
}

#[tokio::test]
async fn unverified_webhooks_get_401_and_change_nothing() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, token) = app.user("alice", Scope::Write).await;
        let item = link(&app, &token, "ins_109508").await;
        let sim = app.simulator();
        let now = chrono::Utc::now().timestamp();
        let body = sim.webhook_body(&item.plaid_item_id, "HOLDINGS", "DEFAULT_UPDATE");
        let good = sim.sign_webhook(&body, now);
        let runs_before = runs_of(&app, item.row.id).await.len();

        // Another key with the same kid: the signature does not verify.
        let impostor = Simulator::start(SimulatorConfig::default()).await.unwrap();
        let forged = impostor.sign_webhook(&body, now);
        // Signed for other bytes (the hash covers the body exactly as sent, whitespace too).
        let mut tampered = body.clone();
        tampered.extend_from_slice(b"\n");
        let other_item = sim.webhook_body("some-other-item", "HOLDINGS", "DEFAULT_UPDATE");
        // Too old.
        let stale = sim.sign_webhook(&body, now - 6 * 60);
        // Not ES256.
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({ "iat": now, "request_body_sha256": "00" }),
            &jsonwebtoken::EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        let cases: Vec<(&str, Option<&str>, &[u8])> = vec![
            ("no header", None, &body),
            ("garbage", Some("not.a.jwt"), &body),
            ("forged", Some(&forged), &body),
            ("tampered", Some(&good), &tampered),
            ("other body", Some(&good), &other_item),
            ("stale", Some(&stale), &body),
            ("HS256", Some(&hs256), &body),
        ];
        for (case, header, sent) in cases {
            assert_eq!(post_webhook(&app, header, sent).await, 401, "{case}");
        }
        assert_eq!(
            runs_of(&app, item.row.id).await.len(),
            runs_before,
            "nothing ran"
        );

        let mut events = app.sync().subscribe();
        assert_eq!(
            post_webhook(&app, Some(&good), &body).await,
            200,
            "the genuine one"
        );
        assert!(events.recv().await.unwrap().succeeded);
        assert_eq!(runs_of(&app, item.row.id).await.len(), runs_before + 1);
    })
    .await;
}

#[tokio::test]
async fn expired_verification_keys_are_refused() {
    let app =
        TestApp::start_with_plaid(crate::common::Backend::Sqlite, SimulatorConfig::default()).await;
    let (_, token) = app.user("alice", Scope::Write).await;
    let item = link(&app, &token, "ins_109508").await;
    app.simulator().expire_verification_key();
    let status = app
        .simulator()
        .fire_webhook(&item.plaid_item_id, "HOLDINGS", "DEFAULT_UPDATE", None)
        .await
        .unwrap();
    assert_eq!(status, 401);
    assert_eq!(runs_of(&app, item.row.id).await.len(), 1);
}

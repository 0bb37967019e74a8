//! `POST /webhooks/plaid`: only exactly verified webhooks act.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use investments::clock::Clock;
use investments::plaid::simulator::{Scenario, Simulator, SimulatorConfig};
use investments::sync::webhook::{
    KEY_FETCH_BURST, KEY_FETCH_REFILL_SECONDS, KEY_TTL_SECONDS, REFRESH_COOLDOWN_SECONDS,
    REFUSED_KID_SECONDS,
};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::TryRecvError;

use crate::common::{TestApp, on_each_backend_with_plaid};
use crate::plaid_support::*;

async fn post_webhook(app: &TestApp, header: Option<&str>, body: &[u8]) -> u16 {
    let mut request = app
        .request(reqwest::Method::POST, "/webhooks/plaid")
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(header) = header {
        request = request.header("Plaid-Verification", header);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn verified_updates_start_a_sync_and_answer_at_once() {
    on_each_backend_linked(SimulatorConfig::default(), |app, _, item| async move {
        let mut events = app.sync().subscribe();
        // A slow Plaid: the sync takes a while; the webhook's answer must not wait for it.
        set_scenario(app.simulator(), &item.plaid_item_id, |s| s.latency_ms = 300);
        let status = holdings_update(&app, &item).await;
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
    on_each_backend_linked(SimulatorConfig::default(), |app, token, item| async move {
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
    on_each_backend_linked(SimulatorConfig::default(), |app, _, item| async move {
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
    on_each_backend_linked(SimulatorConfig::default(), |app, _, item| async move {
        app.simulator().expire_verification_key();
        let status = holdings_update(&app, &item).await;
        assert_eq!(status, 401);
        assert_eq!(runs_of(&app, item.row.id).await.len(), 1);
        assert_eq!(app.simulator().calls(KEY_GET), 1);
    })
    .await;
}

// Key fetches: what a stranger can make the server ask Plaid.

const KEY_GET: &str = "/webhook_verification_key/get";

/// A simulator (and server) on a manual clock, so that tests move time.
fn manual_clock() -> SimulatorConfig {
    SimulatorConfig {
        clock: Clock::manual("2026-03-02T12:00:00Z".parse().unwrap()),
        ..Default::default()
    }
}

fn now(app: &TestApp) -> i64 {
    app.simulator().config().clock.now().timestamp()
}

fn advance(app: &TestApp, seconds: i64) {
    let clock = &app.simulator().config().clock;
    clock.set(clock.now() + chrono::Duration::seconds(seconds));
}

fn key_fetches(app: &TestApp) -> u64 {
    app.simulator().calls(KEY_GET)
}

/// A webhook about no item of ours, as the simulator signs it now: verified, then
/// acknowledged and ignored (`200`).
fn genuine(app: &TestApp) -> (Vec<u8>, String) {
    let sim = app.simulator();
    let body = sim.webhook_body("not-an-item-of-ours", "ITEM", "WEBHOOK_UPDATE_ACKNOWLEDGED");
    let jwt = sim.sign_webhook(&body, now(app));
    (body, jwt)
}

async fn post_genuine(app: &TestApp) -> u16 {
    let (body, jwt) = genuine(app);
    post_webhook(app, Some(&jwt), &body).await
}

/// Posts every webhook of `flood` (body, `Plaid-Verification` header) at once: each must be
/// refused with 401.
async fn assert_all_refused(app: &TestApp, flood: &[(Vec<u8>, String)]) {
    let statuses = join_all(
        flood
            .iter()
            .map(|(body, jwt)| post_webhook(app, Some(jwt), body)),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
}

/// Posts a genuine webhook, which must be answered `status` with `fetches` verification
/// keys fetched so far.
async fn assert_genuine(app: &TestApp, status: u16, fetches: u64) {
    assert_eq!(post_genuine(app).await, status);
    assert_eq!(key_fetches(app), fetches);
}

/// `jwt` with its header replaced by `header` (its signature then matches nothing).
fn with_header(jwt: &str, header: Value) -> String {
    let (_, rest) = jwt.split_once('.').unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

/// A well-formed ES256 token naming `kid`, not signed by Plaid.
fn forged(app: &TestApp, kid: &str) -> (Vec<u8>, String) {
    let (body, jwt) = genuine(app);
    let jwt = with_header(&jwt, json!({ "alg": "ES256", "kid": kid, "typ": "JWT" }));
    (body, jwt)
}

#[tokio::test]
async fn other_algorithms_and_missing_kids_are_refused_before_any_key_fetch() {
    on_each_backend_with_plaid(manual_clock(), |app| async move {
        let kid = app.simulator().verification_key_id();
        let (body, good) = genuine(&app);
        let mut hs256_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hs256_header.kid = Some(kid.clone());
        let hs256 = jsonwebtoken::encode(
            &hs256_header,
            &json!({ "iat": now(&app), "request_body_sha256": "00" }),
            &jsonwebtoken::EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        let (_, claims_and_signature) = good.split_once('.').unwrap();
        let claims = claims_and_signature.split('.').next().unwrap();
        let none = format!(
            "{}.{claims}.",
            URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "kid": kid }).to_string())
        );
        let cases = [
            ("HS256", hs256),
            ("none", none),
            (
                "ES384",
                with_header(&good, json!({ "alg": "ES384", "kid": kid })),
            ),
            (
                "RS256",
                with_header(&good, json!({ "alg": "RS256", "kid": kid })),
            ),
            ("no kid", with_header(&good, json!({ "alg": "ES256" }))),
            (
                "empty kid",
                with_header(&good, json!({ "alg": "ES256", "kid": "" })),
            ),
            (
                "huge kid",
                with_header(&good, json!({ "alg": "ES256", "kid": "k".repeat(300) })),
            ),
        ];
        for (case, jwt) in &cases {
            assert_eq!(post_webhook(&app, Some(jwt), &body).await, 401, "{case}");
        }
        assert_eq!(key_fetches(&app), 0, "no key fetched");
        assert_eq!(post_webhook(&app, Some(&good), &body).await, 200);
        assert_eq!(key_fetches(&app), 1);
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_forged_kids_makes_a_bounded_number_of_key_fetches() {
    on_each_backend_with_plaid(manual_clock(), |app| async move {
        let flood: Vec<_> = (0..200)
            .map(|i| forged(&app, &format!("forged-{i}")))
            .collect();
        assert_all_refused(&app, &flood).await;
        assert_eq!(key_fetches(&app), u64::from(KEY_FETCH_BURST));

        // The flood spent the budget: a genuine new key waits for it to refill (Plaid
        // retries a refused delivery).
        assert_genuine(&app, 401, u64::from(KEY_FETCH_BURST)).await;
        advance(&app, KEY_FETCH_REFILL_SECONDS);
        assert_genuine(&app, 200, u64::from(KEY_FETCH_BURST) + 1).await;

        // The flood again, a minute later: the refused kids are not asked about again,
        // the others only as fast as the budget refills.
        advance(&app, 60);
        assert_all_refused(&app, &flood).await;
        assert_eq!(
            key_fetches(&app),
            u64::from(KEY_FETCH_BURST) + 1 + u64::from(KEY_FETCH_BURST)
        );
    })
    .await;
}

#[tokio::test]
async fn a_kid_plaid_refused_is_not_fetched_again_for_a_while() {
    on_each_backend_with_plaid(manual_clock(), |app| async move {
        let (body, jwt) = forged(&app, "no-such-kid");
        assert_eq!(post_webhook(&app, Some(&jwt), &body).await, 401);
        assert_eq!(post_webhook(&app, Some(&jwt), &body).await, 401);
        assert_eq!(key_fetches(&app), 1, "the same forged kid is fetched once");
        advance(&app, REFUSED_KID_SECONDS - 1);
        assert_eq!(post_webhook(&app, Some(&jwt), &body).await, 401);
        assert_eq!(key_fetches(&app), 1);
        advance(&app, 1);
        assert_eq!(post_webhook(&app, Some(&jwt), &body).await, 401);
        assert_eq!(
            key_fetches(&app),
            2,
            "asked again once the refusal has expired"
        );
    })
    .await;
}

#[tokio::test]
async fn valid_webhooks_verify_with_one_key_fetch() {
    on_each_backend_with_plaid(manual_clock(), |app| async move {
        // Simultaneous first deliveries share one fetch.
        let deliveries: Vec<_> = (0..20).map(|_| genuine(&app)).collect();
        let statuses = join_all(
            deliveries
                .iter()
                .map(|(body, jwt)| post_webhook(&app, Some(jwt), body)),
        )
        .await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(key_fetches(&app), 1);
        // Within the key's time to live, the cached key serves.
        for _ in 0..10 {
            advance(&app, (KEY_TTL_SECONDS - 1) / 10);
            assert_eq!(post_genuine(&app).await, 200);
        }
        assert_eq!(key_fetches(&app), 1);
        // Then it is fetched again, once.
        advance(&app, 10);
        assert_eq!(post_genuine(&app).await, 200);
        assert_genuine(&app, 200, 2).await;
    })
    .await;
}

#[tokio::test]
async fn expired_keys_are_dropped_and_rotated_keys_are_fetched() {
    on_each_backend_with_plaid(manual_clock(), |app| async move {
        let sim = app.simulator();
        let (old_body, old_jwt) = genuine(&app);
        assert_eq!(post_webhook(&app, Some(&old_jwt), &old_body).await, 200);
        assert_eq!(key_fetches(&app), 1);

        sim.expire_verification_key();
        // The cached key is used until its time to live is over...
        assert_genuine(&app, 200, 1).await;
        // ...then refetched: Plaid says it expired, so it is dropped and refused, and
        // not asked about again.
        advance(&app, KEY_TTL_SECONDS);
        assert_genuine(&app, 401, 2).await;
        assert_genuine(&app, 401, 2).await;

        // Plaid signs with a new key: fetched once, then cached.
        let old_kid = sim.verification_key_id();
        let new_kid = sim.rotate_verification_key();
        assert_ne!(new_kid, old_kid);
        for _ in 0..5 {
            assert_eq!(post_genuine(&app).await, 200);
        }
        assert_eq!(key_fetches(&app), 3);
    })
    .await;
}

#[tokio::test]
async fn a_known_key_that_fails_to_verify_is_refetched_at_most_once_a_minute() {
    on_each_backend_with_plaid(manual_clock(), |app| async move {
        assert_genuine(&app, 200, 1).await;
        // Another key under the same kid (same seed): a well-formed token that does not
        // verify with the cached key.
        let impostor = Simulator::start(manual_clock()).await.unwrap();
        assert_eq!(
            impostor.verification_key_id(),
            app.simulator().verification_key_id()
        );
        let forge = |app: &TestApp| {
            let body = impostor.webhook_body("x", "ITEM", "WEBHOOK_UPDATE_ACKNOWLEDGED");
            let jwt = impostor.sign_webhook(&body, now(app));
            (body, jwt)
        };
        let (body, jwt) = forge(&app);
        assert_eq!(post_webhook(&app, Some(&jwt), &body).await, 401);
        assert_eq!(key_fetches(&app), 1, "just fetched: not again");

        advance(&app, REFRESH_COOLDOWN_SECONDS);
        for _ in 0..5 {
            let (body, jwt) = forge(&app);
            assert_eq!(post_webhook(&app, Some(&jwt), &body).await, 401);
        }
        assert_eq!(key_fetches(&app), 2, "refetched once");
        assert_genuine(&app, 200, 2).await;
    })
    .await;
}

//! Per-token fairness over HTTP on both databases: a token over its rate gets `429` with
//! `Retry-After` and `RATE_LIMITED` on `/graphql`, the CSV export and the WebSocket, while
//! other tokens and unauthenticated requests are not counted against it. Time is the
//! server's manual clock, moved by the test.

use std::num::NonZeroU32;
use std::time::Duration;

use futures_util::StreamExt;
use investments::auth::Scope;
use investments::clock::Clock;
use investments::http::{HttpOptions, RateLimit};
use investments::plaid::simulator::SimulatorConfig;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{TestApp, TestAppBuilder, on_each_backend_with};
use crate::subscriptions::open_socket;

const VIEWER: &str = "{ viewer { name } }";

/// A server limited to 2 requests a second per token with bursts of 3, on a manual clock
/// the test moves (the simulator's, which the server shares).
fn limited(builder: TestAppBuilder) -> TestAppBuilder {
    let options = HttpOptions {
        rate_limit: Some(RateLimit {
            per_second: NonZeroU32::new(2).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
        }),
        ..Default::default()
    };
    let config = SimulatorConfig {
        clock: Clock::manual(chrono::Utc::now()),
        ..Default::default()
    };
    builder.with_plaid(config).with_http(options)
}

/// [`limited`], with alice's read token ready.
fn limited_for_alice(builder: TestAppBuilder) -> TestAppBuilder {
    limited(builder).with_user("alice", Scope::Read)
}

/// Moves the server's clock forward.
fn advance(app: &TestApp, by: Duration) {
    let clock = &app.simulator().config().clock;
    clock.set(clock.now() + by);
}

/// The status of a `/graphql` request with `token`.
async fn status(app: &TestApp, token: &str) -> u16 {
    app.post(Some(token), VIEWER, json!({})).await.0
}

/// Asserts a rate-limited answer: 429, `Retry-After` in whole seconds, and the GraphQL
/// error body with its code.
async fn assert_limited(response: reqwest::Response, retry_after: &str) {
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()["retry-after"],
        retry_after,
        "whole seconds, rounded up"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rate"),
        "{body}"
    );
    assert!(
        body.get("data").is_none(),
        "refused before execution: {body}"
    );
}

async fn graphql(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app
        .request(reqwest::Method::POST, "/graphql")
        .json(&json!({ "query": VIEWER }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn export(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(reqwest::Method::GET, "/export/holdings.csv")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_over_its_rate_is_refused_until_it_has_waited() {
    on_each_backend_with(limited_for_alice, |app| async move {
        let (_, token) = app.viewer();
        // A burst of 3 at once...
        for _ in 0..3 {
            assert_eq!(status(&app, &token).await, 200);
        }
        // ...then one request every 1 / 2 s = 500 ms: the 4th comes back in 500 ms,
        // which `Retry-After` rounds up to 1 s.
        assert_limited(graphql(&app, Some(&token)).await, "1").await;
        // The CSV export counts against the same token.
        assert_limited(export(&app, &token).await, "1").await;

        // Refusals took nothing: 500 ms later exactly one request's allowance is back.
        advance(&app, Duration::from_millis(500));
        assert_eq!(export(&app, &token).await.status(), 200);
        assert_limited(graphql(&app, Some(&token)).await, "1").await;
        // 1.5 s of quiet (3 × 500 ms): the whole burst is back.
        advance(&app, Duration::from_millis(1500));
        for _ in 0..3 {
            assert_eq!(status(&app, &token).await, 200);
        }
        assert_eq!(status(&app, &token).await, 429);
    })
    .await;
}

#[tokio::test]
async fn one_token_s_limit_does_not_touch_other_tokens_or_anonymous_requests() {
    on_each_backend_with(limited, |app| async move {
        let (alice, first) = app.user("alice", Scope::Read).await;
        let (alice_again, second) = app.user("alice", Scope::Write).await;
        assert_eq!(alice, alice_again, "two tokens of one user");
        let (_, bob) = app.user("bob", Scope::Read).await;

        // Requests without a token, or with one that is not valid, are refused as
        // unauthenticated, never as rate limited: they are counted against no one.
        for token in [None, Some("inv_not-a-token"), Some("nonsense")] {
            for _ in 0..4 {
                assert_eq!(graphql(&app, token).await.status(), 401);
            }
        }
        for _ in 0..3 {
            assert_eq!(status(&app, &first).await, 200);
        }
        assert_eq!(status(&app, &first).await, 429);
        // The same user's other token and another user each have their own burst of 3.
        for token in [&second, &bob] {
            for _ in 0..3 {
                assert_eq!(status(&app, token).await, 200);
            }
            assert_eq!(status(&app, token).await, 429);
        }
    })
    .await;
}

#[tokio::test]
async fn a_websocket_connection_counts_as_a_request() {
    on_each_backend_with(limited_for_alice, |app| async move {
        let (_, token) = app.viewer();
        for _ in 0..3 {
            assert_eq!(status(&app, &token).await, 200);
        }
        let mut socket = open_socket(&app, &format!("Bearer {token}")).await;
        // The server refuses the connection instead of acknowledging it.
        let reason = loop {
            match socket.next().await.expect("an answer").unwrap() {
                Message::Close(Some(frame)) => break frame.reason.to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected the connection refused, got {other:?}"),
            }
        };
        assert!(reason.contains("rate"), "{reason}");
    })
    .await;
}

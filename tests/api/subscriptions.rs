//! Live sync progress over a real WebSocket with the `graphql-transport-ws` protocol (what
//! Apollo Client's `GraphQLWsLink` and urql's `subscriptionExchange` speak), on SQLite
//! and PostgreSQL.

use futures_util::{SinkExt, StreamExt};
use investments::auth::Scope;
use investments::plaid::simulator::SimulatorConfig;
use investments::sync::Trigger;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::{TestApp, on_each_backend_with_plaid};
use crate::plaid_support::{item_row, link, set_scenario, start_manual_sync};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` socket to the server, which sent `connection_init` with the
/// `authorization` header value (its answer is for the caller to read).
pub(crate) async fn open_socket(app: &TestApp, authorization: &str) -> Socket {
    let url = format!("{}/graphql/ws", app.base_url.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "Authorization": authorization } });
    send(&mut socket, init).await;
    socket
}

/// A `graphql-transport-ws` client: connects, initialises with `token`, and returns the
/// socket once the server acknowledged.
pub(crate) async fn connect(app: &TestApp, token: &str) -> Socket {
    let mut socket = open_socket(app, &format!("Bearer {token}")).await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    socket
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// Longest a test waits for one message: a hang fails the test instead of stalling CI.
const MESSAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The next protocol message (pings answered on the way).
pub(crate) async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(MESSAGE_WAIT, socket.next())
            .await
            .expect("a message within 30 s");
        match message.expect("socket open").unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Subscribes, then makes sure the server has taken the subscription in (two protocol
/// ping/pong round trips, processed in order after it).
async fn subscribe(socket: &mut Socket, query: &str) {
    send(
        socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    for _ in 0..2 {
        send(socket, json!({ "type": "ping" })).await;
        assert_eq!(next(socket).await["type"], "pong");
    }
}

const SUBSCRIPTION: &str = "subscription { syncRunUpdated {
    id outcome phase trigger transactionPagesFetched transactionPagesTotal
    item { plaidItemId } } }";

#[tokio::test]
async fn a_sync_is_seen_through_every_phase_in_order() {
    let config = SimulatorConfig {
        transactions_per_item: 1200,
        ..Default::default()
    };
    on_each_backend_with_plaid(config, |app| async move {
        let (_, token) = app.user("alice", Scope::Read).await;
        let (_, writer) = app.user("alice", Scope::Write).await;
        let item = link(&app, &writer, "ins_109508").await;
        // Slower than a request would wait: the subscription still sees it end.
        set_scenario(app.simulator(), &item.plaid_item_id, |s| s.latency_ms = 200);
        let mut socket = connect(&app, &token).await; // a read token may subscribe
        subscribe(&mut socket, SUBSCRIPTION).await;
        // The whole history: 1,200 generated rows over 24 months, several pages of 500
        // (how many fall in the window depends on the generated dates: n is read).
        let start = chrono::Utc::now().date_naive() - chrono::Days::new(729);
        start_manual_sync(&app, item.row.id, Some(start)).await;
        let mut seen = Vec::new();
        loop {
            let message = next(&mut socket).await;
            assert_eq!(message["type"], "next", "{message}");
            let run = &message["payload"]["data"]["syncRunUpdated"];
            assert_eq!(run["item"]["plaidItemId"], json!(item.plaid_item_id));
            seen.push((
                run["outcome"].as_str().unwrap().to_owned(),
                run["phase"].as_str().unwrap_or("-").to_owned(),
                run["transactionPagesFetched"].as_i64().unwrap(),
                run["transactionPagesTotal"].as_i64(),
            ));
            if run["outcome"] != "RUNNING" {
                break;
            }
        }
        let n = seen[2].3.expect("the first page gave the total");
        assert!(n >= 2, "several pages: {seen:?}");
        let step = |outcome: &str, phase: &str, k: i64, total: Option<i64>| {
            (outcome.to_owned(), phase.to_owned(), k, total)
        };
        let mut expected = vec![
            step("RUNNING", "QUEUED", 0, None),
            step("RUNNING", "FETCHING", 0, None),
        ];
        expected.extend((1..=n).map(|k| step("RUNNING", "FETCHING", k, Some(n))));
        expected.push(step("RUNNING", "STORING", n, Some(n)));
        expected.push(step("SUCCEEDED", "-", n, Some(n)));
        assert_eq!(seen, expected);
    })
    .await;
}

#[tokio::test]
async fn another_users_runs_never_arrive_and_a_bad_token_is_refused() {
    on_each_backend_with_plaid(SimulatorConfig::default(), |app| async move {
        let (_, alice) = app.user("alice", Scope::Write).await;
        let (_, bob) = app.user("bob", Scope::Read).await;
        let alices = link(&app, &alice, "ins_109508").await;
        let (_, bob_writer) = app.user("bob", Scope::Write).await;
        let bobs = link(&app, &bob_writer, "ins_109511").await;
        let mut socket = connect(&app, &bob).await;
        subscribe(&mut socket, SUBSCRIPTION).await;
        // Alice's sync first, then Bob's: the first message Bob sees is his own.
        app.sync()
            .sync_item(
                item_row(&app, alices.row.id).await,
                Trigger::Manual,
                None,
                None,
            )
            .await;
        start_manual_sync(&app, bobs.row.id, None).await;
        let message = next(&mut socket).await;
        assert_eq!(
            message["payload"]["data"]["syncRunUpdated"]["item"]["plaidItemId"],
            json!(bobs.plaid_item_id)
        );

        // A connection with an unknown token is not acknowledged.
        let mut socket = open_socket(&app, "Bearer nope").await;
        match tokio::time::timeout(MESSAGE_WAIT, socket.next())
            .await
            .expect("closed within 30 s")
        {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {}
            Some(Ok(other)) => panic!("expected the connection closed, got {other:?}"),
        }
    })
    .await;
}

/// A sync slower than the request timeout: the request ends with 408, the sync runs on
/// and is seen to the end through the subscription.
#[tokio::test]
async fn a_sync_slower_than_the_request_timeout_is_seen_to_its_end() {
    for backend in crate::common::backends() {
        let app = TestApp::builder(backend)
            .with_plaid(SimulatorConfig::default())
            .with_http(investments::http::HttpOptions {
                request_timeout: Some(std::time::Duration::from_millis(300)),
                ..Default::default()
            })
            .with_user("alice", Scope::Write)
            .start()
            .await;
        let (user, token) = app.viewer();
        // Linked through the service: a request would not outlive the 300 ms timeout.
        let linked = app
            .sync()
            .sandbox_link(
                &investments::db::unscoped::Unscoped::new(&app.db)
                    .users()
                    .scope_of(user),
                "ins_109508",
                None,
            )
            .await
            .unwrap();
        assert!(linked.error.is_none());
        let item = crate::plaid_support::Linked {
            id: investments::graphql::ids::encode(
                investments::graphql::ids::NodeKind::PlaidItem,
                linked.item.id,
            )
            .to_string(),
            plaid_item_id: linked.item.plaid_item_id.clone(),
            row: linked.item,
        };
        // Every Plaid answer takes 400 ms: a sync (holdings, then transactions) > 800 ms.
        set_scenario(app.simulator(), &item.plaid_item_id, |s| s.latency_ms = 400);
        let mut socket = connect(&app, &token).await;
        subscribe(&mut socket, SUBSCRIPTION).await;
        let response = app.request(reqwest::Method::POST, "/graphql")
            .bearer_auth(&token)
            .json(&json!({
                "query": "mutation($id: ID!) { refreshItem(input: {itemId: $id}) { syncRun { id } } }",
                "variables": { "id": item.id },
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            408,
            "[{backend:?}] the request timed out"
        );
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "REQUEST_TIMEOUT",
            "[{backend:?}] {body}"
        );
        let last = loop {
            let message = next(&mut socket).await;
            let run = message["payload"]["data"]["syncRunUpdated"].clone();
            if run["outcome"] != "RUNNING" {
                break run;
            }
        };
        assert_eq!(last["outcome"], "SUCCEEDED", "[{backend:?}]");
    }
}

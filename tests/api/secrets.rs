//! Access tokens and the Plaid secret never appear in a response, a log line (at any
//! level, our crates' and our dependencies'), or in clear in the database.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use investments::auth::Scope;
use investments::db::entities::plaid_items;
use investments::plaid::simulator::{Scenario, SimulatorConfig};
use sea_orm::EntityTrait;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::common::{Backend, TestApp};
use crate::plaid_support::*;

/// Records every event and span (fields included) of this thread, at every level. No span
/// registry: spans that travel to other threads (sqlx's workers) cannot confuse it.
#[derive(Clone, Default)]
struct Capture {
    text: Arc<Mutex<String>>,
    next_id: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = self.text.lock().unwrap();
        let _ = write!(text, "\nspan {}", span.metadata().name());
        span.record(&mut Fields(&mut text));
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Fields(&mut self.text.lock().unwrap()));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = self.text.lock().unwrap();
        let _ = write!(
            text,
            "\n{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut text));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn access_tokens_never_leak() {
    // Everything this test's runtime logs (it runs on this thread), at every level.
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let app = TestApp::builder(Backend::Sqlite)
        .with_plaid(SimulatorConfig::default())
        .with_user("alice", Scope::Write)
        .start()
        .await;
    let (_, token) = app.viewer();
    let mut responses = String::new();
    let item = link(&app, &token, "ins_109508").await;
    let (_, body) = refresh(&app, &token, &item).await;
    responses.push_str(&body.to_string());
    set_scenario(app.simulator(), &item.plaid_item_id, |s| {
        s.login_required = true
    });
    let (_, body) = refresh(&app, &token, &item).await;
    responses.push_str(&body.to_string());
    app.simulator()
        .set_scenario(&item.plaid_item_id, Scenario::default());
    let (_, body) = app
        .post(
            Some(&token),
            "mutation($id: ID!) { createLinkToken(input: {itemId: $id}) { linkToken } } ",
            json!({ "id": item.id }),
        )
        .await;
    responses.push_str(&body.to_string());
    let mut events = app.sync().subscribe();
    holdings_update(&app, &item).await;
    events.recv().await.unwrap();
    let (_, body) = app
        .post(Some(&token), "{ items { nodes { id plaidItemId status error { errorMessage } syncRuns { errorMessage } } } }", json!({}))
        .await;
    responses.push_str(&body.to_string());

    let access_token = app.simulator().access_token(&item.plaid_item_id).unwrap();
    let secret = app.simulator().config().secret.clone();
    let logs = capture.text.lock().unwrap().clone();
    assert!(logs.contains("plaid call"), "the logs were captured");
    assert!(logs.contains("request_id"), "request ids are logged");
    for (what, text) in [("responses", &responses), ("logs", &logs)] {
        assert!(!text.contains(&access_token), "access token in {what}");
        assert!(!text.contains(&secret), "Plaid secret in {what}");
    }
    let stored = plaid_items::Entity::find().all(&app.db).await.unwrap();
    let ciphertext = stored[0].access_token_ciphertext.clone().unwrap();
    assert!(!ciphertext.contains(&access_token));
    assert!(ciphertext.starts_with("v1:"));
}

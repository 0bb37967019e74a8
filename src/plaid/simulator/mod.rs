//! A Plaid simulator: Plaid's paths, JSON shapes, error objects and HTTP statuses on a
//! loopback port. Tests and the offline demo link items against it exactly as they would
//! against Plaid's sandbox; `investments plaid-sim` runs it alone. See
//! `docs/features/simulator.md`.
//!
//! Two kinds of items:
//! - generated: deterministic data from a seed ([`data`]), for volume and shapes;
//! - scripted: a [`scenario::ScenarioFile`] ([`SimulatorConfig::scenario`]) says, day by
//!   day, what an institution reports; linking that institution links that item, and every
//!   answer is its state on the clock's today. [`Simulator::advance_to_day`] (or
//!   `POST /simulator/clock`) moves the shared manual clock and fires the days' webhooks.
//!
//! Per-item knobs ([`Scenario`]: errors, rate limits, latency) apply to both, through
//! [`Simulator::set_scenario`] in process or `POST /simulator/items/{item_id}/scenario`
//! (same credentials as the Plaid calls).

pub mod data;
mod endpoints;
pub mod scenario;
mod server;
mod signing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use data::ItemData;
use scenario::ScenarioFile;
use server::State;

use crate::clock::Clock;
use crate::plaid::types::{InvestmentTransaction, PlaidErrorBody};

/// How the simulator behaves.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// Same seed, same data.
    pub seed: u64,
    /// Transactions of each new item (over the last 24 months).
    pub transactions_per_item: usize,
    /// Credentials the simulator accepts.
    pub client_id: String,
    pub secret: String,
    /// Added to every answer.
    pub latency: Duration,
    /// The simulated institution's calendar: dates of generated data, new transactions
    /// and cancels, token expirations. A scenario needs a manual one to move through days.
    pub clock: Clock,
    /// A scripted world: its institutions link its items instead of generated ones.
    pub scenario: Option<Arc<ScenarioFile>>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            seed: 42,
            transactions_per_item: 300,
            client_id: "simulator-client-id".to_owned(),
            secret: "simulator-secret".to_owned(),
            latency: Duration::ZERO,
            clock: Clock::system(),
            scenario: None,
        }
    }
}

/// Per-item behaviour; everything off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Data calls answer `ITEM_LOGIN_REQUIRED` until this is cleared.
    pub login_required: bool,
    /// Data calls answer `PRODUCT_NOT_READY` until this is cleared.
    pub product_not_ready: bool,
    /// The next this-many data calls answer 429 `RATE_LIMIT_EXCEEDED`.
    pub rate_limited_calls: u32,
    /// Transaction pages after the first answer 500 `INTERNAL_SERVER_ERROR` this many
    /// times (a failure in the middle of pagination).
    pub failing_pages: u32,
    /// Extra delay before each answer about this item, in milliseconds.
    pub latency_ms: u64,
    /// Once the first page of transactions is served, a new transaction arrives (and
    /// shifts the offsets of the pages after it).
    pub insert_during_pagination: bool,
}

/// A running simulator.
pub struct Simulator {
    state: Arc<State>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Plaid's paths (`endpoints.rs`) and the simulator's own controls.
fn router(state: Arc<State>) -> Router {
    endpoints::routes()
        .route(
            "/simulator/items/{item_id}/scenario",
            post(set_scenario_http),
        )
        .route("/simulator/clock", post(set_clock_http))
        .with_state(state)
}

/// The simulator's own controls take the Plaid credentials in headers, through the same
/// check as Plaid's paths, and refuse them with the same Plaid error object.
fn unauthorized(state: &State, headers: &HeaderMap) -> Option<Response> {
    state
        .check_credentials(headers, None, None)
        .err()
        .map(|e| server::respond(Err(e), state.request_id()))
}

async fn set_scenario_http(
    AxumState(state): AxumState<Arc<State>>,
    Path(item_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let scenario: Scenario = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut world = state.world.lock().expect("not poisoned");
    match world.items.get_mut(&item_id) {
        Some(item) => {
            item.scenario = scenario.clone();
            axum::Json(scenario).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such item").into_response(),
    }
}

/// `POST /simulator/clock`: a scenario day or a date.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetClockRequest {
    day: Option<u32>,
    date: Option<NaiveDate>,
}

async fn set_clock_http(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let date = match serde_json::from_slice(&body) {
        Ok(SetClockRequest {
            day: Some(day),
            date: None,
        }) => match &state.config.scenario {
            Some(file) => file.day_date(day),
            None => return (StatusCode::BAD_REQUEST, "no scenario: give a date").into_response(),
        },
        Ok(SetClockRequest {
            day: None,
            date: Some(date),
        }) => date,
        Ok(_) => {
            return (StatusCode::BAD_REQUEST, "give either day or date").into_response();
        }
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    match advance_to(&state, date).await {
        Ok(()) => axum::Json(json!({ "date": date })).into_response(),
        Err(AdvanceError::NotManual) => (
            StatusCode::BAD_REQUEST,
            "the simulator runs on the system clock",
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Why the clock could not be moved, or a webhook not delivered.
#[derive(Debug, thiserror::Error)]
pub enum AdvanceError {
    #[error("only a manual clock can be moved")]
    NotManual,
    #[error("webhook {webhook_type}/{code} of item {item_id} not delivered: {reason}")]
    Delivery {
        item_id: String,
        webhook_type: String,
        code: String,
        reason: String,
    },
}

/// Sets the clock to noon of `date` and fires, day by day and in file order, the webhooks
/// of the scenario days after the old today up to `date`, for linked items with a webhook
/// URL. Each delivery is awaited, so the receiver has acted when this returns.
async fn advance_to(state: &Arc<State>, date: NaiveDate) -> Result<(), AdvanceError> {
    let clock = &state.config.clock;
    if !clock.is_manual() {
        return Err(AdvanceError::NotManual);
    }
    let before = clock.today();
    clock.set_day(date);
    let Some(file) = &state.config.scenario else {
        return Ok(());
    };
    let mut due = Vec::new();
    {
        let world = state.world.lock().expect("not poisoned");
        for item in &file.items {
            if world
                .items
                .get(&item.item_id)
                .is_none_or(|i| i.webhook.is_none())
            {
                continue;
            }
            for day in &item.days {
                let day_date = file.day_date(day.day);
                if day_date > before && day_date <= date {
                    for webhook in &day.webhooks {
                        due.push((day_date, item, webhook));
                    }
                }
            }
        }
    }
    // Stable: same day keeps file order.
    due.sort_by_key(|(day, _, _)| *day);
    for (day, item, webhook) in due {
        // An ITEM ERROR webhook carries the error the item has on that day.
        let error = (webhook.webhook_type == "ITEM" && webhook.code == "ERROR")
            .then(|| {
                let state = item.state_at(day);
                state.item_error.or(state.error)
            })
            .flatten()
            .map(|code| server::item_error(code).in_webhook());
        // A PENDING_EXPIRATION webhook carries the consent expiry the item has that day.
        let consent = (webhook.webhook_type == "ITEM" && webhook.code == "PENDING_EXPIRATION")
            .then(|| item.state_at(day).consent_expiration_time)
            .flatten();
        deliver_with(
            state,
            &item.item_id,
            &webhook.webhook_type,
            &webhook.code,
            error,
            consent,
        )
        .await
        .map_err(|reason| AdvanceError::Delivery {
            item_id: item.item_id.clone(),
            webhook_type: webhook.webhook_type.clone(),
            code: webhook.code.clone(),
            reason,
        })?;
    }
    Ok(())
}

fn set_scenario(state: &State, item_id: &str, change: impl FnOnce(&mut Scenario)) -> bool {
    let mut world = state.world.lock().expect("not poisoned");
    match world.items.get_mut(item_id) {
        Some(item) => {
            change(&mut item.scenario);
            true
        }
        None => false,
    }
}

/// The body Plaid would send for a webhook (pretty-printed with two spaces, as Plaid does).
/// A PENDING_EXPIRATION carries `consent_expiration_time`, else a week from `now`.
fn webhook_body(
    now: chrono::DateTime<Utc>,
    item_id: &str,
    webhook_type: &str,
    code: &str,
    error: Option<PlaidErrorBody>,
    consent_expiration_time: Option<chrono::DateTime<Utc>>,
) -> Vec<u8> {
    let mut body = json!({
        "webhook_type": webhook_type,
        "webhook_code": code,
        "item_id": item_id,
        "error": error,
        "environment": "sandbox",
    });
    let extra = match (webhook_type, code) {
        ("HOLDINGS", "DEFAULT_UPDATE") => json!({ "new_holdings": 1, "updated_holdings": 2 }),
        ("INVESTMENTS_TRANSACTIONS", _) => {
            json!({ "new_investments_transactions": 1, "cancelled_investments_transactions": 0 })
        }
        ("ITEM", "PENDING_DISCONNECT") => {
            json!({ "reason": "INSTITUTION_TOKEN_EXPIRATION", "disconnect_time": now + chrono::Duration::days(7) })
        }
        ("ITEM", "PENDING_EXPIRATION") => {
            json!({ "consent_expiration_time": consent_expiration_time.unwrap_or(now + chrono::Duration::days(7)) })
        }
        _ => json!({}),
    };
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    serde_json::to_vec_pretty(&body).expect("webhook body serializes")
}

/// Sends a signed webhook about `item_id` to its webhook URL; returns the HTTP status.
async fn deliver(
    state: &Arc<State>,
    item_id: &str,
    webhook_type: &str,
    code: &str,
    error: Option<PlaidErrorBody>,
) -> Result<u16, String> {
    deliver_with(state, item_id, webhook_type, code, error, None).await
}

/// [`deliver`], with the consent expiry a PENDING_EXPIRATION webhook carries.
async fn deliver_with(
    state: &Arc<State>,
    item_id: &str,
    webhook_type: &str,
    code: &str,
    error: Option<PlaidErrorBody>,
    consent_expiration_time: Option<chrono::DateTime<Utc>>,
) -> Result<u16, String> {
    let url = {
        let world = state.world.lock().expect("not poisoned");
        let item = world.items.get(item_id).ok_or("no such item")?;
        item.webhook.clone().ok_or("the item has no webhook URL")?
    };
    let body = webhook_body(
        state.config.clock.now(),
        item_id,
        webhook_type,
        code,
        error,
        consent_expiration_time,
    );
    let jwt = state
        .signer
        .lock()
        .expect("not poisoned")
        .sign(&body, state.config.clock.now().timestamp());
    let response = state
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Plaid-Verification", jwt)
        .timeout(Duration::from_secs(10))
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

impl Simulator {
    /// Starts on a free loopback port.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<Simulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(config: SimulatorConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let state = Arc::new(State::new(config));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "plaid simulator stopped");
            }
        });
        Ok(Simulator { state, addr, task })
    }

    /// Base URL, for `PLAID_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> &SimulatorConfig {
        &self.state.config
    }

    /// A Plaid client configuration that talks to this simulator with its credentials.
    pub fn client_config(&self) -> crate::plaid::client::PlaidConfig {
        let mut config = crate::plaid::client::PlaidConfig::new(
            crate::plaid::client::Environment::Sandbox,
            &self.state.config.client_id,
            &self.state.config.secret,
        );
        config.base_url = self.url();
        config
    }

    /// Runs until the task ends (for `investments plaid-sim`).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }

    /// Plaid item ids, in no particular order.
    pub fn item_ids(&self) -> Vec<String> {
        let world = self.state.world.lock().expect("not poisoned");
        world.items.keys().cloned().collect()
    }

    /// What the simulated Plaid holds for an item now.
    pub fn data(&self, item_id: &str) -> Option<ItemData> {
        let today = self.state.config.clock.today();
        self.with_item(item_id, |item| {
            item.replay(today);
            item.data.clone()
        })
    }

    /// The date of scenario day `n` (day 1 is the scenario's `start`). Panics without a
    /// scenario.
    pub fn day_date(&self, n: u32) -> NaiveDate {
        self.scenario_file().day_date(n)
    }

    fn scenario_file(&self) -> &ScenarioFile {
        self.state
            .config
            .scenario
            .as_deref()
            .expect("the simulator runs a scenario")
    }

    /// Moves the shared manual clock to noon of scenario day `n` and delivers, in order,
    /// the webhooks of the days passed (after the old today, up to day `n`) for linked
    /// items. Panics without a scenario.
    pub async fn advance_to_day(&self, n: u32) -> Result<(), AdvanceError> {
        advance_to(&self.state, self.scenario_file().day_date(n)).await
    }

    /// The access token of an item (as Plaid would have handed it out).
    pub fn access_token(&self, item_id: &str) -> Option<String> {
        let world = self.state.world.lock().expect("not poisoned");
        world.items.get(item_id).map(|i| i.access_token.clone())
    }

    pub fn set_scenario(&self, item_id: &str, scenario: Scenario) -> bool {
        set_scenario(&self.state, item_id, |s| *s = scenario)
    }

    pub fn scenario(&self, item_id: &str) -> Option<Scenario> {
        let world = self.state.world.lock().expect("not poisoned");
        world.items.get(item_id).map(|i| i.scenario.clone())
    }

    fn with_item<T>(&self, item_id: &str, f: impl FnOnce(&mut server::SimItem) -> T) -> Option<T> {
        let mut world = self.state.world.lock().expect("not poisoned");
        world.items.get_mut(item_id).map(f)
    }

    /// The position is sold: gone from holdings (a `sell` transaction records it).
    pub fn sell_position(&self, item_id: &str, account_id: &str, security_id: &str) -> bool {
        self.with_item(item_id, |item| {
            let before = item.data.holdings.len();
            item.data
                .holdings
                .retain(|h| !(h.account_id == account_id && h.security_id == security_id));
            before != item.data.holdings.len()
        })
        .unwrap_or(false)
    }

    /// Plaid stops returning a transaction (it vanished from its window).
    pub fn remove_transaction(&self, item_id: &str, transaction_id: &str) -> bool {
        self.with_item(item_id, |item| {
            let before = item.data.transactions.len();
            item.data
                .transactions
                .retain(|t| t.investment_transaction_id != transaction_id);
            before != item.data.transactions.len()
        })
        .unwrap_or(false)
    }

    /// A `cancel` row for a transaction appears (dated today).
    pub fn cancel_transaction(
        &self,
        item_id: &str,
        transaction_id: &str,
    ) -> Option<InvestmentTransaction> {
        self.with_item(item_id, |item| {
            let original = item
                .data
                .transactions
                .iter()
                .find(|t| t.investment_transaction_id == transaction_id)?
                .clone();
            let cancel = data::cancel_of(&mut item.rng, &original, self.state.config.clock.today());
            item.data.transactions.push(cancel.clone());
            data::sort_newest_first(&mut item.data.transactions);
            Some(cancel)
        })
        .flatten()
    }

    /// A new transaction arrives, dated today.
    pub fn add_transaction(&self, item_id: &str) -> Option<InvestmentTransaction> {
        let today = self.state.config.clock.today();
        self.with_item(item_id, |item| item.add_transaction(today))
    }

    /// The `Plaid-Verification` value the simulator would send with `body` at `iat`.
    pub fn sign_webhook(&self, body: &[u8], iat: i64) -> String {
        self.state
            .signer
            .lock()
            .expect("not poisoned")
            .sign(body, iat)
    }

    /// The body Plaid would send for a webhook.
    pub fn webhook_body(&self, item_id: &str, webhook_type: &str, code: &str) -> Vec<u8> {
        webhook_body(
            self.state.config.clock.now(),
            item_id,
            webhook_type,
            code,
            None,
            None,
        )
    }

    /// Sends a signed webhook to the item's webhook URL; returns the answer's status.
    pub async fn fire_webhook(
        &self,
        item_id: &str,
        webhook_type: &str,
        code: &str,
        error: Option<PlaidErrorBody>,
    ) -> Result<u16, String> {
        deliver(&self.state, item_id, webhook_type, code, error).await
    }

    /// Marks the webhook verification key as expired (as after a rotation).
    pub fn expire_verification_key(&self) {
        self.state
            .signer
            .lock()
            .expect("not poisoned")
            .expire(self.state.config.clock.now().timestamp());
    }

    /// The `kid` webhooks are signed with now.
    pub fn verification_key_id(&self) -> String {
        self.state
            .signer
            .lock()
            .expect("not poisoned")
            .kid()
            .to_owned()
    }

    /// Rotates the webhook verification key: from now on webhooks are signed with a new
    /// key under a new `kid`, and the old `kid` is no longer served. Returns the new `kid`.
    pub fn rotate_verification_key(&self) -> String {
        let mut signer = self.state.signer.lock().expect("not poisoned");
        let kid = data::Rng::new(self.state.config.seed ^ data::hash(signer.kid()))
            .id()
            .to_lowercase();
        *signer = signing::Signer::generate(kid.clone(), self.state.config.clock.now().timestamp());
        kid
    }

    /// Requests received on `path` so far.
    pub fn calls(&self, path: &str) -> u64 {
        let world = self.state.world.lock().expect("not poisoned");
        world.calls.get(path).copied().unwrap_or(0)
    }
}

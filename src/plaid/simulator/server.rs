//! The simulator's state (items, tokens, the signer) and the steps every request shares:
//! header checks, the credential check, parsing as Plaid parses, the access-token lookup,
//! latency, counting, error objects and the answer's envelope. The endpoints themselves
//! are in `endpoints.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::data::{self, InstitutionInfo, ItemData, Rng};
use super::scenario::{ErrorCode, ScenarioItem};
use super::signing::Signer;
use super::{Scenario, SimulatorConfig};
use crate::plaid::types::*;

/// A Plaid error answer.
#[derive(Debug)]
pub struct SimError {
    status: u16,
    error_type: &'static str,
    error_code: &'static str,
    message: String,
    display_message: Option<&'static str>,
}

pub(super) fn err(
    status: u16,
    error_type: &'static str,
    error_code: &'static str,
    message: impl Into<String>,
) -> SimError {
    SimError {
        status,
        error_type,
        error_code,
        message: message.into(),
        display_message: None,
    }
}

pub(super) fn invalid_field(message: impl Into<String>) -> SimError {
    err(400, "INVALID_REQUEST", "INVALID_FIELD", message)
}

/// The error Plaid answers for an item in trouble: the one place that knows the type,
/// status and message of each code a scenario (or a per-item knob) can set.
pub fn item_error(code: ErrorCode) -> SimError {
    match code {
        ErrorCode::ItemLoginRequired => SimError {
            display_message: Some("Your login details have changed. Please log in again."),
            ..err(
                400,
                "ITEM_ERROR",
                "ITEM_LOGIN_REQUIRED",
                "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information",
            )
        },
        ErrorCode::ProductNotReady => err(
            400,
            "ITEM_ERROR",
            "PRODUCT_NOT_READY",
            "the requested product is not yet ready. please provide a webhook or try the request again later",
        ),
        ErrorCode::NoInvestmentAccounts => err(
            400,
            "ITEM_ERROR",
            "NO_INVESTMENT_ACCOUNTS",
            "no investment accounts are associated with this item",
        ),
        ErrorCode::InstitutionDown => SimError {
            display_message: Some(
                "This financial institution is not currently responding to requests. We apologize for the inconvenience.",
            ),
            ..err(
                400,
                "INSTITUTION_ERROR",
                "INSTITUTION_DOWN",
                "this institution is not currently responding to this request. please try again soon",
            )
        },
        ErrorCode::InternalServerError => err(
            500,
            "API_ERROR",
            "INTERNAL_SERVER_ERROR",
            "an unexpected error occurred",
        ),
    }
}

impl SimError {
    /// Plaid's error object for this error (`request_id` and `status` left to the caller).
    pub fn body(&self) -> PlaidErrorBody {
        PlaidErrorBody {
            error_type: self.error_type.to_owned(),
            error_code: self.error_code.to_owned(),
            error_code_reason: None,
            error_message: self.message.clone(),
            display_message: self.display_message.map(str::to_owned),
            request_id: None,
            status: None,
            documentation_url: Some(format!(
                "https://plaid.com/docs/?ref=error#{}",
                self.error_code.to_lowercase()
            )),
            suggested_action: None,
        }
    }

    /// The error object as a webhook carries it (with its HTTP status).
    pub fn in_webhook(&self) -> PlaidErrorBody {
        PlaidErrorBody {
            status: Some(self.status),
            ..self.body()
        }
    }
}

/// An item as the simulated Plaid keeps it.
pub struct SimItem {
    pub item_id: String,
    pub access_token: String,
    pub institution: &'static InstitutionInfo,
    pub webhook: Option<String>,
    pub data: ItemData,
    pub scenario: Scenario,
    pub rng: Rng,
    pub last_update: chrono::DateTime<Utc>,
    /// A scenario item's history; `None` for generated data.
    pub script: Option<Arc<ScenarioItem>>,
    /// The date `data` and the scripted fields below were replayed for.
    replayed: Option<NaiveDate>,
    /// Data calls fail with this (scripted).
    scripted_error: Option<ErrorCode>,
    /// `item.error` of successful answers (scripted).
    item_error: Option<ErrorCode>,
    consent_expiration_time: Option<chrono::DateTime<Utc>>,
}

impl SimItem {
    fn new(
        item_id: String,
        access_token: String,
        institution: &'static InstitutionInfo,
        webhook: Option<String>,
        data: ItemData,
        rng: Rng,
        now: chrono::DateTime<Utc>,
    ) -> SimItem {
        SimItem {
            item_id,
            access_token,
            institution,
            webhook,
            data,
            scenario: Scenario::default(),
            rng,
            last_update: now,
            script: None,
            replayed: None,
            scripted_error: None,
            item_error: None,
            consent_expiration_time: None,
        }
    }

    /// A scenario item's state on `today` replaces what it served before. Replayed once per
    /// date, so that in-process changes (`Simulator::add_transaction`, a knob's insert
    /// during pagination) last until the clock moves.
    pub fn replay(&mut self, today: NaiveDate) {
        let Some(script) = &self.script else { return };
        if self.replayed == Some(today) {
            return;
        }
        let state = script.state_at(today);
        self.data = state.data;
        self.scripted_error = state.error;
        self.item_error = state.item_error;
        self.consent_expiration_time = state.consent_expiration_time;
        self.replayed = Some(today);
    }

    /// The error data calls answer, if any: the knobs first, then the script.
    pub(super) fn blocking_error(&self) -> Option<ErrorCode> {
        if self.scenario.login_required {
            Some(ErrorCode::ItemLoginRequired)
        } else if self.scenario.product_not_ready {
            Some(ErrorCode::ProductNotReady)
        } else {
            self.scripted_error
        }
    }

    pub(super) fn wire_item(&self) -> Item {
        Item {
            item_id: self.item_id.clone(),
            institution_id: Some(self.institution.id.to_owned()),
            institution_name: None,
            webhook: self.webhook.clone(),
            error: self.item_error.map(|code| item_error(code).body()),
            available_products: vec!["balance".to_owned(), "transactions".to_owned()],
            billed_products: vec!["investments".to_owned()],
            products: Some(vec!["investments".to_owned()]),
            consented_products: None,
            consent_expiration_time: self.consent_expiration_time,
            update_type: "background".to_owned(),
            created_at: None,
        }
    }

    /// Adds a transaction dated `today` (it becomes the newest).
    pub fn add_transaction(&mut self, today: NaiveDate) -> InvestmentTransaction {
        let template = self.data.transactions[0].clone();
        let transaction = InvestmentTransaction {
            investment_transaction_id: self.rng.id(),
            date: today,
            name: format!("NEW {}", template.name),
            ..template
        };
        self.data.transactions.push(transaction.clone());
        data::sort_newest_first(&mut self.data.transactions);
        transaction
    }
}

/// What a public token stands for until it is exchanged.
pub(super) struct PendingLink {
    pub(super) institution: &'static InstitutionInfo,
    pub(super) webhook: Option<String>,
}

#[derive(Default)]
pub struct World {
    pub items: HashMap<String, SimItem>,
    pub(super) tokens: HashMap<String, String>,
    pub(super) public_tokens: HashMap<String, PendingLink>,
    pub(super) created: u64,
    pub calls: HashMap<String, u64>,
}

impl World {
    fn item_by_token(&mut self, token: &str) -> Result<&mut SimItem, SimError> {
        let id = self.tokens.get(token).cloned().ok_or_else(|| {
            err(
                400,
                "INVALID_INPUT",
                "INVALID_ACCESS_TOKEN",
                "provided access token is in an invalid format or does not exist",
            )
        })?;
        self.items.get_mut(&id).ok_or_else(|| {
            err(
                400,
                "ITEM_ERROR",
                "ITEM_NOT_FOUND",
                "the requested item was not found",
            )
        })
    }
}

pub struct State {
    pub config: SimulatorConfig,
    pub world: std::sync::Mutex<World>,
    pub signer: std::sync::Mutex<Signer>,
    pub http: reqwest::Client,
    requests: AtomicU64,
}

impl State {
    pub fn new(config: SimulatorConfig) -> State {
        let kid = Rng::new(config.seed ^ data::hash("kid"))
            .id()
            .to_lowercase();
        State {
            signer: std::sync::Mutex::new(Signer::generate(kid, config.clock.now().timestamp())),
            config,
            world: std::sync::Mutex::new(World::default()),
            http: reqwest::Client::new(),
            requests: AtomicU64::new(0),
        }
    }

    pub(super) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("not poisoned")
    }

    /// The item of an access token, replayed to today if it is a scenario item: the one
    /// access-token lookup of every endpoint.
    pub(super) fn item<'w>(
        &self,
        world: &'w mut World,
        token: &AccessToken,
    ) -> Result<&'w mut SimItem, SimError> {
        let item = world.item_by_token(token.expose())?;
        item.replay(self.config.clock.today());
        Ok(item)
    }

    /// Links a scenario item, or re-links it (Link's update mode, or the user linking the
    /// same login again): same `item_id`, a new access token, the old one invalid.
    pub(super) fn link_scripted(
        &self,
        world: &mut World,
        script: &ScenarioItem,
        institution: &'static InstitutionInfo,
        webhook: Option<String>,
    ) -> Value {
        let item_id = script.item_id.clone();
        let access_token = format!(
            "access-sandbox-{}",
            Rng::new(self.config.seed ^ data::hash(&item_id) ^ world.created)
                .id()
                .to_lowercase()
        );
        match world.items.get_mut(&item_id) {
            Some(item) => {
                let old = std::mem::replace(&mut item.access_token, access_token.clone());
                world.tokens.remove(&old);
                item.webhook = webhook.or(item.webhook.take());
                // Going through Link again is what fixes a login.
                item.scenario.login_required = false;
            }
            None => {
                let mut item = SimItem::new(
                    item_id.clone(),
                    access_token.clone(),
                    institution,
                    webhook,
                    ItemData::default(),
                    Rng::new(self.config.seed ^ data::hash(&item_id)),
                    self.config.clock.now(),
                );
                item.script = Some(Arc::new(script.clone()));
                world.items.insert(item_id.clone(), item);
            }
        }
        world.tokens.insert(access_token.clone(), item_id.clone());
        json!({ "access_token": access_token, "item_id": item_id })
    }

    /// Links a new generated item: its data comes from the seed, the institution and how
    /// many items were created before it.
    pub(super) fn link_generated(&self, world: &mut World, pending: PendingLink) -> Value {
        let seed = self.config.seed
            ^ data::hash(pending.institution.id)
            ^ world.created.wrapping_mul(0x9e37_79b9);
        let mut rng = Rng::new(seed ^ 0x5eed);
        let item_id = rng.id();
        let access_token = format!("access-sandbox-{}", rng.id().to_lowercase());
        let data = data::generate(
            seed,
            pending.institution,
            self.config.clock.today(),
            self.config.transactions_per_item,
        );
        world.tokens.insert(access_token.clone(), item_id.clone());
        world.items.insert(
            item_id.clone(),
            SimItem::new(
                item_id.clone(),
                access_token.clone(),
                pending.institution,
                pending.webhook,
                data,
                rng,
                self.config.clock.now(),
            ),
        );
        json!({ "access_token": access_token, "item_id": item_id })
    }

    /// A new `request_id`; it also numbers the requests (link tokens derive from it).
    pub(super) fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        format!("sim{:011x}", n ^ (self.config.seed & 0xffff))
    }

    /// Requests received so far.
    pub(super) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The latency of an answer: the configured one, plus the `latency_ms` knob of the
    /// item whose access token the body carries.
    pub(super) fn latency(&self, body: &[u8]) -> Duration {
        let mut latency = self.config.latency;
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body)
            && let Some(token) = object.get("access_token").and_then(Value::as_str)
        {
            let world = self.world();
            if let Some(item) = world.tokens.get(token).and_then(|id| world.items.get(id)) {
                latency += Duration::from_millis(item.scenario.latency_ms);
            }
        }
        latency
    }

    /// Counts a request on `path` (see `Simulator::calls`).
    pub(super) fn count(&self, path: &str) {
        *self.world().calls.entry(path.to_owned()).or_default() += 1;
    }

    /// The one credential check, for Plaid's paths and the simulator's own alike: the
    /// `PLAID-CLIENT-ID` / `PLAID-SECRET` headers, else the body's `client_id` / `secret`.
    /// Any other pair, a missing key included, is what Plaid answers for bad keys
    /// (REFERENCE §5.2: 400 `INVALID_INPUT` `INVALID_API_KEYS`), so a client sees one
    /// error whichever key is wrong and wherever.
    pub(super) fn check_credentials(
        &self,
        headers: &HeaderMap,
        body_client_id: Option<String>,
        body_secret: Option<String>,
    ) -> Result<(), SimError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let client_id = header("plaid-client-id").or(body_client_id);
        let secret = header("plaid-secret").or(body_secret);
        if client_id.as_deref() == Some(self.config.client_id.as_str())
            && secret.as_deref() == Some(self.config.secret.as_str())
        {
            Ok(())
        } else {
            Err(err(
                400,
                "INVALID_INPUT",
                "INVALID_API_KEYS",
                "invalid client_id or secret provided",
            ))
        }
    }

    /// A Plaid request's body, parsed as Plaid parses it, once its credentials pass.
    pub(super) fn authenticated<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<T, SimError> {
        let (request, client_id, secret) = parse::<T>(body)?;
        self.check_credentials(headers, client_id, secret)?;
        Ok(request)
    }
}

/// The headers Plaid insists on: a JSON body, and no `Plaid-Version` but the one we speak.
pub(super) fn check_headers(headers: &HeaderMap) -> Result<(), SimError> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(err(
            400,
            "INVALID_REQUEST",
            "INVALID_HEADERS",
            "Content-Type header must be application/json",
        ));
    }
    if let Some(version) = headers.get("plaid-version").and_then(|v| v.to_str().ok())
        && version != PLAID_VERSION
    {
        return Err(err(
            400,
            "INVALID_REQUEST",
            "INVALID_HEADERS",
            format!("unsupported Plaid-Version {version}"),
        ));
    }
    Ok(())
}

/// Parses a request body as Plaid does: JSON object, credentials allowed in the body,
/// missing fields -> MISSING_FIELDS, unknown fields -> UNKNOWN_FIELDS.
fn parse<T: DeserializeOwned>(
    body: &[u8],
) -> Result<(T, Option<String>, Option<String>), SimError> {
    let mut value: Value = serde_json::from_slice(body).map_err(|_| {
        err(
            400,
            "INVALID_REQUEST",
            "INVALID_BODY",
            "body could not be parsed as JSON",
        )
    })?;
    let object = value.as_object_mut().ok_or_else(|| {
        err(
            400,
            "INVALID_REQUEST",
            "INVALID_BODY",
            "body must be a JSON object",
        )
    })?;
    let take = |object: &mut serde_json::Map<String, Value>, key: &str| {
        object
            .remove(key)
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    let client_id = take(object, "client_id");
    let secret = take(object, "secret");
    let parsed = serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        if message.starts_with("missing field") {
            err(
                400,
                "INVALID_REQUEST",
                "MISSING_FIELDS",
                format!("the following required fields are missing: {message}"),
            )
        } else if message.starts_with("unknown field") {
            err(
                400,
                "INVALID_REQUEST",
                "UNKNOWN_FIELDS",
                format!("the following fields are not recognized by this endpoint: {message}"),
            )
        } else {
            invalid_field(message)
        }
    })?;
    Ok((parsed, client_id, secret))
}

/// An answer in Plaid's envelope: the body with its `request_id`, or the error object
/// with its status.
pub(super) fn respond(result: Result<Value, SimError>, request_id: String) -> Response {
    match result {
        Ok(mut value) => {
            if let Value::Object(object) = &mut value {
                object.insert("request_id".to_owned(), Value::String(request_id));
            }
            axum::Json(value).into_response()
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            let body = PlaidErrorBody {
                request_id: Some(request_id),
                ..e.body()
            };
            (status, axum::Json(body)).into_response()
        }
    }
}

//! One handler per Plaid path, and the table that routes to them. A handler gets its
//! request parsed and authenticated by [`endpoint`]; what is left in it is that
//! endpoint's own rules. To add a Plaid path: a handler here and a line in [`routes`].

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{MethodRouter, any};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::data::{self, Rng};
use super::scenario::ErrorCode;
use super::server::{
    PendingLink, SimError, SimItem, State, check_headers, err, invalid_field, item_error, respond,
};
use crate::plaid::types::*;

/// Plaid's paths. Any method is answered, as Plaid's paths are only ever POSTed to.
pub(super) fn routes() -> Router<Arc<State>> {
    Router::new()
        .route(
            "/sandbox/public_token/create",
            endpoint(sandbox_public_token_create),
        )
        .route(
            "/item/public_token/exchange",
            endpoint(item_public_token_exchange),
        )
        .route("/item/get", endpoint(item_get))
        .route("/item/remove", endpoint(item_remove))
        .route("/accounts/get", endpoint(accounts_get))
        .route("/institutions/get_by_id", endpoint(institutions_get_by_id))
        .route(
            "/investments/holdings/get",
            endpoint(investments_holdings_get),
        )
        .route(
            "/investments/transactions/get",
            endpoint(investments_transactions_get),
        )
        .route("/investments/refresh", endpoint(investments_refresh))
        .route("/link/token/create", endpoint(link_token_create))
        .route(
            "/webhook_verification_key/get",
            endpoint(webhook_verification_key_get),
        )
        .route(
            "/sandbox/item/fire_webhook",
            endpoint(sandbox_item_fire_webhook),
        )
        .route(
            "/sandbox/item/reset_login",
            endpoint(sandbox_item_reset_login),
        )
        .fallback(not_found)
}

/// A Plaid path served by `handler`, which gets the request body parsed as `T` once the
/// envelope's checks and the credentials passed.
fn endpoint<T, F, Fut>(handler: F) -> MethodRouter<Arc<State>>
where
    T: DeserializeOwned + Send + 'static,
    F: FnOnce(Arc<State>, T) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, SimError>> + Send,
{
    any(
        move |AxumState(state): AxumState<Arc<State>>,
              uri: Uri,
              headers: HeaderMap,
              body: Bytes| async move {
            serve(&state, uri.path(), &headers, &body, async {
                let request = state.authenticated::<T>(&headers, &body)?;
                handler(state.clone(), request).await
            })
            .await
        },
    )
}

/// What every request goes through, in this order: a `request_id`, the latency (the
/// configured one and the item's knob), Plaid's header checks, the call count, then the
/// endpoint; its answer goes out in Plaid's envelope.
async fn serve(
    state: &State,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    answer: impl Future<Output = Result<Value, SimError>>,
) -> Response {
    let request_id = state.request_id();
    let latency = state.latency(body);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let result = match check_headers(headers) {
        Ok(()) => {
            state.count(path);
            answer.await
        }
        Err(e) => Err(e),
    };
    respond(result, request_id)
}

/// Any other path: Plaid's `NOT_FOUND` (after the header checks, like every path).
async fn not_found(
    AxumState(state): AxumState<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    serve(&state, path, &headers, &body, async {
        Err(err(
            404,
            "INVALID_REQUEST",
            "NOT_FOUND",
            format!("{path} is not a Plaid endpoint"),
        ))
    })
    .await
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire types serialize")
}

fn date(field: &str, text: &str) -> Result<NaiveDate, SimError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| invalid_field(format!("{field} must be a valid date in YYYY-MM-DD format")))
}

fn invalid_institution(institution_id: &str) -> SimError {
    err(
        400,
        "INVALID_INPUT",
        "INVALID_INSTITUTION",
        format!("invalid institution_id {institution_id}"),
    )
}

/// The checks every data call of an item goes through, in Plaid's order of precedence:
/// the item's error (knobs, then script), then the rate-limit knob, which answers the
/// endpoint's own limit code.
fn data_call_checks(item: &mut SimItem, rate_limit_code: &'static str) -> Result<(), SimError> {
    if let Some(code) = item.blocking_error() {
        return Err(item_error(code));
    }
    if item.scenario.rate_limited_calls > 0 {
        item.scenario.rate_limited_calls -= 1;
        return Err(err(
            429,
            "RATE_LIMIT_EXCEEDED",
            rate_limit_code,
            "rate limit exceeded for attempts to access this item. please try again later",
        ));
    }
    Ok(())
}

fn check_account_ids(item: &SimItem, ids: &Option<Vec<String>>) -> Result<(), SimError> {
    if let Some(ids) = ids {
        for id in ids {
            if !item.data.accounts.iter().any(|a| &a.account_id == id) {
                return Err(err(
                    400,
                    "INVALID_INPUT",
                    "INVALID_ACCOUNT_ID",
                    format!("one or more of the account IDs is invalid: {id}"),
                ));
            }
        }
    }
    Ok(())
}

fn securities_for<'a>(item: &SimItem, ids: impl Iterator<Item = &'a String>) -> Vec<Security> {
    let wanted: std::collections::HashSet<&String> = ids.collect();
    item.data
        .securities
        .iter()
        .filter(|s| wanted.contains(&s.security_id))
        .cloned()
        .collect()
}

/// `/sandbox/public_token/create`: a public token for an institution, to exchange.
async fn sandbox_public_token_create(
    state: Arc<State>,
    r: SandboxPublicTokenCreateRequest,
) -> Result<Value, SimError> {
    let institution = data::institution(&r.institution_id)
        .ok_or_else(|| invalid_institution(&r.institution_id))?;
    if !r.initial_products.iter().any(|p| p == "investments") {
        return Err(err(
            400,
            "INVALID_INPUT",
            "INVALID_PRODUCT",
            "initial_products must include investments for this simulator",
        ));
    }
    let mut world = state.world();
    world.created += 1;
    let token = format!(
        "public-sandbox-{}",
        Rng::new(state.config.seed ^ world.created)
            .id()
            .to_lowercase()
    );
    world.public_tokens.insert(
        token.clone(),
        PendingLink {
            institution,
            webhook: r.options.and_then(|o| o.webhook),
        },
    );
    Ok(json!({ "public_token": token }))
}

/// `/item/public_token/exchange`: links the scenario's item of the institution, else a
/// generated one. A public token is good once.
async fn item_public_token_exchange(
    state: Arc<State>,
    r: PublicTokenExchangeRequest,
) -> Result<Value, SimError> {
    let mut world = state.world();
    let pending = world
        .public_tokens
        .remove(r.public_token.expose())
        .ok_or_else(|| {
            err(
                400,
                "INVALID_INPUT",
                "INVALID_PUBLIC_TOKEN",
                "provided public token is expired, has been used, or does not exist",
            )
        })?;
    world.created += 1;
    let script = state
        .config
        .scenario
        .as_ref()
        .and_then(|f| f.item_for_institution(pending.institution.id));
    Ok(match script {
        Some(script) => {
            state.link_scripted(&mut world, script, pending.institution, pending.webhook)
        }
        None => state.link_generated(&mut world, pending),
    })
}

/// `/item/get`: the item and its investments status.
async fn item_get(state: Arc<State>, r: AccessTokenRequest) -> Result<Value, SimError> {
    let mut world = state.world();
    let item = state.item(&mut world, &r.access_token)?;
    let mut wire = item.wire_item();
    // The item's own status shows a login that is required.
    if wire.error.is_none() && item.blocking_error() == Some(ErrorCode::ItemLoginRequired) {
        wire.error = Some(item_error(ErrorCode::ItemLoginRequired).body());
    }
    wire.created_at = Some(item.last_update);
    Ok(json!({
        "item": to_value(&wire),
        "status": { "investments": { "last_successful_update": item.last_update, "last_failed_update": null } },
    }))
}

/// `/item/remove`: the item and its access token are gone.
async fn item_remove(state: Arc<State>, r: ItemRemoveRequest) -> Result<Value, SimError> {
    let mut world = state.world();
    let item_id = state.item(&mut world, &r.access_token)?.item_id.clone();
    world.items.remove(&item_id);
    world.tokens.remove(r.access_token.expose());
    Ok(json!({}))
}

/// `/accounts/get`: the item's accounts (no margin loans: that is an investments field).
async fn accounts_get(state: Arc<State>, r: AccountsGetRequest) -> Result<Value, SimError> {
    let mut world = state.world();
    let item = state.item(&mut world, &r.access_token)?;
    // Errors of the whole item (not of the investments product) fail every product's
    // calls, accounts included.
    if let Some(
        code @ (ErrorCode::ItemLoginRequired
        | ErrorCode::InstitutionDown
        | ErrorCode::InternalServerError),
    ) = item.blocking_error()
    {
        return Err(item_error(code));
    }
    check_account_ids(
        item,
        &r.options.as_ref().and_then(|o| o.account_ids.clone()),
    )?;
    let accounts: Vec<Account> = item
        .data
        .accounts
        .iter()
        .cloned()
        .map(|mut a| {
            a.balances.margin_loan_amount = None;
            a
        })
        .collect();
    Ok(json!({ "accounts": to_value(&accounts), "item": to_value(&item.wire_item()) }))
}

/// `/institutions/get_by_id`: one of the simulator's institutions.
async fn institutions_get_by_id(
    _state: Arc<State>,
    r: InstitutionsGetByIdRequest,
) -> Result<Value, SimError> {
    if r.country_codes.is_empty() {
        return Err(invalid_field("country_codes must not be empty"));
    }
    let info = data::institution(&r.institution_id)
        .ok_or_else(|| invalid_institution(&r.institution_id))?;
    let institution = Institution {
        institution_id: info.id.to_owned(),
        name: info.name.to_owned(),
        products: vec![
            "investments".to_owned(),
            "transactions".to_owned(),
            "balance".to_owned(),
        ],
        country_codes: vec![info.country.to_owned()],
        url: None,
        primary_color: None,
        logo: None,
        routing_numbers: Vec::new(),
        oauth: false,
    };
    Ok(json!({ "institution": to_value(&institution) }))
}

/// `/investments/holdings/get`: holdings of the item's (or the asked) accounts and the
/// securities they name.
async fn investments_holdings_get(
    state: Arc<State>,
    r: InvestmentsHoldingsGetRequest,
) -> Result<Value, SimError> {
    let mut world = state.world();
    let item = state.item(&mut world, &r.access_token)?;
    data_call_checks(item, "INVESTMENT_HOLDINGS_GET_LIMIT")?;
    let account_ids = r.options.and_then(|o| o.account_ids);
    check_account_ids(item, &account_ids)?;
    let keep = |account: &String| account_ids.as_ref().is_none_or(|ids| ids.contains(account));
    let holdings: Vec<Holding> = item
        .data
        .holdings
        .iter()
        .filter(|h| keep(&h.account_id))
        .cloned()
        .collect();
    let accounts: Vec<Account> = item
        .data
        .accounts
        .iter()
        .filter(|a| keep(&a.account_id))
        .cloned()
        .collect();
    let securities = securities_for(item, holdings.iter().map(|h| &h.security_id));
    Ok(to_value(&InvestmentsHoldingsGetResponse {
        accounts,
        holdings,
        securities,
        item: item.wire_item(),
        request_id: String::new(),
        is_investments_fallback_item: Some(false),
    }))
}

/// `/investments/transactions/get`: one page (offset/count) of the window, newest first.
async fn investments_transactions_get(
    state: Arc<State>,
    r: InvestmentsTransactionsGetRequest,
) -> Result<Value, SimError> {
    let start = date("start_date", &r.start_date)?;
    let end = date("end_date", &r.end_date)?;
    if start > end {
        return Err(invalid_field(
            "start_date must be before or equal to end_date",
        ));
    }
    let options = r.options.unwrap_or_default();
    let count = options.count.unwrap_or(100);
    if !(1..=500).contains(&count) {
        return Err(invalid_field("count must be an integer between 1 and 500"));
    }
    let offset = options.offset.unwrap_or(0);
    if offset < 0 {
        return Err(invalid_field("offset must be a non-negative integer"));
    }
    let mut world = state.world();
    let item = state.item(&mut world, &r.access_token)?;
    data_call_checks(item, "INVESTMENT_TRANSACTIONS_LIMIT")?;
    check_account_ids(item, &options.account_ids)?;
    if offset > 0 && item.scenario.failing_pages > 0 {
        item.scenario.failing_pages -= 1;
        return Err(item_error(ErrorCode::InternalServerError));
    }
    let in_window: Vec<&InvestmentTransaction> = item
        .data
        .transactions
        .iter()
        .filter(|t| t.date >= start && t.date <= end)
        .filter(|t| {
            options
                .account_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&t.account_id))
        })
        .collect();
    let total = in_window.len() as i64;
    let page: Vec<InvestmentTransaction> = in_window
        .into_iter()
        .skip(offset as usize)
        .take(count as usize)
        .cloned()
        .collect();
    let securities = securities_for(item, page.iter().filter_map(|t| t.security_id.as_ref()));
    let response = to_value(&InvestmentsTransactionsGetResponse {
        item: item.wire_item(),
        accounts: item.data.accounts.clone(),
        securities,
        investment_transactions: page,
        total_investment_transactions: total,
        request_id: String::new(),
        is_investments_fallback_item: Some(false),
    });
    if offset == 0 && item.scenario.insert_during_pagination {
        item.scenario.insert_during_pagination = false;
        item.add_transaction(state.config.clock.today());
    }
    Ok(response)
}

/// `/investments/refresh`: the item is updated now, and, as Plaid does once an
/// institution refresh is done, a `HOLDINGS` `DEFAULT_UPDATE` webhook announces it (sent
/// in the background: the answer does not wait for it).
async fn investments_refresh(state: Arc<State>, r: AccessTokenRequest) -> Result<Value, SimError> {
    let item_id = {
        let mut world = state.world();
        let item = state.item(&mut world, &r.access_token)?;
        data_call_checks(item, "INVESTMENT_TRANSACTIONS_LIMIT")?;
        item.last_update = state.config.clock.now();
        item.item_id.clone()
    };
    tokio::spawn(async move {
        if let Err(reason) =
            super::deliver(&state, &item_id, "HOLDINGS", "DEFAULT_UPDATE", None).await
        {
            tracing::debug!(item = %item_id, %reason, "refresh webhook not delivered");
        }
    });
    Ok(json!({}))
}

/// `/link/token/create`: a link token, for a new item (investments must be asked for) or
/// for an existing one (update mode, with its access token: shorter lived).
async fn link_token_create(
    state: Arc<State>,
    r: LinkTokenCreateRequest,
) -> Result<Value, SimError> {
    if r.client_name.trim().is_empty() || r.user.client_user_id.trim().is_empty() {
        return Err(invalid_field(
            "client_name and user.client_user_id must be non-empty",
        ));
    }
    if r.country_codes.is_empty() {
        return Err(invalid_field("country_codes must not be empty"));
    }
    let update_mode = match &r.access_token {
        Some(token) => {
            state.item(&mut state.world(), token)?;
            true
        }
        None => {
            if !r
                .products
                .as_ref()
                .is_some_and(|p| p.iter().any(|p| p == "investments"))
            {
                return Err(err(
                    400,
                    "INVALID_INPUT",
                    "INVALID_PRODUCT",
                    "products must include investments",
                ));
            }
            false
        }
    };
    let lifetime = if update_mode {
        chrono::Duration::minutes(30)
    } else {
        chrono::Duration::hours(4)
    };
    let n = state.requests();
    Ok(json!({
        "link_token": format!("link-sandbox-{}", Rng::new(n ^ state.config.seed).id().to_lowercase()),
        "expiration": (state.config.clock.now() + lifetime).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}

/// `/webhook_verification_key/get`: the public key of a `kid` webhooks are signed with.
async fn webhook_verification_key_get(
    state: Arc<State>,
    r: WebhookVerificationKeyGetRequest,
) -> Result<Value, SimError> {
    let signer = state.signer.lock().expect("not poisoned");
    if r.key_id != signer.kid() {
        return Err(err(
            400,
            "INVALID_INPUT",
            "INVALID_WEBHOOK_VERIFICATION_KEY_ID",
            "invalid key_id provided",
        ));
    }
    Ok(json!({ "key": to_value(signer.jwk()) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FireWebhookRequest {
    access_token: AccessToken,
    webhook_type: Option<String>,
    webhook_code: String,
}

/// `/sandbox/item/fire_webhook`: sends the webhook now and answers once it is delivered.
async fn sandbox_item_fire_webhook(
    state: Arc<State>,
    r: FireWebhookRequest,
) -> Result<Value, SimError> {
    let item_id = state
        .item(&mut state.world(), &r.access_token)?
        .item_id
        .clone();
    let webhook_type = r.webhook_type.unwrap_or_else(|| "TRANSACTIONS".to_owned());
    super::deliver(&state, &item_id, &webhook_type, &r.webhook_code, None)
        .await
        .map_err(|message| err(400, "INVALID_INPUT", "SANDBOX_WEBHOOK_INVALID", message))?;
    Ok(json!({ "webhook_fired": true }))
}

/// `/sandbox/item/reset_login`: the item needs a login (the `login_required` knob), and
/// its webhook hears of it.
async fn sandbox_item_reset_login(
    state: Arc<State>,
    r: AccessTokenRequest,
) -> Result<Value, SimError> {
    let item_id = state
        .item(&mut state.world(), &r.access_token)?
        .item_id
        .clone();
    super::set_scenario(&state, &item_id, |s| s.login_required = true);
    let error = item_error(ErrorCode::ItemLoginRequired).in_webhook();
    super::deliver(&state, &item_id, "ITEM", "ERROR", Some(error))
        .await
        .ok();
    Ok(json!({ "reset_login": true }))
}

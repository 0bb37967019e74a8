//! Helpers for the sync tests: linking through GraphQL, and reading back what was stored.

use chrono::NaiveDate;
use investments::db::entities::{
    accounts, holding_snapshots, investment_holdings, investment_transactions, plaid_items,
    securities, sync_runs,
};
use investments::plaid::simulator::{Scenario, Simulator};
use investments::sync::{SyncTicket, Trigger};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use std::future::Future;

use investments::plaid::simulator::SimulatorConfig;

use crate::common::{TestApp, on_each_backend_as_alice};

pub const LINK: &str = r#"mutation($institution: String!) {
  sandboxLinkItem(input: {institutionId: $institution}) {
    item { id plaidItemId status institutionName }
    syncRun { id outcome transactionsUpserted holdingsUpserted }
    syncError { code message }
  }
}"#;

pub const REFRESH: &str = r#"mutation($id: ID!, $start: Date, $end: Date) {
  refreshItem(input: {itemId: $id, startDate: $start, endDate: $end}) {
    item { id status error { errorCode } }
    syncRun { id outcome windowStart windowEnd accountsUpserted securitiesUpserted holdingsUpserted
              holdingsRemoved snapshotsWritten transactionsUpserted transactionsCancelled }
  }
}"#;

/// A linked item: its GraphQL id, Plaid id and row.
pub struct Linked {
    pub id: String,
    pub plaid_item_id: String,
    pub row: plaid_items::Model,
}

/// Links a sandbox item through the `sandboxLinkItem` mutation; its first sync must pass.
pub async fn link(app: &TestApp, token: &str, institution: &str) -> Linked {
    let data = app
        .query(token, LINK, json!({ "institution": institution }))
        .await;
    let payload = &data["sandboxLinkItem"];
    assert_eq!(payload["syncError"], Value::Null, "{payload}");
    assert_eq!(payload["syncRun"]["outcome"], "SUCCEEDED");
    let plaid_item_id = payload["item"]["plaidItemId"].as_str().unwrap().to_owned();
    let row = plaid_items::Entity::find()
        .filter(plaid_items::Column::PlaidItemId.eq(plaid_item_id.clone()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    Linked {
        id: payload["item"]["id"].as_str().unwrap().to_owned(),
        plaid_item_id,
        row,
    }
}

/// Plaid answers about the item `plaid_item_id` as the default scenario changed by
/// `change` says (`|s| s.login_required = true`).
pub fn set_scenario(
    simulator: &Simulator,
    plaid_item_id: &str,
    change: impl FnOnce(&mut Scenario),
) {
    let mut scenario = Scenario::default();
    change(&mut scenario);
    simulator.set_scenario(plaid_item_id, scenario);
}

/// Runs `test` once per backend on a server whose Plaid is a simulator with `config`,
/// where alice (a write token) has linked First Platypus Bank (`ins_109508`) through
/// GraphQL: `test(app, alice's token, the item)`.
pub async fn on_each_backend_linked<F, Fut>(config: SimulatorConfig, test: F)
where
    F: Fn(TestApp, String, Linked) -> Fut,
    Fut: Future<Output = ()>,
{
    let test = &test;
    on_each_backend_as_alice(config, |app, token| async move {
        let item = link(&app, &token, "ins_109508").await;
        test(app, token, item).await;
    })
    .await;
}

/// A public token for a sandbox item at `institution`: what Link's onSuccess would hand
/// over.
pub async fn public_token(app: &TestApp, institution: &str) -> String {
    let created = app
        .sync()
        .plaid()
        .sandbox_public_token_create(institution, None)
        .await
        .unwrap();
    created.public_token.expose().to_owned()
}

/// Has Plaid deliver a `HOLDINGS: DEFAULT_UPDATE` webhook about `item`; returns the
/// status the server answered.
pub async fn holdings_update(app: &TestApp, item: &Linked) -> u16 {
    app.simulator()
        .fire_webhook(&item.plaid_item_id, "HOLDINGS", "DEFAULT_UPDATE", None)
        .await
        .unwrap()
}

/// Starts a manual sync of the stored item `item_id` in the background, of the window from
/// `start` when given; returns its ticket.
pub async fn start_manual_sync(
    app: &TestApp,
    item_id: i64,
    start: Option<NaiveDate>,
) -> SyncTicket {
    let row = item_row(app, item_id).await;
    app.sync()
        .start_sync(row, Trigger::Manual, start, None)
        .unwrap()
}

/// `refreshItem`'s variables for `item` over the whole history Plaid keeps (720 days).
pub fn whole_history(item: &Linked) -> Value {
    let start = chrono::Utc::now().date_naive() - chrono::Days::new(720);
    json!({ "id": item.id, "start": start.to_string() })
}

pub async fn refresh(app: &TestApp, token: &str, item: &Linked) -> (u16, Value) {
    app.post(Some(token), REFRESH, json!({ "id": item.id }))
        .await
}

/// Every stored row of the item's data (timestamps aside), sorted: two equal states are
/// the same data.
pub async fn stored_state(app: &TestApp, item_id: i64) -> Vec<String> {
    let db = &app.db;
    let accounts = accounts::Entity::find()
        .filter(accounts::Column::ItemId.eq(item_id))
        .all(db)
        .await
        .unwrap();
    let account_ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    let mut rows: Vec<String> = accounts
        .iter()
        .map(|a| {
            format!(
                "account {} {} {} {:?} {:?} {:?}",
                a.id, a.plaid_account_id, a.name, a.subtype, a.balance_current, a.balance_available
            )
        })
        .collect();
    for s in securities::Entity::find().all(db).await.unwrap() {
        rows.push(format!(
            "security {} {} {:?} {:?} {:?} {:?}",
            s.id, s.plaid_security_id, s.name, s.ticker_symbol, s.security_type, s.close_price
        ));
    }
    for h in investment_holdings::Entity::find()
        .filter(investment_holdings::Column::AccountId.is_in(account_ids.clone()))
        .all(db)
        .await
        .unwrap()
    {
        rows.push(format!(
            "holding {} {} {} {:?} {:?} {:?} {:?} {:?}",
            h.id,
            h.account_id,
            h.security_id,
            h.quantity,
            h.cost_basis,
            h.institution_price,
            h.institution_value,
            h.tax_lots
        ));
    }
    for s in holding_snapshots::Entity::find()
        .filter(holding_snapshots::Column::AccountId.is_in(account_ids.clone()))
        .all(db)
        .await
        .unwrap()
    {
        rows.push(format!(
            "snapshot {} {} {} {:?} {:?} {:?}",
            s.account_id, s.security_id, s.as_of, s.quantity, s.institution_value, s.close_price
        ));
    }
    for t in investment_transactions::Entity::find()
        .filter(investment_transactions::Column::AccountId.is_in(account_ids))
        .all(db)
        .await
        .unwrap()
    {
        rows.push(format!(
            "transaction {} {} {} {:?} {} {} {:?} {:?} {:?} {:?} {} {} {}",
            t.id,
            t.plaid_investment_transaction_id,
            t.account_id,
            t.security_id,
            t.date,
            t.name,
            t.quantity,
            t.amount,
            t.price,
            t.fees,
            t.transaction_type,
            t.subtype,
            t.cancelled
        ));
    }
    rows.sort();
    rows
}

pub async fn item_row(app: &TestApp, item_id: i64) -> plaid_items::Model {
    plaid_items::Entity::find_by_id(item_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

pub async fn runs_of(app: &TestApp, item_id: i64) -> Vec<sync_runs::Model> {
    sync_runs::Entity::find()
        .filter(sync_runs::Column::ItemId.eq(item_id))
        .order_by_asc(sync_runs::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

pub async fn transactions_of(app: &TestApp, item_id: i64) -> Vec<investment_transactions::Model> {
    let account_ids: Vec<i64> = accounts::Entity::find()
        .filter(accounts::Column::ItemId.eq(item_id))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    investment_transactions::Entity::find()
        .filter(investment_transactions::Column::AccountId.is_in(account_ids))
        .all(&app.db)
        .await
        .unwrap()
}

pub fn sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, |a, b| a + b)
}

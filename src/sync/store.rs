//! Writing one item's fetched data: a single database transaction of bulk upserts, so a
//! sync lands whole or not at all.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{DatabaseTransaction, Set};

use super::fetch::Fetched;
use crate::clock::Clock;
use crate::db::entities::{
    accounts, holding_snapshots, investment_holdings as holdings,
    investment_transactions as transactions, plaid_items, securities,
};
use crate::db::holdings::StoredTaxLot;
use crate::db::sync_runs::SyncCounts;
use crate::db::{self, Numeric};
use crate::error::ApiResult;
use crate::plaid::types::{self as wire};

fn num(d: Decimal) -> Numeric {
    Numeric(d)
}

fn opt(d: Option<Decimal>) -> Option<Numeric> {
    d.map(Numeric)
}

fn account_row(
    now: DateTime<Utc>,
    user_id: i64,
    item_id: i64,
    a: &wire::Account,
) -> accounts::ActiveModel {
    accounts::ActiveModel {
        user_id: Set(user_id),
        item_id: Set(item_id),
        plaid_account_id: Set(a.account_id.clone()),
        persistent_account_id: Set(a.persistent_account_id.clone()),
        name: Set(a.name.clone()),
        official_name: Set(a.official_name.clone()),
        mask: Set(a.mask.clone()),
        account_type: Set(a.account_type.clone()),
        subtype: Set(a.subtype.clone()),
        holder_category: Set(a.holder_category.clone()),
        balance_current: Set(opt(a.balances.current)),
        balance_available: Set(opt(a.balances.available)),
        balance_limit: Set(opt(a.balances.limit)),
        balance_margin_loan_amount: Set(opt(a.balances.margin_loan_amount)),
        balance_iso_currency_code: Set(a.balances.iso_currency_code.clone()),
        balance_unofficial_currency_code: Set(a.balances.unofficial_currency_code.clone()),
        balance_last_updated_datetime: Set(a.balances.last_updated_datetime),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Stores the accounts of a newly linked item (from `/accounts/get`).
pub async fn store_accounts(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    user_id: i64,
    item_id: i64,
    accounts: &[wire::Account],
) -> ApiResult<()> {
    let rows = accounts
        .iter()
        .map(|a| account_row(now, user_id, item_id, a))
        .collect();
    db::accounts::upsert(txn, rows).await
}

fn security_row(now: DateTime<Utc>, user_id: i64, s: &wire::Security) -> securities::ActiveModel {
    let option = s.option_contract.as_ref();
    let fixed = s.fixed_income.as_ref();
    let yield_rate = fixed.and_then(|f| f.yield_rate.as_ref());
    securities::ActiveModel {
        user_id: Set(user_id),
        plaid_security_id: Set(s.security_id.clone()),
        isin: Set(s.isin.clone()),
        cusip: Set(s.cusip.clone()),
        sedol: Set(s.sedol.clone()),
        institution_security_id: Set(s.institution_security_id.clone()),
        institution_id: Set(s.institution_id.clone()),
        proxy_security_id: Set(s.proxy_security_id.clone()),
        name: Set(s.name.clone()),
        ticker_symbol: Set(s.ticker_symbol.clone()),
        is_cash_equivalent: Set(s.is_cash_equivalent),
        security_type: Set(s.security_type.clone()),
        subtype: Set(s.subtype.clone()),
        close_price: Set(opt(s.close_price)),
        close_price_as_of: Set(s.close_price_as_of),
        update_datetime: Set(s.update_datetime),
        iso_currency_code: Set(s.iso_currency_code.clone()),
        unofficial_currency_code: Set(s.unofficial_currency_code.clone()),
        market_identifier_code: Set(s.market_identifier_code.clone()),
        sector: Set(s.sector.clone()),
        industry: Set(s.industry.clone()),
        cfi_code: Set(s.cfi_code.clone()),
        option_contract_type: Set(option.map(|o| o.contract_type.clone())),
        option_expiration_date: Set(option.map(|o| o.expiration_date)),
        option_strike_price: Set(option.map(|o| num(o.strike_price))),
        option_underlying_security_ticker: Set(option.map(|o| o.underlying_security_ticker.clone())),
        fixed_income_yield_rate_percentage: Set(yield_rate.map(|y| num(y.percentage))),
        fixed_income_yield_rate_type: Set(yield_rate.and_then(|y| y.rate_type.clone())),
        fixed_income_maturity_date: Set(fixed.and_then(|f| f.maturity_date)),
        fixed_income_issue_date: Set(fixed.and_then(|f| f.issue_date)),
        fixed_income_face_value: Set(opt(fixed.and_then(|f| f.face_value))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

fn tax_lots(lots: &Option<Vec<wire::TaxLot>>) -> Option<String> {
    let lots: Vec<StoredTaxLot> = lots
        .as_ref()?
        .iter()
        .map(|l| StoredTaxLot {
            institution_lot_id: l.institution_lot_id.clone(),
            original_purchase_datetime: l.original_purchase_datetime,
            quantity: l.quantity,
            purchase_price: l.purchase_price,
            cost_basis: l.cost_basis,
            current_value: l.current_value,
            position_type: l.position_type.clone(),
        })
        .collect();
    Some(StoredTaxLot::to_json(&lots))
}

/// Row ids a holding or transaction refers to.
struct Ids {
    accounts: HashMap<String, i64>,
    securities: HashMap<String, i64>,
}

fn holding_row(
    now: DateTime<Utc>,
    user_id: i64,
    ids: &Ids,
    h: &wire::Holding,
) -> Option<holdings::ActiveModel> {
    Some(holdings::ActiveModel {
        user_id: Set(user_id),
        account_id: Set(*ids.accounts.get(&h.account_id)?),
        security_id: Set(*ids.securities.get(&h.security_id)?),
        quantity: Set(num(h.quantity)),
        cost_basis: Set(opt(h.cost_basis)),
        institution_price: Set(num(h.institution_price)),
        institution_price_as_of: Set(h.institution_price_as_of),
        institution_price_datetime: Set(h.institution_price_datetime),
        institution_value: Set(num(h.institution_value)),
        iso_currency_code: Set(h.iso_currency_code.clone()),
        unofficial_currency_code: Set(h.unofficial_currency_code.clone()),
        vested_quantity: Set(opt(h.vested_quantity)),
        vested_value: Set(opt(h.vested_value)),
        tax_lots: Set(tax_lots(&h.tax_lots)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
}

fn snapshot_row(
    now: DateTime<Utc>,
    user_id: i64,
    ids: &Ids,
    today: NaiveDate,
    h: &wire::Holding,
    close_price: Option<Decimal>,
) -> Option<holding_snapshots::ActiveModel> {
    Some(holding_snapshots::ActiveModel {
        user_id: Set(user_id),
        account_id: Set(*ids.accounts.get(&h.account_id)?),
        security_id: Set(*ids.securities.get(&h.security_id)?),
        as_of: Set(today),
        quantity: Set(num(h.quantity)),
        cost_basis: Set(opt(h.cost_basis)),
        institution_price: Set(num(h.institution_price)),
        institution_value: Set(num(h.institution_value)),
        close_price: Set(opt(close_price)),
        iso_currency_code: Set(h.iso_currency_code.clone()),
        unofficial_currency_code: Set(h.unofficial_currency_code.clone()),
        created_at: Set(now),
        ..Default::default()
    })
}

fn transaction_row(
    now: DateTime<Utc>,
    user_id: i64,
    ids: &Ids,
    t: &wire::InvestmentTransaction,
) -> Option<transactions::ActiveModel> {
    Some(transactions::ActiveModel {
        user_id: Set(user_id),
        account_id: Set(*ids.accounts.get(&t.account_id)?),
        security_id: Set(t
            .security_id
            .as_ref()
            .and_then(|s| ids.securities.get(s).copied())),
        plaid_investment_transaction_id: Set(t.investment_transaction_id.clone()),
        cancel_transaction_id: Set(t.cancel_transaction_id.clone()),
        date: Set(t.date),
        transaction_datetime: Set(t.transaction_datetime),
        name: Set(t.name.clone()),
        quantity: Set(num(t.quantity)),
        amount: Set(num(t.amount)),
        price: Set(num(t.price)),
        fees: Set(opt(t.fees)),
        transaction_type: Set(t.transaction_type.clone()),
        subtype: Set(t.subtype.clone()),
        iso_currency_code: Set(t.iso_currency_code.clone()),
        unofficial_currency_code: Set(t.unofficial_currency_code.clone()),
        // A cancel row only records a cancellation: flagged like the one it cancels, so
        // totals count neither.
        cancelled: Set(t.transaction_type == "cancel"),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
}

/// The transaction a `cancel` row cancels: the one Plaid names in the (deprecated)
/// `cancel_transaction_id`, else the latest live transaction of the same account and
/// security, on or before the cancel's date, that the cancel reverses exactly (amount and
/// quantity of opposite sign).
fn cancel_target<'a>(
    cancel: &wire::InvestmentTransaction,
    account_id: i64,
    security_id: Option<i64>,
    candidates: &'a [transactions::Model],
) -> Option<&'a transactions::Model> {
    if let Some(target) = &cancel.cancel_transaction_id {
        return candidates
            .iter()
            .find(|t| &t.plaid_investment_transaction_id == target);
    }
    candidates
        .iter()
        .filter(|t| {
            t.account_id == account_id
                && t.security_id == security_id
                && t.transaction_type != "cancel"
                && t.date <= cancel.date
                && t.amount.0 == -cancel.amount
                && t.quantity.0 == -cancel.quantity
        })
        .max_by_key(|t| (t.date, t.id))
}

/// Writes everything fetched for `item` inside `txn` and returns what changed.
pub async fn store(
    txn: &DatabaseTransaction,
    item: &plaid_items::Model,
    fetched: &Fetched,
    window: (NaiveDate, NaiveDate),
    clock: &Clock,
) -> ApiResult<SyncCounts> {
    let user_id = item.user_id;
    let now = clock.now();
    let today = clock.today();
    let mut counts = SyncCounts::default();

    // Accounts and securities first: holdings and transactions refer to their row ids.
    let account_rows: Vec<_> = fetched
        .accounts
        .values()
        .map(|a| account_row(now, user_id, item.id, a))
        .collect();
    counts.accounts_upserted = account_rows.len() as i32;
    db::accounts::upsert(txn, account_rows).await?;
    let security_rows: Vec<_> = fetched
        .securities
        .values()
        .map(|s| security_row(now, user_id, s))
        .collect();
    counts.securities_upserted = security_rows.len() as i32;
    db::securities::upsert(txn, security_rows).await?;
    let ids = Ids {
        accounts: db::accounts::ids_by_plaid_id(
            txn,
            user_id,
            &fetched.accounts.keys().cloned().collect::<Vec<_>>(),
        )
        .await?,
        securities: db::securities::ids_by_plaid_id(
            txn,
            user_id,
            &fetched.securities.keys().cloned().collect::<Vec<_>>(),
        )
        .await?,
    };

    // Holdings: the response is the full picture of each account it lists, so positions
    // of those accounts that it no longer lists were closed.
    let holding_rows: Vec<_> = fetched
        .holdings
        .iter()
        .filter_map(|h| holding_row(now, user_id, &ids, h))
        .collect();
    if holding_rows.len() != fetched.holdings.len() {
        tracing::warn!(
            item = %item.plaid_item_id,
            skipped = fetched.holdings.len() - holding_rows.len(),
            "holdings naming an account or security missing from the response were skipped"
        );
    }
    counts.holdings_upserted = holding_rows.len() as i32;
    db::holdings::upsert(txn, holding_rows).await?;
    let full_accounts: Vec<i64> = fetched
        .holdings_accounts
        .iter()
        .filter_map(|a| ids.accounts.get(a).copied())
        .collect();
    let returned: HashSet<(i64, i64)> = fetched
        .holdings
        .iter()
        .filter_map(|h| {
            Some((
                *ids.accounts.get(&h.account_id)?,
                *ids.securities.get(&h.security_id)?,
            ))
        })
        .collect();
    let sold: Vec<i64> = db::holdings::keys_of_accounts(txn, &full_accounts)
        .await?
        .into_iter()
        .filter(|(_, account, security)| !returned.contains(&(*account, *security)))
        .map(|(id, _, _)| id)
        .collect();
    counts.holdings_removed = sold.len() as i32;
    db::holdings::delete_ids(txn, &sold).await?;

    // Today's snapshot of every position (the source of value and price history).
    let snapshot_rows: Vec<_> = fetched
        .holdings
        .iter()
        .filter_map(|h| {
            let close = fetched
                .securities
                .get(&h.security_id)
                .and_then(|s| s.close_price);
            snapshot_row(now, user_id, &ids, today, h, close)
        })
        .collect();
    counts.snapshots_written = snapshot_rows.len() as i32;
    db::snapshots::delete_day(txn, &full_accounts, today).await?;
    db::snapshots::mark_pictured(txn, user_id, &full_accounts, today).await?;
    db::snapshots::upsert(txn, snapshot_rows).await?;

    // Transactions, upserted by Plaid id (remembering which were flagged before, so that
    // only new cancellations are counted).
    let covered: Vec<i64> = fetched
        .transaction_accounts
        .iter()
        .filter_map(|a| ids.accounts.get(a).copied())
        .collect();
    let flagged_before: HashSet<String> =
        db::transactions::of_accounts_in_window(txn, &covered, window.0, window.1)
            .await?
            .into_iter()
            .filter(|t| t.cancelled)
            .map(|t| t.plaid_investment_transaction_id)
            .collect();
    let transaction_rows: Vec<_> = fetched
        .transactions
        .iter()
        .filter_map(|t| transaction_row(now, user_id, &ids, t))
        .collect();
    counts.transactions_upserted = transaction_rows.len() as i32;
    db::transactions::upsert(txn, transaction_rows).await?;

    // Cancellations: the targets of cancel rows, and ids that vanished from the window
    // (it was fetched whole) are flagged, never deleted.
    let stored = db::transactions::of_accounts_in_window(txn, &covered, window.0, window.1).await?;
    let fetched_ids: HashSet<&str> = fetched
        .transactions
        .iter()
        .map(|t| t.investment_transaction_id.as_str())
        .collect();
    let mut cancelled: HashSet<i64> = stored
        .iter()
        .filter(|t| {
            !t.cancelled && !fetched_ids.contains(t.plaid_investment_transaction_id.as_str())
        })
        .map(|t| t.id)
        .collect();
    for cancel in fetched
        .transactions
        .iter()
        .filter(|t| t.transaction_type == "cancel")
    {
        let Some(&account_id) = ids.accounts.get(&cancel.account_id) else {
            continue;
        };
        let security_id = cancel
            .security_id
            .as_ref()
            .and_then(|s| ids.securities.get(s).copied());
        if let Some(target) = cancel_target(cancel, account_id, security_id, &stored)
            && !target.cancelled
        {
            cancelled.insert(target.id);
        }
    }
    let cancelled: Vec<i64> = cancelled.into_iter().collect();
    counts.transactions_cancelled = stored
        .iter()
        .filter(|t| cancelled.contains(&t.id))
        .filter(|t| !flagged_before.contains(&t.plaid_investment_transaction_id))
        .count() as i32;
    db::transactions::mark_cancelled(txn, &cancelled).await?;

    // The item: healthy again, with Plaid's current view of it.
    let products = |p: &Vec<String>| serde_json::to_string(p).ok();
    db::items::update(
        txn,
        plaid_items::ActiveModel {
            id: Set(item.id),
            status: Set("healthy".to_owned()),
            error_type: Set(None),
            error_code: Set(None),
            error_message: Set(None),
            error_display_message: Set(None),
            institution_id: Set(fetched
                .item
                .institution_id
                .clone()
                .or(item.institution_id.clone())),
            webhook: Set(fetched.item.webhook.clone()),
            available_products: Set(products(&fetched.item.available_products)),
            billed_products: Set(products(&fetched.item.billed_products)),
            consent_expiration_time: Set(fetched.item.consent_expiration_time),
            update_type: Set(Some(fetched.item.update_type.clone())),
            last_attempt_at: Set(Some(now)),
            last_success_at: Set(Some(now)),
            ..Default::default()
        },
    )
    .await?;
    Ok(counts)
}

//! Plaid's wire objects as rows of our tables. The sync writes them, and the tests'
//! fixtures insert through the same builders, so a fixture cannot drift from what a sync
//! stores.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::Set;

use crate::db::Numeric;
use crate::db::entities::{
    accounts, holding_snapshots, investment_holdings as holdings,
    investment_transactions as transactions, securities,
};
use crate::db::holdings::StoredTaxLot;
use crate::plaid::types::{self as wire};
use crate::vocabulary::CANCEL;

/// An exact decimal as stored.
pub fn num(d: Decimal) -> Numeric {
    Numeric(d)
}

/// An optional exact decimal as stored.
pub fn opt(d: Option<Decimal>) -> Option<Numeric> {
    d.map(Numeric)
}

/// An account of item `item_id` (from `/accounts/get` or `/investments/holdings/get`).
pub fn account_row(
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
        // Listed again: open (an account reopened at the institution comes back).
        closed_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// A security the user holds or traded.
pub fn security_row(
    now: DateTime<Utc>,
    user_id: i64,
    s: &wire::Security,
) -> securities::ActiveModel {
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

/// A position in account `account_id` of security `security_id` (the rows `h` names).
pub fn holding_row(
    now: DateTime<Utc>,
    user_id: i64,
    account_id: i64,
    security_id: i64,
    h: &wire::Holding,
) -> holdings::ActiveModel {
    holdings::ActiveModel {
        user_id: Set(user_id),
        account_id: Set(account_id),
        security_id: Set(security_id),
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
    }
}

/// The position `h` as it stood on `today`, with the security's close price then.
#[allow(clippy::too_many_arguments)]
pub fn snapshot_row(
    now: DateTime<Utc>,
    user_id: i64,
    account_id: i64,
    security_id: i64,
    today: NaiveDate,
    h: &wire::Holding,
    close_price: Option<Decimal>,
) -> holding_snapshots::ActiveModel {
    holding_snapshots::ActiveModel {
        user_id: Set(user_id),
        account_id: Set(account_id),
        security_id: Set(security_id),
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
    }
}

/// A transaction of account `account_id` in security `security_id` (the rows `t` names).
pub fn transaction_row(
    now: DateTime<Utc>,
    user_id: i64,
    account_id: i64,
    security_id: Option<i64>,
    t: &wire::InvestmentTransaction,
) -> transactions::ActiveModel {
    transactions::ActiveModel {
        user_id: Set(user_id),
        account_id: Set(account_id),
        security_id: Set(security_id),
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
        cancelled: Set(t.transaction_type == CANCEL),
        cancelled_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

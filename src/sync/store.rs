//! Writing one item's fetched data: a single database transaction of bulk upserts, so a
//! sync lands whole or not at all.

use std::collections::{BTreeMap, HashMap, HashSet};

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
use crate::plaid::error::PlaidError;
use crate::plaid::types::{self as wire};
use crate::vocabulary::{CANCEL, ItemStatus};

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
        // Listed again: open (an account reopened at the institution comes back).
        closed_on: Set(None),
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
        cancelled: Set(t.transaction_type == CANCEL),
        cancelled_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
}

/// True when `new` is `old` re-issued under another id (Plaid's account churn): the same
/// `persistent_account_id` when both have one, else the same type, subtype, mask and name.
fn same_account(old: &accounts::Model, new: &wire::Account) -> bool {
    match (&old.persistent_account_id, &new.persistent_account_id) {
        (Some(a), Some(b)) => a == b,
        _ => {
            old.account_type == new.account_type
                && old.subtype == new.subtype
                && old.mask == new.mask
                && old.name == new.name
        }
    }
}

/// Pairs of (stored account, new Plaid id) where an account the answer no longer lists
/// matches exactly one new account and that account matches only it; ambiguous look-alikes
/// are never merged (they close and open instead).
fn reissued<'a>(
    gone: &[&'a accounts::Model],
    new: &[&'a wire::Account],
) -> Vec<(&'a accounts::Model, &'a str)> {
    gone.iter()
        .filter_map(|old| {
            let mut candidates = new.iter().filter(|n| same_account(old, n));
            let candidate = candidates.next()?;
            if candidates.next().is_some()
                || gone.iter().filter(|o| same_account(o, candidate)).count() != 1
            {
                return None;
            }
            Some((*old, candidate.account_id.as_str()))
        })
        .collect()
}

/// The transaction a `cancel` row cancels: the one Plaid names in the (deprecated)
/// `cancel_transaction_id`, else, among every stored live transaction of the same account
/// and security dated on or before the cancel, the latest that the cancel reverses exactly
/// (amount and quantity of opposite sign) and that no other cancel has taken.
async fn cancel_target(
    txn: &DatabaseTransaction,
    cancel: &wire::InvestmentTransaction,
    account_id: i64,
    security_id: Option<i64>,
    taken: &HashSet<i64>,
) -> ApiResult<Option<transactions::Model>> {
    if let Some(target) = &cancel.cancel_transaction_id {
        return Ok(
            db::transactions::by_plaid_ids(txn, std::slice::from_ref(target))
                .await?
                .into_iter()
                .find(|t| !t.cancelled && !taken.contains(&t.id)),
        );
    }
    Ok(
        db::transactions::cancel_candidates(txn, account_id, security_id, cancel.date)
            .await?
            .into_iter()
            .filter(|t| {
                !taken.contains(&t.id)
                    && t.amount.0 == -cancel.amount
                    && t.quantity.0 == -cancel.quantity
            })
            .max_by_key(|t| (t.date, t.id)),
    )
}

/// Most days an institution's prices may lag the sync and still date its picture: a
/// weekend or a long weekend. Older prices are stale quotes of holdings seen today.
const PRICE_DATE_LAG_DAYS: u64 = 3;

/// The day a sync pictures an account: the latest `institution_price_as_of` of its
/// holdings when Plaid gives one (not after today, at most [`PRICE_DATE_LAG_DAYS`] before),
/// else today in the clock's time zone. So a Saturday sync of Friday's prices is Friday's
/// value, and an evening sync in New York is dated that evening.
fn picture_day(holdings: &[&wire::Holding], today: NaiveDate) -> NaiveDate {
    let oldest = today - chrono::Days::new(PRICE_DATE_LAG_DAYS);
    holdings
        .iter()
        .filter_map(|h| h.institution_price_as_of)
        .filter(|d| *d <= today && *d >= oldest)
        .max()
        .unwrap_or(today)
}

/// Writes everything fetched for `item` inside `txn` and returns what changed, step by
/// step: accounts, securities, holdings, snapshots, transactions, cancels, vanished rows,
/// the item.
pub async fn store(
    txn: &DatabaseTransaction,
    item: &plaid_items::Model,
    fetched: &Fetched,
    window: (NaiveDate, NaiveDate),
    clock: &Clock,
) -> ApiResult<SyncCounts> {
    let mut w = Writer {
        txn,
        item,
        fetched,
        now: clock.now(),
        today: clock.today(),
        counts: SyncCounts::default(),
    };
    let accounts = w.accounts().await?;
    let ids = w.securities_and_ids().await?;
    w.holdings(&ids, &accounts.closed).await?;
    w.snapshots(&ids, &accounts.closed).await?;
    w.transactions(&ids).await?;
    let taken = w.cancels(&ids).await?;
    let vanished = w.vanished(&ids, &accounts.reissued_on, window).await?;
    w.counts.transactions_cancelled = (taken + vanished) as i32;
    w.item_status().await?;
    Ok(w.counts)
}

/// One sync's writes: what it works from and what it counted.
struct Writer<'a> {
    txn: &'a DatabaseTransaction,
    item: &'a plaid_items::Model,
    fetched: &'a Fetched,
    now: DateTime<Utc>,
    today: NaiveDate,
    counts: SyncCounts,
}

/// What the accounts step found.
struct AccountChanges {
    /// Rows of the accounts found closed by this sync.
    closed: Vec<i64>,
    /// The re-issue day of every re-issued account of the item (this sync's included).
    reissued_on: HashMap<i64, NaiveDate>,
}

impl Writer<'_> {
    /// Accounts. One the answer no longer lists was closed at the institution, unless it
    /// was re-issued under a new id: then the new id takes over its row (history,
    /// positions), so it is neither an outflow nor counted twice.
    async fn accounts(&mut self) -> ApiResult<AccountChanges> {
        let (txn, fetched, today) = (self.txn, self.fetched, self.today);
        let stored = db::accounts::of_item(txn, self.item.id).await?;
        let stored_ids: HashSet<&str> =
            stored.iter().map(|a| a.plaid_account_id.as_str()).collect();
        // Without an answer about accounts (`NO_INVESTMENT_ACCOUNTS`: the item has only
        // other kinds), none is known to be gone.
        let gone: Vec<&accounts::Model> = stored
            .iter()
            .filter(|a| {
                fetched.item.is_some() && !fetched.accounts.contains_key(&a.plaid_account_id)
            })
            .collect();
        let new: Vec<&wire::Account> = fetched
            .accounts
            .values()
            .filter(|a| !stored_ids.contains(a.account_id.as_str()))
            .collect();
        let renamed = reissued(&gone, &new);
        for (old, new_id) in &renamed {
            tracing::info!(item = %self.item.plaid_item_id, from = %old.plaid_account_id, to = %new_id, "account re-issued under a new id");
            db::accounts::reissue(txn, old.id, new_id, today).await?;
        }
        self.counts.accounts_reissued = renamed.len() as i32;
        let closed: Vec<i64> = gone
            .iter()
            .filter(|a| a.closed_on.is_none() && !renamed.iter().any(|(old, _)| old.id == a.id))
            .map(|a| a.id)
            .collect();
        self.counts.accounts_closed = closed.len() as i32;
        db::accounts::mark_closed(txn, &closed, today).await?;

        let rows: Vec<_> = fetched
            .accounts
            .values()
            .map(|a| account_row(self.now, self.item.user_id, self.item.id, a))
            .collect();
        self.counts.accounts_upserted = rows.len() as i32;
        db::accounts::upsert(txn, rows).await?;
        Ok(AccountChanges {
            closed,
            reissued_on: stored
                .iter()
                .filter_map(|a| Some((a.id, a.reissued_on?)))
                .chain(renamed.iter().map(|(old, _)| (old.id, today)))
                .collect(),
        })
    }

    /// Securities, with a placeholder for any Plaid named without describing it; then the
    /// row ids holdings and transactions refer to.
    async fn securities_and_ids(&mut self) -> ApiResult<Ids> {
        let (txn, fetched, user_id) = (self.txn, self.fetched, self.item.user_id);
        let rows: Vec<_> = fetched
            .securities
            .values()
            .map(|s| security_row(self.now, user_id, s))
            .collect();
        self.counts.securities_upserted = rows.len() as i32;
        db::securities::upsert(txn, rows).await?;
        let mut named: HashMap<String, Option<&str>> = HashMap::new();
        for h in &fetched.holdings {
            named.insert(h.security_id.clone(), h.iso_currency_code.as_deref());
        }
        for t in &fetched.transactions {
            if let Some(id) = &t.security_id {
                named
                    .entry(id.clone())
                    .or_insert(t.iso_currency_code.as_deref());
            }
        }
        named.retain(|id, _| !fetched.securities.contains_key(id));
        let missing: Vec<String> = named.keys().cloned().collect();
        let known = db::securities::ids_by_plaid_id(txn, user_id, &missing).await?;
        let placeholders: Vec<_> = named
            .iter()
            .filter(|(id, _)| !known.contains_key(*id))
            .map(|(id, currency)| {
                security_row(
                    self.now,
                    user_id,
                    // Named without being described: kept under its id, not dropped as sold.
                    &wire::Security::bare(id, currency.map(str::to_owned)),
                )
            })
            .collect();
        if !placeholders.is_empty() {
            tracing::warn!(item = %self.item.plaid_item_id, securities = ?missing, "securities named but not described by Plaid kept as placeholders");
            db::securities::upsert(txn, placeholders).await?;
        }
        let security_ids: Vec<String> = fetched.securities.keys().cloned().chain(missing).collect();
        Ok(Ids {
            accounts: db::accounts::ids_by_plaid_id(
                txn,
                user_id,
                &fetched.accounts.keys().cloned().collect::<Vec<_>>(),
            )
            .await?,
            securities: db::securities::ids_by_plaid_id(txn, user_id, &security_ids).await?,
        })
    }

    /// Holdings: the response is the full picture of each account it lists, so positions
    /// of those accounts that it no longer lists were closed; a closed account holds
    /// nothing.
    async fn holdings(&mut self, ids: &Ids, closed: &[i64]) -> ApiResult<()> {
        let (txn, fetched) = (self.txn, self.fetched);
        let rows: Vec<_> = fetched
            .holdings
            .iter()
            .filter_map(|h| holding_row(self.now, self.item.user_id, ids, h))
            .collect();
        if rows.len() != fetched.holdings.len() {
            tracing::warn!(
                item = %self.item.plaid_item_id,
                skipped = fetched.holdings.len() - rows.len(),
                "holdings naming an account missing from the response were skipped"
            );
        }
        self.counts.holdings_upserted = rows.len() as i32;
        db::holdings::upsert(txn, rows).await?;
        let full_accounts: Vec<i64> = fetched
            .holdings_accounts
            .iter()
            .filter_map(|a| ids.accounts.get(a).copied())
            .chain(closed.iter().copied())
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
        self.counts.holdings_removed = sold.len() as i32;
        db::holdings::delete_ids(txn, &sold).await
    }

    /// The day's snapshot of every position (the source of value and price history), each
    /// account on the day its prices are as of; a closed account is pictured empty on the
    /// day it was found gone, so its history drops to zero from then.
    async fn snapshots(&mut self, ids: &Ids, closed: &[i64]) -> ApiResult<()> {
        let (txn, fetched, today) = (self.txn, self.fetched, self.today);
        let mut by_account: HashMap<&str, Vec<&wire::Holding>> = HashMap::new();
        for h in &fetched.holdings {
            by_account.entry(h.account_id.as_str()).or_default().push(h);
        }
        let mut days: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
        let mut day_of: HashMap<&str, NaiveDate> = HashMap::new();
        for account in &fetched.holdings_accounts {
            let Some(&id) = ids.accounts.get(account) else {
                continue;
            };
            let holdings = by_account
                .get(account.as_str())
                .map_or(&[][..], Vec::as_slice);
            let day = picture_day(holdings, today);
            day_of.insert(account.as_str(), day);
            days.entry(day).or_default().push(id);
        }
        days.entry(today)
            .or_default()
            .extend(closed.iter().copied());
        let rows: Vec<_> = fetched
            .holdings
            .iter()
            .filter_map(|h| {
                let close = fetched
                    .securities
                    .get(&h.security_id)
                    .and_then(|s| s.close_price);
                let day = day_of.get(h.account_id.as_str()).copied().unwrap_or(today);
                snapshot_row(self.now, self.item.user_id, ids, day, h, close)
            })
            .collect();
        self.counts.snapshots_written = rows.len() as i32;
        for (day, accounts) in &days {
            db::snapshots::delete_day(txn, accounts, *day).await?;
            db::snapshots::mark_pictured(txn, self.item.user_id, accounts, *day).await?;
        }
        db::snapshots::upsert(txn, rows).await
    }

    /// Transactions, upserted by Plaid id; rows of accounts the answer did not list cannot
    /// be placed: counted on the run and logged.
    async fn transactions(&mut self, ids: &Ids) -> ApiResult<()> {
        let fetched = self.fetched;
        let rows: Vec<_> = fetched
            .transactions
            .iter()
            .filter_map(|t| transaction_row(self.now, self.item.user_id, ids, t))
            .collect();
        self.counts.transactions_skipped = (fetched.transactions.len() - rows.len()) as i32;
        if self.counts.transactions_skipped > 0 {
            tracing::warn!(
                item = %self.item.plaid_item_id,
                skipped = self.counts.transactions_skipped,
                "transactions of accounts missing from the answer were not stored"
            );
        }
        self.counts.transactions_upserted = rows.len() as i32;
        db::transactions::upsert(self.txn, rows).await
    }

    /// Cancels: each new `cancel` row takes one trade, wherever in time it is. Returns how
    /// many trades were cancelled.
    async fn cancels(&mut self, ids: &Ids) -> ApiResult<usize> {
        let txn = self.txn;
        let mut cancels: Vec<&wire::InvestmentTransaction> = self
            .fetched
            .transactions
            .iter()
            .filter(|t| t.transaction_type == CANCEL)
            .collect();
        cancels.sort_by(|a, b| {
            (a.date, &a.investment_transaction_id).cmp(&(b.date, &b.investment_transaction_id))
        });
        let cancel_ids: Vec<String> = cancels
            .iter()
            .map(|c| c.investment_transaction_id.clone())
            .collect();
        let applied = db::transactions::applied_cancels(txn, &cancel_ids).await?;
        let mut taken: HashSet<i64> = HashSet::new();
        for cancel in cancels {
            if applied.contains(&cancel.investment_transaction_id) {
                continue;
            }
            let Some(&account_id) = ids.accounts.get(&cancel.account_id) else {
                continue;
            };
            let security_id = cancel
                .security_id
                .as_ref()
                .and_then(|s| ids.securities.get(s).copied());
            match cancel_target(txn, cancel, account_id, security_id, &taken).await? {
                Some(target) => {
                    taken.insert(target.id);
                    db::transactions::mark_cancelled(
                        txn,
                        &[target.id],
                        Some(&cancel.investment_transaction_id),
                        self.now,
                    )
                    .await?;
                }
                None => tracing::warn!(
                    item = %self.item.plaid_item_id,
                    cancel = %cancel.investment_transaction_id,
                    "a cancel row matched no stored transaction"
                ),
            }
        }
        Ok(taken.len())
    }

    /// Rows that vanished from the window (it was walked whole and stable) are flagged,
    /// never deleted; rows flagged so that came back are live again. Plaid serves no
    /// history under an account's old id once it is re-issued: rows dated up to the
    /// re-issue are history, not vanished rows. Returns how many were flagged.
    async fn vanished(
        &mut self,
        ids: &Ids,
        reissued_on: &HashMap<i64, NaiveDate>,
        window: (NaiveDate, NaiveDate),
    ) -> ApiResult<usize> {
        let (txn, fetched) = (self.txn, self.fetched);
        let covered: Vec<i64> = fetched
            .transaction_accounts
            .iter()
            .filter_map(|a| ids.accounts.get(a).copied())
            .collect();
        let stored =
            db::transactions::of_accounts_in_window(txn, &covered, window.0, window.1).await?;
        let fetched_ids: HashSet<&str> = fetched
            .transactions
            .iter()
            .map(|t| t.investment_transaction_id.as_str())
            .collect();
        let reappeared: Vec<i64> = stored
            .iter()
            .filter(|t| {
                t.cancelled
                    && t.cancelled_by.is_none()
                    && t.transaction_type != CANCEL
                    && fetched_ids.contains(t.plaid_investment_transaction_id.as_str())
            })
            .map(|t| t.id)
            .collect();
        db::transactions::restore_reappeared(txn, &reappeared, self.now).await?;
        if !fetched.stable {
            tracing::info!(item = %self.item.plaid_item_id, "transaction total never settled: no row is flagged as vanished");
            return Ok(0);
        }
        let vanished: Vec<i64> = stored
            .iter()
            .filter(|t| {
                !t.cancelled
                    && !fetched_ids.contains(t.plaid_investment_transaction_id.as_str())
                    && reissued_on
                        .get(&t.account_id)
                        .is_none_or(|day| t.date > *day)
            })
            .map(|t| t.id)
            .collect();
        db::transactions::mark_cancelled(txn, &vanished, None, self.now).await?;
        Ok(vanished.len())
    }

    /// The item, with Plaid's current view of it and the status that view calls for.
    async fn item_status(&mut self) -> ApiResult<()> {
        let (item, fetched) = (self.item, self.fetched);
        let mut changes = plaid_items::ActiveModel {
            id: Set(item.id),
            last_attempt_at: Set(Some(self.now)),
            last_success_at: Set(Some(self.now)),
            ..Default::default()
        };
        let current = ItemStatus::from_stored(&item.status);
        let (status, error) = match fetched.item.as_ref().and_then(|i| i.error.as_ref()) {
            // An error inside a successful answer is Plaid's word on the item: honoured.
            Some(error) => (
                super::status_after(&PlaidError::Api {
                    status: error.status.unwrap_or(400),
                    body: Box::new(error.clone()),
                }),
                Some(error),
            ),
            // A renewed consent (a later expiry) ends a pending expiration.
            None if current == ItemStatus::PendingExpiration
                && fetched
                    .item
                    .as_ref()
                    .and_then(|i| i.consent_expiration_time)
                    .zip(item.consent_expiration_time)
                    .is_some_and(|(new, old)| new > old) =>
            {
                (ItemStatus::Healthy, None)
            }
            // Consent and disconnect warnings outlive a sync; only a re-link clears them.
            None if current.survives_sync() => (current, None),
            None => (ItemStatus::Healthy, None),
        };
        changes.status = Set(status.as_str().to_owned());
        if !current.survives_sync() || error.is_some() || status == ItemStatus::Healthy {
            changes.error_type = Set(error.map(|e| e.error_type.clone()));
            changes.error_code = Set(error.map(|e| e.error_code.clone()));
            changes.error_message = Set(error.map(|e| e.error_message.clone()));
            changes.error_display_message = Set(error.and_then(|e| e.display_message.clone()));
        }
        if let Some(plaid_item) = &fetched.item {
            let products = |p: &Vec<String>| serde_json::to_string(p).ok();
            changes.institution_id = Set(plaid_item
                .institution_id
                .clone()
                .or(item.institution_id.clone()));
            changes.webhook = Set(plaid_item.webhook.clone());
            changes.available_products = Set(products(&plaid_item.available_products));
            changes.billed_products = Set(products(&plaid_item.billed_products));
            changes.consent_expiration_time = Set(plaid_item.consent_expiration_time);
            changes.update_type = Set(Some(plaid_item.update_type.clone()));
        }
        db::items::update(self.txn, changes).await?;
        Ok(())
    }
}

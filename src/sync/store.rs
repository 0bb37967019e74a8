//! Writing one item's answer: a single database transaction of bulk statements, so a sync
//! lands whole or not at all. The window's transactions are written chunk by chunk as
//! Plaid's pages come in; what the later rules need (the ids seen, the `cancel` rows) is
//! all that is kept of them.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{DatabaseTransaction, Set, TransactionTrait};

use super::Failure;
use super::fetch::{Answer, Chunk, FetchPlan, OnPage};
use super::rows;
use crate::clock::Clock;
use crate::db::entities::{
    accounts, holding_snapshots, investment_holdings as holdings,
    investment_transactions as transactions, plaid_items,
};
use crate::db::sync_runs::SyncCounts;
use crate::db::unscoped::Unscoped;
use crate::error::{ApiError, ApiResult};
use crate::plaid::client::PlaidApi;
use crate::plaid::error::PlaidError;
use crate::plaid::types::{self as wire};
use crate::vocabulary::{CANCEL, ItemStatus};

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
        .map(|a| rows::account_row(now, user_id, item_id, a))
        .collect();
    Unscoped::new(txn).accounts().upsert(rows).await
}

/// Row ids a holding or transaction refers to.
#[derive(Default)]
struct Ids {
    accounts: HashMap<String, i64>,
    securities: HashMap<String, i64>,
}

/// The row of holding `h`, once its account and security are stored.
fn holding_row(
    now: DateTime<Utc>,
    user_id: i64,
    ids: &Ids,
    h: &wire::Holding,
) -> Option<holdings::ActiveModel> {
    let account = *ids.accounts.get(&h.account_id)?;
    let security = *ids.securities.get(&h.security_id)?;
    Some(rows::holding_row(now, user_id, account, security, h))
}

/// The snapshot row of holding `h` on `today`, once its account and security are stored.
fn snapshot_row(
    now: DateTime<Utc>,
    user_id: i64,
    ids: &Ids,
    today: NaiveDate,
    h: &wire::Holding,
    close_price: Option<Decimal>,
) -> Option<holding_snapshots::ActiveModel> {
    let account = *ids.accounts.get(&h.account_id)?;
    let security = *ids.securities.get(&h.security_id)?;
    Some(rows::snapshot_row(
        now,
        user_id,
        account,
        security,
        today,
        h,
        close_price,
    ))
}

/// The row of transaction `t`, once its account is stored.
fn transaction_row(
    now: DateTime<Utc>,
    user_id: i64,
    ids: &Ids,
    t: &wire::InvestmentTransaction,
) -> Option<transactions::ActiveModel> {
    let account = *ids.accounts.get(&t.account_id)?;
    let security = t
        .security_id
        .as_ref()
        .and_then(|s| ids.securities.get(s).copied());
    Some(rows::transaction_row(now, user_id, account, security, t))
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

/// Transactions read from Plaid before they are written: a sync holds about this many
/// rows at a time, however long its window. Most items' whole window fits in one chunk,
/// which is read before the database is touched at all.
pub const CHUNK_TRANSACTIONS: usize = 10_000;

/// Where the pages of a window come from.
pub struct Source<'a> {
    pub plaid: &'a dyn PlaidApi,
    pub plan: &'a FetchPlan,
    pub on_page: OnPage<'a>,
}

impl Source<'_> {
    /// The next chunk of the window's transactions, as [`Answer::next_chunk`].
    async fn next_chunk(&self, answer: &mut Answer) -> Result<Option<Chunk>, PlaidError> {
        answer
            .next_chunk(self.plaid, self.plan, self.on_page, CHUNK_TRANSACTIONS)
            .await
    }

    /// The first chunk of the current walk, walking again as long as the total changes
    /// (empty when the window is).
    pub async fn first_chunk(
        &self,
        answer: &mut Answer,
    ) -> Result<Vec<wire::InvestmentTransaction>, PlaidError> {
        loop {
            match self.next_chunk(answer).await? {
                Some(Chunk::Restarted) => continue,
                Some(Chunk::Rows(rows)) => return Ok(rows),
                None => return Ok(Vec::new()),
            }
        }
    }
}

/// Writes `answer` inside `txn`, starting with its `first` chunk of transactions and
/// reading the rest of the window from `source` chunk by chunk; returns what changed. A
/// walk that restarts midway (the total changed) is rolled back to a savepoint and
/// written again from its first page, so only the last walk's rows land, as if the window
/// had been read whole before writing.
pub async fn store(
    txn: &DatabaseTransaction,
    item: &plaid_items::Model,
    answer: &mut Answer,
    first: Vec<wire::InvestmentTransaction>,
    source: &Source<'_>,
    window: (NaiveDate, NaiveDate),
    clock: &Clock,
) -> Result<SyncCounts, Failure> {
    let mut first = Some(first);
    loop {
        let rows = match first.take() {
            Some(rows) => rows,
            None => source.first_chunk(answer).await?,
        };
        let walk = txn.begin().await.map_err(ApiError::from)?;
        let written = write_walk(&walk, item, answer, rows, source, window, clock).await?;
        match written {
            Some(counts) => {
                walk.commit().await.map_err(ApiError::from)?;
                return Ok(counts);
            }
            None => walk.rollback().await.map_err(ApiError::from)?,
        }
    }
}

/// One walk through the window, step by step: accounts, securities and transactions
/// chunk by chunk; then closed accounts, holdings, snapshots, cancels, vanished rows, the
/// item. `None` when the walk restarted.
async fn write_walk(
    txn: &DatabaseTransaction,
    item: &plaid_items::Model,
    answer: &mut Answer,
    rows: Vec<wire::InvestmentTransaction>,
    source: &Source<'_>,
    window: (NaiveDate, NaiveDate),
    clock: &Clock,
) -> Result<Option<SyncCounts>, Failure> {
    let mut w = Writer {
        db: Unscoped::new(txn),
        item,
        now: clock.now(),
        today: clock.today(),
        counts: SyncCounts::default(),
        ids: Ids::default(),
        stored: Vec::new(),
        reissued: Vec::new(),
        described: HashSet::new(),
        holdings_named: false,
        cancels: Vec::new(),
    };
    w.accounts(answer).await?;
    w.securities(answer, &rows).await?;
    w.transactions(rows).await?;
    while let Some(chunk) = source.next_chunk(answer).await? {
        let Chunk::Rows(rows) = chunk else {
            return Ok(None);
        };
        w.late_accounts(answer).await?;
        w.securities(answer, &rows).await?;
        w.transactions(rows).await?;
    }
    if w.counts.transactions_skipped > 0 {
        tracing::warn!(
            item = %item.plaid_item_id,
            skipped = w.counts.transactions_skipped,
            "transactions of accounts missing from the answer were not stored"
        );
    }
    let accounts = w.closed_accounts(answer).await?;
    w.holdings(answer, &accounts.closed).await?;
    w.snapshots(answer, &accounts.closed).await?;
    let taken = w.cancels().await?;
    let vanished = w.vanished(answer, &accounts.reissued_on, window).await?;
    w.counts.transactions_cancelled = (taken + vanished) as i32;
    w.item_status(answer).await?;
    Ok(Some(w.counts))
}

/// One walk's writes: what it works from, what it learnt and what it counted.
struct Writer<'a> {
    db: Unscoped<'a, DatabaseTransaction>,
    item: &'a plaid_items::Model,
    now: DateTime<Utc>,
    today: NaiveDate,
    counts: SyncCounts,
    ids: Ids,
    /// The item's accounts as stored before this sync.
    stored: Vec<accounts::Model>,
    /// Rows of the accounts re-issued under a new id by this sync.
    reissued: Vec<i64>,
    /// Securities whose description was written.
    described: HashSet<String>,
    /// True once the securities the holdings name have a row.
    holdings_named: bool,
    /// The `cancel` rows of the window, for the cancel step.
    cancels: Vec<wire::InvestmentTransaction>,
}

/// What the accounts found closed by this sync and the re-issues are.
struct AccountChanges {
    /// Rows of the accounts found closed by this sync.
    closed: Vec<i64>,
    /// The re-issue day of every re-issued account of the item (this sync's included).
    reissued_on: HashMap<i64, NaiveDate>,
}

/// A stored transaction a `cancel` row may reverse: (row id, date, amount, quantity).
type Candidate = (i64, NaiveDate, Decimal, Decimal);

/// The stored transactions of one account and security (`None`: no security).
type Pair = (i64, Option<i64>);

impl Writer<'_> {
    /// Accounts, as the answer lists them when writing begins (Plaid lists every account
    /// on every page). One no longer listed that matches a new id was re-issued under it:
    /// the new id takes over its row (history, positions), so it is neither an outflow
    /// nor counted twice. Closing waits for the end of the window
    /// ([`Self::closed_accounts`]).
    async fn accounts(&mut self, answer: &Answer) -> ApiResult<()> {
        let (db, today) = (self.db, self.today);
        let stored = db.accounts().of_item(self.item.id).await?;
        let stored_ids: HashSet<&str> =
            stored.iter().map(|a| a.plaid_account_id.as_str()).collect();
        // Without an answer about accounts (`NO_INVESTMENT_ACCOUNTS`: the item has only
        // other kinds), none is known to be gone.
        let gone: Vec<&accounts::Model> = stored
            .iter()
            .filter(|a| answer.item.is_some() && !answer.accounts.contains_key(&a.plaid_account_id))
            .collect();
        let new: Vec<&wire::Account> = answer
            .accounts
            .values()
            .filter(|a| !stored_ids.contains(a.account_id.as_str()))
            .collect();
        for (old, new_id) in reissued(&gone, &new) {
            tracing::info!(item = %self.item.plaid_item_id, from = %old.plaid_account_id, to = %new_id, "account re-issued under a new id");
            db.accounts().reissue(old.id, new_id, today).await?;
            self.reissued.push(old.id);
        }
        self.counts.accounts_reissued = self.reissued.len() as i32;
        self.stored = stored;
        self.late_accounts(answer).await
    }

    /// Accounts listed and not written yet: all of them at first, then any that a later
    /// page is the first to list.
    async fn late_accounts(&mut self, answer: &Answer) -> ApiResult<()> {
        let (db, user_id) = (self.db, self.item.user_id);
        let new: Vec<String> = answer
            .accounts
            .keys()
            .filter(|id| !self.ids.accounts.contains_key(*id))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let rows = new
            .iter()
            .map(|id| rows::account_row(self.now, user_id, self.item.id, &answer.accounts[id]))
            .collect();
        db.accounts().upsert(rows).await?;
        self.ids
            .accounts
            .extend(db.accounts().ids_by_plaid_id(user_id, &new).await?);
        Ok(())
    }

    /// Securities described and not written yet, with a placeholder for any that the
    /// holdings or these `rows` name without Plaid describing it; then their row ids.
    async fn securities(
        &mut self,
        answer: &Answer,
        rows: &[wire::InvestmentTransaction],
    ) -> ApiResult<()> {
        let (db, user_id) = (self.db, self.item.user_id);
        let described: Vec<String> = answer
            .securities
            .keys()
            .filter(|id| !self.described.contains(*id))
            .cloned()
            .collect();
        if !described.is_empty() {
            let rows = described
                .iter()
                .map(|id| rows::security_row(self.now, user_id, &answer.securities[id]))
                .collect();
            db.securities().upsert(rows).await?;
            self.described.extend(described.iter().cloned());
            self.counts.securities_upserted = self.described.len() as i32;
        }
        let mut named: HashMap<String, Option<&str>> = HashMap::new();
        if !std::mem::replace(&mut self.holdings_named, true) {
            for h in &answer.holdings {
                named.insert(h.security_id.clone(), h.iso_currency_code.as_deref());
            }
        }
        for t in rows {
            if let Some(id) = &t.security_id {
                named
                    .entry(id.clone())
                    .or_insert(t.iso_currency_code.as_deref());
            }
        }
        named.retain(|id, _| {
            !answer.securities.contains_key(id) && !self.ids.securities.contains_key(id)
        });
        let missing: Vec<String> = named.keys().cloned().collect();
        if !missing.is_empty() {
            let known = db.securities().ids_by_plaid_id(user_id, &missing).await?;
            let placeholders: Vec<_> = named
                .iter()
                .filter(|(id, _)| !known.contains_key(*id))
                .map(|(id, currency)| {
                    rows::security_row(
                        self.now,
                        user_id,
                        // Named without being described: kept under its id, not dropped
                        // as sold.
                        &wire::Security::bare(id, currency.map(str::to_owned)),
                    )
                })
                .collect();
            if !placeholders.is_empty() {
                tracing::warn!(item = %self.item.plaid_item_id, securities = ?missing, "securities named but not described by Plaid kept as placeholders");
                db.securities().upsert(placeholders).await?;
            }
        }
        let unknown: Vec<String> = described
            .into_iter()
            .chain(missing)
            .filter(|id| !self.ids.securities.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            self.ids
                .securities
                .extend(db.securities().ids_by_plaid_id(user_id, &unknown).await?);
        }
        Ok(())
    }

    /// Transactions, upserted by Plaid id; rows of accounts the answer did not list cannot
    /// be placed: counted on the run and logged. The `cancel` rows are kept for
    /// [`Self::cancels`].
    async fn transactions(&mut self, rows: Vec<wire::InvestmentTransaction>) -> ApiResult<()> {
        let written: Vec<_> = rows
            .iter()
            .filter_map(|t| transaction_row(self.now, self.item.user_id, &self.ids, t))
            .collect();
        self.counts.transactions_skipped += (rows.len() - written.len()) as i32;
        self.counts.transactions_upserted += written.len() as i32;
        self.cancels
            .extend(rows.into_iter().filter(|t| t.transaction_type == CANCEL));
        self.db.transactions().upsert(written).await
    }

    /// Accounts the whole answer no longer lists were closed at the institution, unless
    /// re-issued; the answer's accounts are counted.
    async fn closed_accounts(&mut self, answer: &Answer) -> ApiResult<AccountChanges> {
        let closed: Vec<i64> = self
            .stored
            .iter()
            .filter(|a| {
                answer.item.is_some()
                    && !answer.accounts.contains_key(&a.plaid_account_id)
                    && a.closed_on.is_none()
                    && !self.reissued.contains(&a.id)
            })
            .map(|a| a.id)
            .collect();
        self.counts.accounts_closed = closed.len() as i32;
        self.db.accounts().mark_closed(&closed, self.today).await?;
        self.counts.accounts_upserted = answer.accounts.len() as i32;
        Ok(AccountChanges {
            closed,
            reissued_on: self
                .stored
                .iter()
                .filter_map(|a| Some((a.id, a.reissued_on?)))
                .chain(self.reissued.iter().map(|id| (*id, self.today)))
                .collect(),
        })
    }

    /// Holdings: the response is the full picture of each account it lists, so positions
    /// of those accounts that it no longer lists were closed; a closed account holds
    /// nothing.
    async fn holdings(&mut self, answer: &Answer, closed: &[i64]) -> ApiResult<()> {
        let (db, ids) = (self.db, &self.ids);
        let rows: Vec<_> = answer
            .holdings
            .iter()
            .filter_map(|h| holding_row(self.now, self.item.user_id, ids, h))
            .collect();
        if rows.len() != answer.holdings.len() {
            tracing::warn!(
                item = %self.item.plaid_item_id,
                skipped = answer.holdings.len() - rows.len(),
                "holdings naming an account missing from the response were skipped"
            );
        }
        self.counts.holdings_upserted = rows.len() as i32;
        db.holdings().upsert(rows).await?;
        let full_accounts: Vec<i64> = answer
            .holdings_accounts
            .iter()
            .filter_map(|a| ids.accounts.get(a).copied())
            .chain(closed.iter().copied())
            .collect();
        let returned: HashSet<(i64, i64)> = answer
            .holdings
            .iter()
            .filter_map(|h| {
                Some((
                    *ids.accounts.get(&h.account_id)?,
                    *ids.securities.get(&h.security_id)?,
                ))
            })
            .collect();
        let sold: Vec<i64> = db
            .holdings()
            .keys_of_accounts(&full_accounts)
            .await?
            .into_iter()
            .filter(|(_, account, security)| !returned.contains(&(*account, *security)))
            .map(|(id, _, _)| id)
            .collect();
        self.counts.holdings_removed = sold.len() as i32;
        db.holdings().delete_ids(&sold).await
    }

    /// The day's snapshot of every position (the source of value and price history), each
    /// account on the day its prices are as of; a closed account is pictured empty on the
    /// day it was found gone, so its history drops to zero from then.
    async fn snapshots(&mut self, answer: &Answer, closed: &[i64]) -> ApiResult<()> {
        let (db, today, ids) = (self.db, self.today, &self.ids);
        let mut by_account: HashMap<&str, Vec<&wire::Holding>> = HashMap::new();
        for h in &answer.holdings {
            by_account.entry(h.account_id.as_str()).or_default().push(h);
        }
        let mut days: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
        let mut day_of: HashMap<&str, NaiveDate> = HashMap::new();
        for account in &answer.holdings_accounts {
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
        let rows: Vec<_> = answer
            .holdings
            .iter()
            .filter_map(|h| {
                let close = answer
                    .securities
                    .get(&h.security_id)
                    .and_then(|s| s.close_price);
                let day = day_of.get(h.account_id.as_str()).copied().unwrap_or(today);
                snapshot_row(self.now, self.item.user_id, ids, day, h, close)
            })
            .collect();
        self.counts.snapshots_written = rows.len() as i32;
        for (day, accounts) in &days {
            db.snapshots().delete_day(accounts, *day).await?;
            db.snapshots()
                .mark_pictured(self.item.user_id, accounts, *day)
                .await?;
        }
        db.snapshots().upsert(rows).await
    }

    /// Cancels, in date order: each new `cancel` row takes one trade, wherever in time it
    /// is: the one Plaid names in the (deprecated) `cancel_transaction_id`, else, among the
    /// stored live transactions of the same account and security dated on or before the
    /// cancel, the latest that it reverses exactly (amount and quantity of opposite sign)
    /// and that no other cancel has taken. The candidates are read once per account and
    /// security, the flags written in bulk. Returns how many trades were cancelled.
    async fn cancels(&mut self) -> ApiResult<usize> {
        let db = self.db;
        let mut cancels = std::mem::take(&mut self.cancels);
        cancels.sort_by(|a, b| {
            (a.date, &a.investment_transaction_id).cmp(&(b.date, &b.investment_transaction_id))
        });
        let cancel_ids: Vec<String> = cancels
            .iter()
            .map(|c| c.investment_transaction_id.clone())
            .collect();
        let applied = db.transactions().applied_cancels(&cancel_ids).await?;
        // (cancel, account row, security row) of each cancel still to apply.
        let pending: Vec<(&wire::InvestmentTransaction, i64, Option<i64>)> = cancels
            .iter()
            .filter(|c| !applied.contains(&c.investment_transaction_id))
            .filter_map(|c| {
                let account = *self.ids.accounts.get(&c.account_id)?;
                let security = c
                    .security_id
                    .as_ref()
                    .and_then(|s| self.ids.securities.get(s).copied());
                Some((c, account, security))
            })
            .collect();
        let named: Vec<String> = pending
            .iter()
            .filter_map(|(c, _, _)| c.cancel_transaction_id.clone())
            .collect();
        let named = db.transactions().live_ids_by_plaid_id(&named).await?;
        // Each account and security's candidates, read up to its latest cancel and kept
        // only where some cancel of the pair reverses them exactly.
        let mut wanted: HashMap<Pair, (NaiveDate, HashSet<(Decimal, Decimal)>)> = HashMap::new();
        for (c, account, security) in &pending {
            if c.cancel_transaction_id.is_none() {
                let (latest, amounts) = wanted
                    .entry((*account, *security))
                    .or_insert_with(|| (c.date, HashSet::new()));
                *latest = (*latest).max(c.date);
                amounts.insert((-c.amount, -c.quantity));
            }
        }
        let mut candidates: HashMap<Pair, Vec<Candidate>> = HashMap::new();
        for ((account, security), (latest, amounts)) in &wanted {
            let rows = db
                .transactions()
                .cancel_candidates(*account, *security, *latest)
                .await?;
            candidates.insert(
                (*account, *security),
                rows.into_iter()
                    .filter(|(_, _, amount, quantity)| amounts.contains(&(*amount, *quantity)))
                    .collect(),
            );
        }
        let mut taken: HashSet<i64> = HashSet::new();
        let mut marks: Vec<(i64, String)> = Vec::new();
        for (cancel, account, security) in pending {
            let target = match &cancel.cancel_transaction_id {
                Some(target) => named.get(target).copied().filter(|id| !taken.contains(id)),
                None => candidates[&(account, security)]
                    .iter()
                    .filter(|(id, date, amount, quantity)| {
                        !taken.contains(id)
                            && *date <= cancel.date
                            && *amount == -cancel.amount
                            && *quantity == -cancel.quantity
                    })
                    .max_by_key(|(id, date, _, _)| (*date, *id))
                    .map(|(id, _, _, _)| *id),
            };
            match target {
                Some(id) => {
                    taken.insert(id);
                    marks.push((id, cancel.investment_transaction_id.clone()));
                }
                None => tracing::warn!(
                    item = %self.item.plaid_item_id,
                    cancel = %cancel.investment_transaction_id,
                    "a cancel row matched no stored transaction"
                ),
            }
        }
        db.transactions()
            .mark_cancelled_by(&marks, self.now)
            .await?;
        Ok(taken.len())
    }

    /// Rows that vanished from the window (it was walked whole and stable) are flagged,
    /// never deleted; rows flagged so that came back are live again. Plaid serves no
    /// history under an account's old id once it is re-issued: rows dated up to the
    /// re-issue are history, not vanished rows. The window's stored rows are read as a
    /// stream of keys, against the ids the walk saw. Returns how many were flagged.
    async fn vanished(
        &mut self,
        answer: &Answer,
        reissued_on: &HashMap<i64, NaiveDate>,
        window: (NaiveDate, NaiveDate),
    ) -> ApiResult<usize> {
        let db = self.db;
        let covered: Vec<i64> = answer
            .transaction_accounts
            .iter()
            .filter_map(|a| self.ids.accounts.get(a).copied())
            .collect();
        let mut reappeared = Vec::new();
        let mut vanished = Vec::new();
        db.transactions()
            .for_each_in_window(&covered, window, |t| {
                let seen = answer.seen.contains(&t.plaid_id);
                if t.cancelled && t.cancelled_by.is_none() && t.transaction_type != CANCEL && seen {
                    reappeared.push(t.id);
                } else if !t.cancelled
                    && !seen
                    && reissued_on
                        .get(&t.account_id)
                        .is_none_or(|day| t.date > *day)
                {
                    vanished.push(t.id);
                }
            })
            .await?;
        db.transactions()
            .restore_reappeared(&reappeared, self.now)
            .await?;
        if !answer.stable {
            tracing::info!(item = %self.item.plaid_item_id, "transaction total never settled: no row is flagged as vanished");
            return Ok(0);
        }
        db.transactions()
            .mark_cancelled(&vanished, None, self.now)
            .await?;
        Ok(vanished.len())
    }

    /// The item, with Plaid's current view of it and the status that view calls for.
    async fn item_status(&mut self, answer: &Answer) -> ApiResult<()> {
        let item = self.item;
        let mut changes = plaid_items::ActiveModel {
            id: Set(item.id),
            last_attempt_at: Set(Some(self.now)),
            last_success_at: Set(Some(self.now)),
            ..Default::default()
        };
        let current = ItemStatus::from_stored(&item.status);
        let (status, error) = match answer.item.as_ref().and_then(|i| i.error.as_ref()) {
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
                && answer
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
        if let Some(plaid_item) = &answer.item {
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
        self.db.items().update(changes).await?;
        Ok(())
    }
}

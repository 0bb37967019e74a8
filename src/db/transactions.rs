//! Investment transactions.

use crate::domain::{OrderBy, PageRequest, TransactionFilter, TransactionOrderField};
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::sea_query::{CaseStatement, Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, ExprTrait, QueryFilter,
    QuerySelect, Select,
};

use super::Numeric;

use super::decimal::{Keyed, sort_key};
use super::entities::{investment_transactions as transactions, securities};
use super::filter;
use super::page::{self, KeyKind, Page};
use crate::error::ApiResult;

fn col(c: transactions::Column) -> Expr {
    Expr::col((transactions::Entity, c))
}

fn amount() -> Keyed {
    Keyed {
        value: col(transactions::Column::Amount),
        key: col(transactions::Column::AmountKey),
    }
}

pub(in crate::db) fn select(
    backend: DbBackend,
    user_id: i64,
    f: &TransactionFilter,
) -> Select<transactions::Entity> {
    let candidates = f
        .name
        .as_ref()
        .and_then(|m| m.contains.as_deref())
        .and_then(|needle| name_candidates(backend, needle));
    let owner = match candidates {
        // Without statistics (the application never runs ANALYZE) SQLite would walk the
        // user's index and probe the trigram matches for each of their rows; `+` keeps
        // it from using that index, so it starts from the matches (a count over 22,000
        // matches of 1,000,000 rows: 286 ms walking, a tenth of that from the matches).
        Some(_) => Condition::all().add(Expr::cust_with_values(
            "+\"investment_transactions\".\"user_id\" = ?",
            [user_id],
        )),
        None => Condition::all().add(transactions::Column::UserId.eq(user_id)),
    };
    let mut select = transactions::Entity::find().filter(owner).filter(
        f.scope
            .condition(user_id, col(transactions::Column::AccountId)),
    );
    if let Some(ids) = &f.security_ids {
        select = select.filter(filter::in_ids(col(transactions::Column::SecurityId), ids));
    }
    if let Some(m) = &f.ticker_symbol {
        let with_ticker = Query::select()
            .column(securities::Column::Id)
            .from(securities::Entity)
            .and_where(Expr::col(securities::Column::UserId).eq(user_id))
            .cond_where(filter::text(Expr::col(securities::Column::TickerSymbol), m))
            .to_owned();
        select = select.filter(filter::in_subquery(
            col(transactions::Column::SecurityId),
            with_ticker,
        ));
    }
    if let Some(m) = &f.transaction_type {
        select = select.filter(filter::text(col(transactions::Column::TransactionType), m));
    }
    if let Some(m) = &f.subtype {
        select = select.filter(filter::text(col(transactions::Column::Subtype), m));
    }
    if let Some(r) = &f.date {
        select = select.filter(filter::range(col(transactions::Column::Date), r));
    }
    if let Some(r) = &f.amount {
        select = select.filter(filter::decimal_range(backend, &amount(), r));
    }
    if let Some(candidates) = candidates {
        select = select.filter(candidates);
    }
    if let Some(m) = &f.name {
        select = select.filter(filter::text(col(transactions::Column::Name), m));
    }
    if let Some(cancelled) = f.cancelled {
        select = select.filter(transactions::Column::Cancelled.eq(cancelled));
    }
    select
}

/// On SQLite, the rows whose name may contain `needle`, from the FTS5 trigram index the
/// migrations keep (`investment_transactions_name`): a superset of the `LIKE` matches
/// (trigrams fold case beyond ASCII), which the `LIKE` beside it then confirms. Trigrams
/// need three characters; shorter needles, and PostgreSQL (whose `pg_trgm` index serves
/// the `LIKE` itself), get `None`.
fn name_candidates(backend: DbBackend, needle: &str) -> Option<Condition> {
    if backend != DbBackend::Sqlite || needle.chars().count() < 3 {
        return None;
    }
    // A phrase of the needle's trigrams: its substring occurrences.
    let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
    Some(Condition::all().add(Expr::cust_with_values(
        "\"investment_transactions\".\"id\" IN (SELECT rowid FROM investment_transactions_name \
         WHERE investment_transactions_name MATCH ?)",
        [phrase],
    )))
}

/// The row's currency (see [`super::holdings::currency_of_row`]).
pub fn currency_expr() -> Expr {
    super::holdings::currency_of_row(
        col(transactions::Column::IsoCurrencyCode),
        col(transactions::Column::UnofficialCurrencyCode),
    )
}

/// Transactions that count in figures: not cancelled, and not the `cancel` rows that
/// cancel them.
pub(in crate::db) fn live(
    backend: DbBackend,
    user_id: i64,
    f: &TransactionFilter,
) -> Select<transactions::Entity> {
    select(backend, user_id, f)
        .filter(transactions::Column::Cancelled.eq(false))
        .filter(transactions::Column::TransactionType.ne(crate::vocabulary::CANCEL))
}

pub(in crate::db) async fn page(
    db: &DatabaseConnection,
    user_id: i64,
    f: &TransactionFilter,
    order_by: &[OrderBy<TransactionOrderField>],
    request: &PageRequest,
) -> ApiResult<Page<transactions::Model>> {
    let backend = db.get_database_backend();
    let ordering = page::ordering_from(
        "investment_transactions",
        order_by,
        OrderBy {
            field: TransactionOrderField::Date,
            descending: true,
        },
        |field| match field {
            TransactionOrderField::Date => ("date", col(transactions::Column::Date), KeyKind::Date),
            TransactionOrderField::Amount => {
                ("amount", amount().expr(backend), KeyKind::decimal(backend))
            }
        },
        col(transactions::Column::Id),
    );
    page::fetch(db, select(backend, user_id, f), &ordering, request).await
}

/// What the vanished check needs of a stored transaction.
pub struct WindowRow {
    pub id: i64,
    pub plaid_id: String,
    pub account_id: i64,
    pub date: NaiveDate,
    pub cancelled: bool,
    pub cancelled_by: Option<String>,
    pub transaction_type: String,
}

impl<C: sea_orm::ConnectionTrait> super::unscoped::Transactions<'_, C> {
    /// Inserts or updates transactions by Plaid `investment_transaction_id`, with the amount's
    /// order key. A stored row's cancellation is kept: only the cancel matching of a sync
    /// changes it.
    pub async fn upsert(self, mut rows: Vec<transactions::ActiveModel>) -> ApiResult<()> {
        for row in &mut rows {
            if let Some(amount) = row.amount.try_as_ref() {
                row.amount_key = sea_orm::Set(sort_key(amount.0));
            }
        }
        super::upsert_many_keeping::<transactions::Entity, _>(
            self.conn,
            rows,
            &[transactions::Column::PlaidInvestmentTransactionId],
            &[
                transactions::Column::Cancelled,
                transactions::Column::CancelledBy,
            ],
        )
        .await?;
        Ok(())
    }

    /// The live transactions of an account and security dated on or before `day` that a
    /// `cancel` row may reverse, whatever the sync window (late cancels are common), as
    /// (row id, date, amount, quantity).
    pub async fn cancel_candidates(
        self,
        account_id: i64,
        security_id: Option<i64>,
        day: NaiveDate,
    ) -> ApiResult<Vec<(i64, NaiveDate, Decimal, Decimal)>> {
        let security = match security_id {
            Some(id) => transactions::Column::SecurityId.eq(id),
            None => transactions::Column::SecurityId.is_null(),
        };
        let rows: Vec<(i64, NaiveDate, Numeric, Numeric)> = transactions::Entity::find()
            .select_only()
            .columns([
                transactions::Column::Id,
                transactions::Column::Date,
                transactions::Column::Amount,
                transactions::Column::Quantity,
            ])
            .filter(transactions::Column::AccountId.eq(account_id))
            .filter(security)
            .filter(transactions::Column::Date.lte(day))
            .filter(transactions::Column::Cancelled.eq(false))
            .filter(transactions::Column::TransactionType.ne(crate::vocabulary::CANCEL))
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, date, amount, quantity)| (id, date, amount.0, quantity.0))
            .collect())
    }

    /// Row ids of the live (not cancelled) transactions among these Plaid ids.
    pub async fn live_ids_by_plaid_id(
        self,
        plaid_ids: &[String],
    ) -> ApiResult<HashMap<String, i64>> {
        let mut ids = HashMap::new();
        for chunk in plaid_ids.chunks(super::IN_LIST) {
            let rows: Vec<(String, i64)> = transactions::Entity::find()
                .select_only()
                .columns([
                    transactions::Column::PlaidInvestmentTransactionId,
                    transactions::Column::Id,
                ])
                .filter(
                    transactions::Column::PlaidInvestmentTransactionId
                        .is_in(chunk.iter().map(String::as_str)),
                )
                .filter(transactions::Column::Cancelled.eq(false))
                .into_tuple()
                .all(self.conn)
                .await?;
            ids.extend(rows);
        }
        Ok(ids)
    }

    /// Of these `cancel` row ids, those that already cancelled a transaction.
    pub async fn applied_cancels(self, cancel_ids: &[String]) -> ApiResult<HashSet<String>> {
        let mut applied = HashSet::new();
        for chunk in cancel_ids.chunks(super::IN_LIST) {
            let rows: Vec<Option<String>> = transactions::Entity::find()
                .select_only()
                .column(transactions::Column::CancelledBy)
                .filter(transactions::Column::CancelledBy.is_in(chunk.iter().map(String::as_str)))
                .into_tuple()
                .all(self.conn)
                .await?;
            applied.extend(rows.into_iter().flatten());
        }
        Ok(applied)
    }

    /// Lifts the flag of rows that had vanished from Plaid's window and came back (rows a
    /// `cancel` row cancelled stay cancelled).
    pub async fn restore_reappeared(
        self,
        ids: &[i64],
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<()> {
        for chunk in ids.chunks(super::IN_LIST) {
            transactions::Entity::update_many()
                .col_expr(transactions::Column::Cancelled, Expr::value(false))
                .col_expr(transactions::Column::UpdatedAt, Expr::value(now))
                .filter(filter::in_ids(col(transactions::Column::Id), chunk))
                .filter(transactions::Column::CancelledBy.is_null())
                .exec(self.conn)
                .await?;
        }
        Ok(())
    }

    /// Calls `each` with every transaction of the given accounts dated within the window,
    /// streamed: however many the window holds, only one row is in memory at a time.
    pub async fn for_each_in_window(
        self,
        account_ids: &[i64],
        (start, end): (NaiveDate, NaiveDate),
        mut each: impl FnMut(WindowRow),
    ) -> ApiResult<()>
    where
        C: sea_orm::StreamTrait + Send,
    {
        use futures_util::TryStreamExt;
        let mut rows = transactions::Entity::find()
            .select_only()
            .columns([
                transactions::Column::Id,
                transactions::Column::PlaidInvestmentTransactionId,
                transactions::Column::AccountId,
                transactions::Column::Date,
                transactions::Column::Cancelled,
                transactions::Column::CancelledBy,
                transactions::Column::TransactionType,
            ])
            .filter(filter::in_ids(
                col(transactions::Column::AccountId),
                account_ids,
            ))
            .filter(transactions::Column::Date.between(start, end))
            .into_tuple::<(i64, String, i64, NaiveDate, bool, Option<String>, String)>()
            .stream(self.conn)
            .await?;
        while let Some(row) = rows.try_next().await? {
            let (id, plaid_id, account_id, date, cancelled, cancelled_by, transaction_type) = row;
            each(WindowRow {
                id,
                plaid_id,
                account_id,
                date,
                cancelled,
                cancelled_by,
                transaction_type,
            });
        }
        Ok(())
    }

    /// Flags transactions as cancelled (kept, left out of totals), in chunks; `by` names the
    /// `cancel` row that cancelled them (`None`: they vanished from Plaid's window).
    pub async fn mark_cancelled(
        self,
        ids: &[i64],
        by: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<()> {
        for chunk in ids.chunks(super::IN_LIST) {
            transactions::Entity::update_many()
                .col_expr(transactions::Column::Cancelled, Expr::value(true))
                .col_expr(
                    transactions::Column::CancelledBy,
                    Expr::value(by.map(str::to_owned)),
                )
                .col_expr(transactions::Column::UpdatedAt, Expr::value(now))
                .filter(filter::in_ids(col(transactions::Column::Id), chunk))
                .exec(self.conn)
                .await?;
        }
        Ok(())
    }

    /// Flags each transaction as cancelled by the `cancel` row named with it
    /// (`(row id, cancel's Plaid id)`): one statement for many rows, through `CASE id`.
    pub async fn mark_cancelled_by(
        self,
        marks: &[(i64, String)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<()> {
        // Three parameters a row (the id twice, the cancel's id).
        for chunk in marks.chunks(super::IN_LIST / 3) {
            let by = chunk
                .iter()
                .fold(CaseStatement::new(), |case, (id, cancel)| {
                    case.case(
                        col(transactions::Column::Id).eq(*id),
                        Expr::value(cancel.clone()),
                    )
                });
            let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            transactions::Entity::update_many()
                .col_expr(transactions::Column::Cancelled, Expr::value(true))
                .col_expr(transactions::Column::CancelledBy, by.into())
                .col_expr(transactions::Column::UpdatedAt, Expr::value(now))
                .filter(filter::in_ids(col(transactions::Column::Id), &ids))
                .exec(self.conn)
                .await?;
        }
        Ok(())
    }
}

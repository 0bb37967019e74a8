//! Investment transactions.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, ExprTrait, QueryFilter,
    QuerySelect, Select,
};

use super::accounts::AccountScope;
use super::decimal::{Keyed, sort_key};
use super::entities::{investment_transactions as transactions, securities};
use super::filter::{self, Range, TextMatch};
use super::page::{self, KeyKind, OrderBy, Page, PageRequest};
use crate::error::ApiResult;

#[derive(Clone, Debug, Default)]
pub struct TransactionFilter {
    pub scope: AccountScope,
    pub security_ids: Option<Vec<i64>>,
    /// On the transaction's security.
    pub ticker_symbol: Option<TextMatch>,
    pub transaction_type: Option<TextMatch>,
    pub subtype: Option<TextMatch>,
    pub date: Option<Range<NaiveDate>>,
    pub amount: Option<Range<Decimal>>,
    pub name: Option<TextMatch>,
    /// `Some(false)`: only live transactions; `Some(true)`: only cancelled ones.
    pub cancelled: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionOrderField {
    Date,
    Amount,
}

fn col(c: transactions::Column) -> Expr {
    Expr::col((transactions::Entity, c))
}

fn amount() -> Keyed {
    Keyed {
        value: col(transactions::Column::Amount),
        key: col(transactions::Column::AmountKey),
    }
}

pub fn select(
    backend: DbBackend,
    user_id: i64,
    f: &TransactionFilter,
) -> Select<transactions::Entity> {
    let mut select = transactions::Entity::find()
        .filter(transactions::Column::UserId.eq(user_id))
        .filter(
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
    if let Some(m) = &f.name {
        if let Some(candidates) = m
            .contains
            .as_deref()
            .and_then(|n| name_candidates(backend, n))
        {
            select = select.filter(candidates);
        }
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
pub fn live(
    backend: DbBackend,
    user_id: i64,
    f: &TransactionFilter,
) -> Select<transactions::Entity> {
    select(backend, user_id, f)
        .filter(transactions::Column::Cancelled.eq(false))
        .filter(transactions::Column::TransactionType.ne(crate::vocabulary::CANCEL))
}

pub async fn page(
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

/// Inserts or updates transactions by Plaid `investment_transaction_id`, with the amount's
/// order key. A stored row's cancellation is kept: only the cancel matching of a sync
/// changes it.
pub async fn upsert<C: sea_orm::ConnectionTrait>(
    conn: &C,
    mut rows: Vec<transactions::ActiveModel>,
) -> ApiResult<()> {
    for row in &mut rows {
        if let Some(amount) = row.amount.try_as_ref() {
            row.amount_key = sea_orm::Set(sort_key(amount.0));
        }
    }
    super::upsert_many_keeping::<transactions::Entity, _>(
        conn,
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
/// `cancel` row may reverse, whatever the sync window (late cancels are common).
pub async fn cancel_candidates<C: sea_orm::ConnectionTrait>(
    conn: &C,
    account_id: i64,
    security_id: Option<i64>,
    day: NaiveDate,
) -> ApiResult<Vec<transactions::Model>> {
    let security = match security_id {
        Some(id) => transactions::Column::SecurityId.eq(id),
        None => transactions::Column::SecurityId.is_null(),
    };
    Ok(transactions::Entity::find()
        .filter(transactions::Column::AccountId.eq(account_id))
        .filter(security)
        .filter(transactions::Column::Date.lte(day))
        .filter(transactions::Column::Cancelled.eq(false))
        .filter(transactions::Column::TransactionType.ne(crate::vocabulary::CANCEL))
        .all(conn)
        .await?)
}

/// Transactions by Plaid id.
pub async fn by_plaid_ids<C: sea_orm::ConnectionTrait>(
    conn: &C,
    plaid_ids: &[String],
) -> ApiResult<Vec<transactions::Model>> {
    let mut rows = Vec::new();
    for chunk in plaid_ids.chunks(super::CHUNK_ROWS) {
        rows.extend(
            transactions::Entity::find()
                .filter(
                    transactions::Column::PlaidInvestmentTransactionId
                        .is_in(chunk.iter().map(String::as_str)),
                )
                .all(conn)
                .await?,
        );
    }
    Ok(rows)
}

/// Of these `cancel` row ids, those that already cancelled a transaction.
pub async fn applied_cancels<C: sea_orm::ConnectionTrait>(
    conn: &C,
    cancel_ids: &[String],
) -> ApiResult<std::collections::HashSet<String>> {
    let mut applied = std::collections::HashSet::new();
    for chunk in cancel_ids.chunks(super::CHUNK_ROWS) {
        let rows: Vec<Option<String>> = transactions::Entity::find()
            .select_only()
            .column(transactions::Column::CancelledBy)
            .filter(transactions::Column::CancelledBy.is_in(chunk.iter().map(String::as_str)))
            .into_tuple()
            .all(conn)
            .await?;
        applied.extend(rows.into_iter().flatten());
    }
    Ok(applied)
}

/// Lifts the flag of rows that had vanished from Plaid's window and came back (rows a
/// `cancel` row cancelled stay cancelled).
pub async fn restore_reappeared<C: sea_orm::ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    use sea_orm::sea_query::Expr as E;
    for chunk in ids.chunks(super::CHUNK_ROWS) {
        transactions::Entity::update_many()
            .col_expr(transactions::Column::Cancelled, E::value(false))
            .col_expr(transactions::Column::UpdatedAt, E::value(now))
            .filter(filter::in_ids(col(transactions::Column::Id), chunk))
            .filter(transactions::Column::CancelledBy.is_null())
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The given accounts' transactions dated within `[start, end]`.
pub async fn of_accounts_in_window<C: sea_orm::ConnectionTrait>(
    conn: &C,
    account_ids: &[i64],
    start: NaiveDate,
    end: NaiveDate,
) -> ApiResult<Vec<transactions::Model>> {
    Ok(transactions::Entity::find()
        .filter(filter::in_ids(
            col(transactions::Column::AccountId),
            account_ids,
        ))
        .filter(transactions::Column::Date.between(start, end))
        .all(conn)
        .await?)
}

/// Flags transactions as cancelled (kept, left out of totals), in chunks; `by` names the
/// `cancel` row that cancelled them (`None`: they vanished from Plaid's window).
pub async fn mark_cancelled<C: sea_orm::ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    by: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    use sea_orm::sea_query::Expr as E;
    for chunk in ids.chunks(super::CHUNK_ROWS) {
        transactions::Entity::update_many()
            .col_expr(transactions::Column::Cancelled, E::value(true))
            .col_expr(
                transactions::Column::CancelledBy,
                E::value(by.map(str::to_owned)),
            )
            .col_expr(transactions::Column::UpdatedAt, E::value(now))
            .filter(filter::in_ids(col(transactions::Column::Id), chunk))
            .exec(conn)
            .await?;
    }
    Ok(())
}

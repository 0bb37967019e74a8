//! Persistence: connection setup, entities, and the queries behind every API field.
//!
//! Code outside `db` reaches user data through one of two handles:
//! - [`scope::UserScope`], for requests: built from the verified token, every query it
//!   offers is limited to the caller's rows (its lookups by id start from its own
//!   `select`). The queries it wraps (`page`, `of_items`...) are `pub(in crate::db)`, so
//!   nothing else can call them.
//! - [`unscoped::Unscoped`], for the sync engine, the CLI and the demo, which work across
//!   users on rows they already hold (by row id, items by Plaid id for webhooks, users by
//!   name). Its statements are methods of the handle only: there is no free function to
//!   call by mistake.
//!
//! The filters as SQL (`select`, `transactions::live`) are `pub(in crate::db)` too: the portfolio figures start their statements from the scope
//! and hand them to [`aggregate`], which adds no rows of its own. Still public:
//! `users::find` (the CLI's report) and the token functions of `users`, which
//! authentication calls before there is a scope. The GraphQL and HTTP layers never build
//! SQL themselves.

pub mod accounts;
pub mod aggregate;
pub mod decimal;
pub mod entities;
pub mod filter;
pub mod holdings;
pub mod items;
pub mod page;
pub mod scope;
pub mod securities;
pub mod snapshots;
pub mod sync_runs;
pub mod transactions;
pub mod unscoped;
pub mod users;

use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

pub use decimal::Numeric;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter};

use crate::error::ApiResult;

/// An entity whose rows belong to one user: loaders and `node(id:)` look rows up through
/// this, so another user's id finds nothing, exactly like an id that does not exist.
pub trait UserOwned: EntityTrait {
    fn id_column() -> Self::Column;
    fn user_column() -> Self::Column;
    fn id_of(model: &Self::Model) -> i64;
    fn owner_of(model: &Self::Model) -> i64;
}

macro_rules! user_owned {
    ($($module:ident),*) => {$(
        impl UserOwned for entities::$module::Entity {
            fn id_column() -> Self::Column {
                entities::$module::Column::Id
            }
            fn user_column() -> Self::Column {
                entities::$module::Column::UserId
            }
            fn id_of(model: &Self::Model) -> i64 {
                model.id
            }
            fn owner_of(model: &Self::Model) -> i64 {
                model.user_id
            }
        }
    )*};
}

user_owned!(
    account_snapshots,
    api_tokens,
    plaid_items,
    accounts,
    securities,
    investment_holdings,
    holding_snapshots,
    investment_transactions,
    sync_runs
);

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct DbConfig {
    /// `sqlite://path.db`, `sqlite::memory:` or `postgres://...`.
    pub url: String,
    /// PostgreSQL schema to work in (tests use one schema each).
    pub schema: Option<String>,
    /// Largest pool size (an in-memory SQLite database always has one connection).
    pub max_connections: u32,
    /// PostgreSQL `application_name` of the pool's connections (seen in
    /// `pg_stat_activity`); `None` keeps the default (`PGAPPNAME`, if set).
    pub application_name: Option<String>,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        DbConfig {
            url: url.into(),
            schema: None,
            max_connections: default_pool_size(crate::sync::SyncOptions::default().concurrency),
            application_name: None,
        }
    }
}

/// The default pool size: room for request traffic, for `sync_concurrency` items syncing
/// at once (each holds its item's lock connection on PostgreSQL and a connection for its
/// writes), and for the scheduler's round lock: `max(10, 2 × sync_concurrency + 6)`.
pub fn default_pool_size(sync_concurrency: usize) -> u32 {
    let sync = u32::try_from(sync_concurrency).unwrap_or(u32::MAX);
    sync.saturating_mul(2).saturating_add(6).max(10)
}

/// How busy a pool is, read when `/metrics` is scraped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// The pool's connections now.
pub fn pool_stats(db: &DatabaseConnection) -> Option<PoolStats> {
    fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolStats {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
        PoolStats {
            in_use: size - idle,
            idle,
            max: pool.options().get_max_connections(),
        }
    }
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => Some(of(db.get_sqlite_connection_pool())),
        sea_orm::DbBackend::Postgres => Some(of(db.get_postgres_connection_pool())),
        _ => None,
    }
}

/// Opens a pool. SQLite files are created when missing, run in WAL mode with foreign keys
/// on, and get the `decimal` collation that exact decimal comparisons rely on.
pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(config.url.clone());
    opts.max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if config.url.starts_with("sqlite:") {
        let in_memory = config.url.contains(":memory:") || config.url.contains("mode=memory");
        if in_memory {
            // Every new in-memory connection would be a new, empty database.
            opts.max_connections(1);
        }
        opts.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .collation(decimal::SQLITE_COLLATION, decimal::compare_decimal_text);
            if in_memory {
                o
            } else {
                o.journal_mode(SqliteJournalMode::Wal)
            }
        });
    }
    if let Some(schema) = &config.schema {
        opts.set_schema_search_path(schema.clone());
    }
    if let Some(name) = config.application_name.clone() {
        opts.map_sqlx_postgres_opts(move |o| o.application_name(&name));
    }
    Database::connect(opts).await
}

/// Values per `IN (...)` list or `CASE` of a statement over many rows (ids to flag, keys
/// to look up): a few statements for the largest sync, well within every bound-parameter
/// limit.
pub const IN_LIST: usize = 10_000;

/// Bound parameters one statement may carry: PostgreSQL's wire protocol counts them in 16
/// bits; SQLite's `SQLITE_MAX_VARIABLE_NUMBER` is 32,766 since 3.32.
pub fn max_params(backend: sea_orm::DbBackend) -> usize {
    match backend {
        sea_orm::DbBackend::Postgres => 65_535,
        _ => 32_766,
    }
}

/// Rows of `columns` values each that one multi-row statement can carry on `backend`:
/// as many as the parameter limit allows, so a sync makes as few round trips as it can.
pub fn rows_per_statement(backend: sea_orm::DbBackend, columns: usize) -> usize {
    (max_params(backend) / columns.max(1)).max(1)
}

/// Row ids by Plaid id.
pub type RowIds = std::collections::HashMap<String, i64>;

/// Row ids of the user's `E` rows by their Plaid id (the `plaid_id` column): what the
/// sync's later rows refer to once it has upserted these.
pub(in crate::db) async fn ids_by_plaid_id<E: UserOwned, C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    plaid_id: E::Column,
    plaid_ids: &[String],
) -> ApiResult<RowIds> {
    use sea_orm::QuerySelect;
    let rows: Vec<(String, i64)> = E::find()
        .select_only()
        .column(plaid_id)
        .column(E::id_column())
        .filter(E::user_column().eq(user_id))
        .filter(plaid_id.is_in(plaid_ids.iter().map(String::as_str)))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Inserts `rows` in multi-row statements as large as [`rows_per_statement`] allows; a row
/// whose `conflict` key
/// exists is updated instead (every column but the key, `id`, `user_id` and `created_at`).
/// All rows must set the same columns.
pub(in crate::db) async fn upsert_many<E, C>(
    conn: &C,
    rows: Vec<E::ActiveModel>,
    conflict: &[E::Column],
) -> Result<(), DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    upsert_many_keeping::<E, C>(conn, rows, conflict, &[]).await
}

/// [`upsert_many`] that also leaves the `kept` columns of an existing row as they are
/// (state that only later steps change, such as a transaction's cancellation).
pub(in crate::db) async fn upsert_many_keeping<E, C>(
    conn: &C,
    rows: Vec<E::ActiveModel>,
    conflict: &[E::Column],
    kept: &[E::Column],
) -> Result<(), DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let keep: Vec<String> = ["id", "user_id", "created_at"]
        .into_iter()
        .map(String::from)
        .chain(
            kept.iter()
                .map(|c| sea_orm::IdenStatic::as_str(c).to_owned()),
        )
        .collect();
    let update: Vec<E::Column> = E::Column::iter()
        .filter(|c| {
            let name = sea_orm::IdenStatic::as_str(c).to_owned();
            !keep.contains(&name)
                && !conflict
                    .iter()
                    .any(|k| sea_orm::IdenStatic::as_str(k) == name)
        })
        .collect();
    // In key order, whatever order the caller built them in: two transactions upserting
    // shared rows (two items' securities) then take their row locks in the same order and
    // cannot deadlock.
    let mut rows = rows;
    rows.sort_by_cached_key(|row| {
        conflict
            .iter()
            .map(|c| format!("{:?}", sea_orm::ActiveModelTrait::get(row, *c)))
            .collect::<Vec<_>>()
    });
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let columns = E::Column::iter()
        .filter(|c| sea_orm::ActiveModelTrait::get(first, *c).is_set())
        .count();
    let per_statement = rows_per_statement(conn.get_database_backend(), columns);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<E::ActiveModel> = rows.by_ref().take(per_statement).collect();
        E::insert_many(chunk)
            .on_conflict(
                OnConflict::columns(conflict.iter().copied())
                    .update_columns(update.iter().copied())
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

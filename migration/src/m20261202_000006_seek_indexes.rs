//! Every filter the API offers, with its default ordering, served by one index that also
//! yields that order; decimals ordered and range-filtered through an index on SQLite; and
//! `name` substring search served by a trigram index on both databases.
//!
//! - `amount_key` (transactions), `institution_value_key` and `quantity_key` (holdings):
//!   the [`crate::sort_key`] of the decimal beside them, written by the sync with the
//!   value. SQLite orders and compares through them; PostgreSQL's `NUMERIC` needs none,
//!   but the columns exist on both so that one entity serves both.
//! - Type and subtype filters each get `(user_id, <column>, date, id)`: the old
//!   `(user_id, type, subtype, date)` put `subtype` between `type` and `date`, so a `type`
//!   filter sorted every matching row. Account and security get `(account_id | security_id,
//!   user_id, date, id)`, so that their counts need no table rows.
//! - `name` contains: SQLite an FTS5 `trigram` table kept by triggers, PostgreSQL a
//!   `pg_trgm` GIN index on `lower(name)` (skipped, with a notice, where the extension
//!   cannot be created: search then still works, unindexed).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::sort_key;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000006_seek_indexes"
    }
}

/// Rows re-keyed per statement while filling the new columns.
const BACKFILL_ROWS: u64 = 500;

/// Decimal columns and their sort-key columns, per table.
const KEYED: &[(&str, &str, &str)] = &[
    ("investment_transactions", "amount", "amount_key"),
    (
        "investment_holdings",
        "institution_value",
        "institution_value_key",
    ),
    ("investment_holdings", "quantity", "quantity_key"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for (table, value, key) in KEYED {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN {key} TEXT NOT NULL DEFAULT ''"
            ))
            .await?;
            backfill(db, backend, table, value, key).await?;
        }

        let mut statements = vec![
            "DROP INDEX IF EXISTS idx_transactions_type".to_owned(),
            "DROP INDEX IF EXISTS idx_transactions_security".to_owned(),
            "DROP INDEX IF EXISTS idx_transactions_account_date".to_owned(),
            // The owner beside the account or security: every query has both as
            // equalities, so a page, its probe and its count read the index alone.
            "CREATE INDEX idx_transactions_account_date ON investment_transactions (account_id, user_id, date, id)"
                .to_owned(),
            "CREATE INDEX idx_transactions_type ON investment_transactions (user_id, type, date, id)"
                .to_owned(),
            "CREATE INDEX idx_transactions_subtype ON investment_transactions (user_id, subtype, date, id)"
                .to_owned(),
            "CREATE INDEX idx_transactions_security ON investment_transactions (security_id, user_id, date, id)"
                .to_owned(),
        ];
        match backend {
            DbBackend::Sqlite => statements.extend(
                [
                    "CREATE INDEX idx_transactions_user_amount_key ON investment_transactions (user_id, amount_key, id)",
                    "CREATE INDEX idx_holdings_user_value_key ON investment_holdings (user_id, institution_value_key, id)",
                    "CREATE INDEX idx_holdings_user_quantity_key ON investment_holdings (user_id, quantity_key, id)",
                    // External content: the text lives once, in the table; the triggers keep
                    // the index in step (an upsert that leaves `name` alone touches nothing).
                    "CREATE VIRTUAL TABLE investment_transactions_name USING fts5(\
                     name, content='investment_transactions', content_rowid='id', tokenize='trigram')",
                    "INSERT INTO investment_transactions_name(investment_transactions_name) VALUES ('rebuild')",
                    "CREATE TRIGGER investment_transactions_name_insert AFTER INSERT ON investment_transactions \
                     BEGIN INSERT INTO investment_transactions_name(rowid, name) VALUES (new.id, new.name); END",
                    "CREATE TRIGGER investment_transactions_name_delete AFTER DELETE ON investment_transactions \
                     BEGIN INSERT INTO investment_transactions_name(investment_transactions_name, rowid, name) \
                     VALUES ('delete', old.id, old.name); END",
                    "CREATE TRIGGER investment_transactions_name_update AFTER UPDATE OF name ON investment_transactions \
                     WHEN old.name IS NOT new.name \
                     BEGIN INSERT INTO investment_transactions_name(investment_transactions_name, rowid, name) \
                     VALUES ('delete', old.id, old.name); \
                     INSERT INTO investment_transactions_name(rowid, name) VALUES (new.id, new.name); END",
                ]
                .map(str::to_owned),
            ),
            _ => {
                statements.extend(
                    [
                        "CREATE INDEX idx_holdings_user_value ON investment_holdings (user_id, institution_value, id)",
                        "CREATE INDEX idx_holdings_user_quantity ON investment_holdings (user_id, quantity, id)",
                    ]
                    .map(str::to_owned),
                );
                if let Some(schema) = trigram_schema(db).await? {
                    statements.push(format!(
                        "CREATE INDEX idx_transactions_name_trgm ON investment_transactions \
                         USING gin (lower(name) \"{schema}\".gin_trgm_ops)"
                    ));
                }
            }
        }
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    /// One transaction on SQLite too: the backfill is many statements.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut statements = vec![
            "DROP INDEX IF EXISTS idx_transactions_name_trgm",
            "DROP TRIGGER IF EXISTS investment_transactions_name_insert",
            "DROP TRIGGER IF EXISTS investment_transactions_name_delete",
            "DROP TRIGGER IF EXISTS investment_transactions_name_update",
            "DROP TABLE IF EXISTS investment_transactions_name",
            "DROP INDEX IF EXISTS idx_transactions_user_amount_key",
            "DROP INDEX IF EXISTS idx_holdings_user_value_key",
            "DROP INDEX IF EXISTS idx_holdings_user_quantity_key",
            "DROP INDEX IF EXISTS idx_holdings_user_value",
            "DROP INDEX IF EXISTS idx_holdings_user_quantity",
            "DROP INDEX IF EXISTS idx_transactions_subtype",
            "DROP INDEX IF EXISTS idx_transactions_type",
            "DROP INDEX IF EXISTS idx_transactions_security",
            "DROP INDEX IF EXISTS idx_transactions_account_date",
            "CREATE INDEX idx_transactions_account_date ON investment_transactions (account_id, date, id)",
            "CREATE INDEX idx_transactions_type ON investment_transactions (user_id, type, subtype, date)",
            "CREATE INDEX idx_transactions_security ON investment_transactions (security_id, date)",
        ];
        if manager.get_database_backend() != DbBackend::Sqlite {
            statements.retain(|s| !s.contains("TRIGGER") && !s.contains("TABLE"));
        }
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        for (table, _, key) in KEYED {
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {key}"))
                .await?;
        }
        Ok(())
    }
}

/// Writes the sort key of every existing row, a chunk of rows per statement.
async fn backfill(
    db: &SchemaManagerConnection<'_>,
    backend: DbBackend,
    table: &str,
    value: &str,
    key: &str,
) -> Result<(), DbErr> {
    let mut last_id = 0i64;
    loop {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id, CAST({value} AS TEXT) AS value FROM {table} \
                     WHERE id > {last_id} ORDER BY id LIMIT {BACKFILL_ROWS}"
                ),
                [],
            ))
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        last_id = last.try_get("", "id")?;
        let mut cases = String::new();
        for row in &rows {
            let id: i64 = row.try_get("", "id")?;
            let text: String = row.try_get("", "value")?;
            let value: rust_decimal::Decimal = text
                .parse()
                .map_err(|e| DbErr::Custom(format!("{table}.{value} of row {id}: {e}")))?;
            cases.push_str(&format!(" WHEN {id} THEN '{}'", sort_key::encode(value)));
        }
        let first_id: i64 = rows[0].try_get("", "id")?;
        db.execute_unprepared(&format!(
            "UPDATE {table} SET {key} = CASE id{cases} END WHERE id BETWEEN {first_id} AND {last_id}"
        ))
        .await?;
    }
}

/// The schema `pg_trgm` lives in, creating it (in `public`, shared by every schema of the
/// database) when it is available and we may; `None` when it cannot be had.
async fn trigram_schema(db: &SchemaManagerConnection<'_>) -> Result<Option<String>, DbErr> {
    let installed = "SELECT n.nspname AS schema FROM pg_extension e \
                     JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'";
    // Parallel migrations of several schemas of one database would race to create it.
    db.execute_unprepared("SELECT pg_advisory_xact_lock(7426)")
        .await?;
    if let Some(row) = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, installed))
        .await?
    {
        return Ok(Some(row.try_get("", "schema")?));
    }
    let can_create = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') \
             AND has_database_privilege(current_database(), 'CREATE') \
             AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') \
             AND has_schema_privilege('public', 'CREATE') AS ok",
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "ok"))
        .transpose()?
        .unwrap_or(false);
    if !can_create {
        eprintln!(
            "notice: pg_trgm is not available to this role; `name` contains searches stay unindexed"
        );
        return Ok(None);
    }
    db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        .await?;
    Ok(Some("public".to_owned()))
}

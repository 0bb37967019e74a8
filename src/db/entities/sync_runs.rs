use sea_orm::entity::prelude::*;

/// One row per sync attempt of an item.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub item_id: i64,
    /// `manual`, `refresh_all`, `schedule`, `webhook` or `link`.
    pub trigger: String,
    pub window_start: Option<Date>,
    pub window_end: Option<Date>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// `running`, `succeeded`, `failed`, `interrupted` or `abandoned`.
    pub outcome: String,
    /// While running: `queued`, `fetching` or `storing`.
    pub phase: Option<String>,
    /// Transaction pages read from Plaid so far (restarts included).
    pub pages_fetched: i32,
    /// Pages the window takes, once Plaid's first page gave its total.
    pub pages_total: Option<i32>,
    pub accounts_upserted: i32,
    pub securities_upserted: i32,
    pub holdings_upserted: i32,
    pub holdings_removed: i32,
    pub snapshots_written: i32,
    pub transactions_upserted: i32,
    pub transactions_cancelled: i32,
    /// Transactions of accounts the answer did not list (logged, not stored).
    pub transactions_skipped: i32,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

use crate::db::Numeric;

/// One row per holding per day synced: the source of value and price history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holding_snapshots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub account_id: i64,
    pub security_id: i64,
    pub as_of: Date,
    pub quantity: Numeric,
    pub cost_basis: Option<Numeric>,
    pub institution_price: Numeric,
    pub institution_value: Numeric,
    pub close_price: Option<Numeric>,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

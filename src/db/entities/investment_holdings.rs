use sea_orm::entity::prelude::*;

use crate::db::Numeric;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "investment_holdings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub account_id: i64,
    pub security_id: i64,
    pub quantity: Numeric,
    /// Total cost of the position, when the institution reports it.
    pub cost_basis: Option<Numeric>,
    pub institution_price: Numeric,
    pub institution_price_as_of: Option<Date>,
    pub institution_price_datetime: Option<DateTimeUtc>,
    pub institution_value: Numeric,
    /// `institution_value`'s order key ([`crate::db::decimal::sort_key`]).
    pub institution_value_key: String,
    /// `quantity`'s order key ([`crate::db::decimal::sort_key`]).
    pub quantity_key: String,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
    pub vested_quantity: Option<Numeric>,
    pub vested_value: Option<Numeric>,
    /// Plaid's `tax_lots` as JSON with decimals as strings; null when Plaid sent none.
    pub tax_lots: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::securities::Entity",
        from = "Column::SecurityId",
        to = "super::securities::Column::Id"
    )]
    Security,
    #[sea_orm(
        belongs_to = "super::accounts::Entity",
        from = "Column::AccountId",
        to = "super::accounts::Column::Id"
    )]
    Account,
}

impl Related<super::securities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Security.def()
    }
}

impl Related<super::accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

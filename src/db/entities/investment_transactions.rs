use sea_orm::entity::prelude::*;

use crate::db::Numeric;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "investment_transactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub account_id: i64,
    pub security_id: Option<i64>,
    #[sea_orm(unique)]
    pub plaid_investment_transaction_id: String,
    /// Plaid's deprecated `cancel_transaction_id`, kept as received.
    pub cancel_transaction_id: Option<String>,
    pub date: Date,
    pub transaction_datetime: Option<DateTimeUtc>,
    pub name: String,
    /// Positive for a buy, negative for a sell.
    pub quantity: Numeric,
    /// Plaid's sign: positive when cash leaves the account, negative when it comes in.
    pub amount: Numeric,
    /// `amount`'s order key ([`crate::db::decimal::sort_key`]): what SQLite orders by.
    pub amount_key: String,
    pub price: Numeric,
    pub fees: Option<Numeric>,
    #[sea_orm(column_name = "type")]
    pub transaction_type: String,
    pub subtype: String,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
    /// Set when the transaction was cancelled; kept for the record, left out of totals.
    pub cancelled: bool,
    /// The Plaid id of the `cancel` row that cancelled this transaction, if one did.
    pub cancelled_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

use crate::db::Numeric;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub item_id: i64,
    #[sea_orm(unique)]
    pub plaid_account_id: String,
    pub persistent_account_id: Option<String>,
    pub name: String,
    pub official_name: Option<String>,
    pub mask: Option<String>,
    #[sea_orm(column_name = "type")]
    pub account_type: String,
    pub subtype: Option<String>,
    pub holder_category: Option<String>,
    pub balance_current: Option<Numeric>,
    pub balance_available: Option<Numeric>,
    pub balance_limit: Option<Numeric>,
    pub balance_margin_loan_amount: Option<Numeric>,
    pub balance_iso_currency_code: Option<String>,
    pub balance_unofficial_currency_code: Option<String>,
    pub balance_last_updated_datetime: Option<DateTimeUtc>,
    /// The day a sync first found the account gone from its item (closed at the
    /// institution); `None` while Plaid returns it.
    pub closed_on: Option<Date>,
    /// The last day the account was found re-issued under a new Plaid id: Plaid serves
    /// no history under the old id after it, so older rows are not taken for vanished.
    pub reissued_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::plaid_items::Entity",
        from = "Column::ItemId",
        to = "super::plaid_items::Column::Id"
    )]
    Item,
}

impl Related<super::plaid_items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Item.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plaid_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub plaid_item_id: String,
    pub institution_id: Option<String>,
    pub institution_name: Option<String>,
    /// The Plaid access token, encrypted; never leaves the sync service in clear.
    pub access_token_ciphertext: Option<String>,
    /// `healthy`, `login_required`, `pending_expiration`, `pending_disconnect`, `error` or
    /// `not_ready`.
    pub status: String,
    pub error_type: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_display_message: Option<String>,
    pub webhook: Option<String>,
    /// JSON array of product names.
    pub available_products: Option<String>,
    /// JSON array of product names.
    pub billed_products: Option<String>,
    pub consent_expiration_time: Option<DateTimeUtc>,
    pub update_type: Option<String>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

use crate::db::Numeric;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "securities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub plaid_security_id: String,
    pub isin: Option<String>,
    pub cusip: Option<String>,
    pub sedol: Option<String>,
    pub institution_security_id: Option<String>,
    pub institution_id: Option<String>,
    pub proxy_security_id: Option<String>,
    pub name: Option<String>,
    pub ticker_symbol: Option<String>,
    pub is_cash_equivalent: Option<bool>,
    #[sea_orm(column_name = "type")]
    pub security_type: Option<String>,
    pub subtype: Option<String>,
    pub close_price: Option<Numeric>,
    pub close_price_as_of: Option<Date>,
    pub update_datetime: Option<DateTimeUtc>,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
    pub market_identifier_code: Option<String>,
    pub sector: Option<String>,
    pub industry: Option<String>,
    pub cfi_code: Option<String>,
    pub option_contract_type: Option<String>,
    pub option_expiration_date: Option<Date>,
    pub option_strike_price: Option<Numeric>,
    pub option_underlying_security_ticker: Option<String>,
    pub fixed_income_yield_rate_percentage: Option<Numeric>,
    pub fixed_income_yield_rate_type: Option<String>,
    pub fixed_income_maturity_date: Option<Date>,
    pub fixed_income_issue_date: Option<Date>,
    pub fixed_income_face_value: Option<Numeric>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

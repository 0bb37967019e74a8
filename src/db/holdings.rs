//! Investment holdings: one position per account and security.

use crate::domain::{HoldingFilter, HoldingOrderField, OrderBy, PageRequest};
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, JoinType, QueryFilter, QuerySelect,
    RelationTrait, Select,
};

use super::decimal::{Keyed, sort_key};
use super::entities::{investment_holdings as holdings, securities};
use super::filter;
use super::page::{self, KeyKind, Page};
use super::securities::text_key;
use crate::error::ApiResult;

/// Currency code used when a row has neither an ISO nor an unofficial currency code
/// (ISO 4217's "no currency").
pub const NO_CURRENCY: &str = "XXX";

/// One tax lot as stored in `investment_holdings.tax_lots` (a JSON array); decimals are
/// strings so they stay exact.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredTaxLot {
    pub institution_lot_id: Option<String>,
    pub original_purchase_datetime: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub quantity: Option<rust_decimal::Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub purchase_price: Option<rust_decimal::Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cost_basis: Option<rust_decimal::Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub current_value: Option<rust_decimal::Decimal>,
    pub position_type: Option<String>,
}

impl StoredTaxLot {
    pub fn to_json(lots: &[StoredTaxLot]) -> String {
        serde_json::to_string(lots).expect("tax lots serialize")
    }

    /// The lots in a stored column; `None` if the text is not what `to_json` writes.
    pub fn parse_all(json: &str) -> Option<Vec<StoredTaxLot>> {
        serde_json::from_str(json).ok()
    }
}

fn col(c: holdings::Column) -> Expr {
    Expr::col((holdings::Entity, c))
}

/// A decimal column of holdings with its sort-key column.
fn keyed(value: holdings::Column, key: holdings::Column) -> Keyed {
    Keyed {
        value: col(value),
        key: col(key),
    }
}

/// The row's currency: ISO code, else unofficial code, else [`NO_CURRENCY`].
pub fn currency_expr() -> Expr {
    currency_of_row(
        col(holdings::Column::IsoCurrencyCode),
        col(holdings::Column::UnofficialCurrencyCode),
    )
}

/// The currency of a row's ISO and unofficial codes, as [`currency_of_row`] computes it in
/// SQL.
pub fn currency_of_codes(iso: Option<&str>, unofficial: Option<&str>) -> String {
    iso.or(unofficial).unwrap_or(NO_CURRENCY).to_owned()
}

/// A row's currency from its ISO and unofficial code columns (every table that carries
/// money has both).
pub fn currency_of_row(iso: Expr, unofficial: Expr) -> Expr {
    Func::coalesce([iso, unofficial, Expr::val(NO_CURRENCY)]).into()
}

pub(in crate::db) fn select(user_id: i64, f: &HoldingFilter) -> Select<holdings::Entity> {
    let mut select = holdings::Entity::find()
        .filter(holdings::Column::UserId.eq(user_id))
        .filter(f.scope.condition(user_id, col(holdings::Column::AccountId)));
    if let Some(ids) = &f.security_ids {
        select = select.filter(filter::in_ids(col(holdings::Column::SecurityId), ids));
    }
    if let Some(m) = &f.security_type {
        let of_type = Query::select()
            .column(securities::Column::Id)
            .from(securities::Entity)
            .and_where(Expr::col(securities::Column::UserId).eq(user_id))
            .cond_where(filter::text(Expr::col(securities::Column::SecurityType), m))
            .to_owned();
        select = select.filter(filter::in_subquery(
            col(holdings::Column::SecurityId),
            of_type,
        ));
    }
    if let Some(m) = &f.currency {
        select = select.filter(filter::text(currency_expr(), m));
    }
    select
}

pub(in crate::db) async fn page(
    db: &DatabaseConnection,
    user_id: i64,
    f: &HoldingFilter,
    order_by: &[OrderBy<HoldingOrderField>],
    request: &PageRequest,
) -> ApiResult<Page<holdings::Model>> {
    let backend = db.get_database_backend();
    let by_name = order_by
        .iter()
        .any(|o| o.field == HoldingOrderField::SecurityName);
    let ordering = page::ordering_from(
        "holdings",
        order_by,
        OrderBy {
            field: HoldingOrderField::MarketValue,
            descending: true,
        },
        |field| match field {
            HoldingOrderField::MarketValue => (
                "market_value",
                keyed(
                    holdings::Column::InstitutionValue,
                    holdings::Column::InstitutionValueKey,
                )
                .expr(backend),
                KeyKind::decimal(backend),
            ),
            HoldingOrderField::Quantity => (
                "quantity",
                keyed(holdings::Column::Quantity, holdings::Column::QuantityKey).expr(backend),
                KeyKind::decimal(backend),
            ),
            HoldingOrderField::SecurityName => (
                "security_name",
                text_key(Expr::col((securities::Entity, securities::Column::Name))),
                KeyKind::Text,
            ),
        },
        col(holdings::Column::Id),
    );
    let mut select = select(user_id, f);
    if by_name {
        select = select.join(JoinType::InnerJoin, holdings::Relation::Security.def());
    }
    page::fetch(db, select, &ordering, request).await
}

/// The user's holdings in the given accounts or of the given securities, for the
/// `account.holdings` / `security.holdings` loaders.
pub(in crate::db) async fn of_parents(
    db: &DatabaseConnection,
    user_id: i64,
    parent: holdings::Column,
    parent_ids: &[i64],
) -> ApiResult<Vec<holdings::Model>> {
    Ok(holdings::Entity::find()
        .filter(holdings::Column::UserId.eq(user_id))
        .filter(filter::in_ids(col(parent), parent_ids))
        .all(db)
        .await?)
}

impl<C: sea_orm::ConnectionTrait> super::unscoped::Holdings<'_, C> {
    /// Inserts or updates positions by (account, security), with their order keys.
    pub async fn upsert(self, mut rows: Vec<holdings::ActiveModel>) -> ApiResult<()> {
        for row in &mut rows {
            if let Some(value) = row.institution_value.try_as_ref() {
                row.institution_value_key = sea_orm::Set(sort_key(value.0));
            }
            if let Some(quantity) = row.quantity.try_as_ref() {
                row.quantity_key = sea_orm::Set(sort_key(quantity.0));
            }
        }
        super::upsert_many::<holdings::Entity, _>(
            self.conn,
            rows,
            &[holdings::Column::AccountId, holdings::Column::SecurityId],
        )
        .await?;
        Ok(())
    }

    /// Existing positions of the given accounts as (row id, account id, security id).
    pub async fn keys_of_accounts(self, account_ids: &[i64]) -> ApiResult<Vec<(i64, i64, i64)>> {
        let rows = holdings::Entity::find()
            .filter(filter::in_ids(
                col(holdings::Column::AccountId),
                account_ids,
            ))
            .all(self.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|h| (h.id, h.account_id, h.security_id))
            .collect())
    }

    /// Deletes positions by row id, in chunks.
    pub async fn delete_ids(self, ids: &[i64]) -> ApiResult<()> {
        for chunk in ids.chunks(super::IN_LIST) {
            holdings::Entity::delete_many()
                .filter(filter::in_ids(col(holdings::Column::Id), chunk))
                .exec(self.conn)
                .await?;
        }
        Ok(())
    }
}

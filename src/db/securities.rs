//! Securities, one row per user and Plaid `security_id`.

use crate::domain::{OrderBy, PageRequest, SecurityFilter, SecurityOrderField};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, Select};

use super::entities::securities;
use super::filter;
use super::page::{self, KeyKind, Page};
use crate::error::ApiResult;

fn col(c: securities::Column) -> Expr {
    Expr::col((securities::Entity, c))
}

pub(in crate::db) fn select(user_id: i64, f: &SecurityFilter) -> Select<securities::Entity> {
    let mut select = securities::Entity::find().filter(securities::Column::UserId.eq(user_id));
    if let Some(ids) = &f.ids {
        select = select.filter(filter::in_ids(col(securities::Column::Id), ids));
    }
    if let Some(m) = &f.security_type {
        select = select.filter(filter::text(col(securities::Column::SecurityType), m));
    }
    if let Some(m) = &f.ticker_symbol {
        select = select.filter(filter::text(col(securities::Column::TickerSymbol), m));
    }
    if let Some(m) = &f.name {
        select = select.filter(filter::text(col(securities::Column::Name), m));
    }
    select
}

/// `COALESCE(column, '')`: a nullable text column as a sort key (missing values first).
pub(crate) fn text_key(c: Expr) -> Expr {
    Func::coalesce([c, Expr::val("")]).into()
}

pub(in crate::db) async fn page(
    db: &DatabaseConnection,
    user_id: i64,
    f: &SecurityFilter,
    order_by: &[OrderBy<SecurityOrderField>],
    request: &PageRequest,
) -> ApiResult<Page<securities::Model>> {
    let ordering = page::ordering_from(
        "securities",
        order_by,
        OrderBy {
            field: SecurityOrderField::Name,
            descending: false,
        },
        |field| match field {
            SecurityOrderField::Name => (
                "name",
                text_key(col(securities::Column::Name)),
                KeyKind::Text,
            ),
            SecurityOrderField::TickerSymbol => (
                "ticker_symbol",
                text_key(col(securities::Column::TickerSymbol)),
                KeyKind::Text,
            ),
        },
        col(securities::Column::Id),
    );
    page::fetch(db, select(user_id, f), &ordering, request).await
}

impl<C: sea_orm::ConnectionTrait> super::unscoped::Securities<'_, C> {
    /// Inserts or updates the user's securities by Plaid `security_id`.
    pub async fn upsert(self, rows: Vec<securities::ActiveModel>) -> ApiResult<()> {
        super::upsert_many::<securities::Entity, _>(
            self.conn,
            rows,
            &[
                securities::Column::UserId,
                securities::Column::PlaidSecurityId,
            ],
        )
        .await?;
        Ok(())
    }

    /// Row ids of the user's securities by Plaid `security_id`.
    pub async fn ids_by_plaid_id(self, user_id: i64, ids: &[String]) -> ApiResult<super::RowIds> {
        let plaid_id = securities::Column::PlaidSecurityId;
        super::ids_by_plaid_id::<securities::Entity, _>(self.conn, user_id, plaid_id, ids).await
    }

    /// Deletes the user's securities that no holding or transaction refers to any more.
    pub async fn delete_orphans(self, user_id: i64) -> ApiResult<()> {
        use super::entities::{investment_holdings, investment_transactions};
        use sea_orm::sea_query::Query;
        let held = Query::select()
            .column(investment_holdings::Column::SecurityId)
            .from(investment_holdings::Entity)
            .and_where(Expr::col(investment_holdings::Column::UserId).eq(user_id))
            .to_owned();
        let traded = Query::select()
            .column(investment_transactions::Column::SecurityId)
            .from(investment_transactions::Entity)
            .and_where(Expr::col(investment_transactions::Column::UserId).eq(user_id))
            .and_where(Expr::col(investment_transactions::Column::SecurityId).is_not_null())
            .to_owned();
        securities::Entity::delete_many()
            .filter(securities::Column::UserId.eq(user_id))
            .filter(securities::Column::Id.not_in_subquery(held))
            .filter(securities::Column::Id.not_in_subquery(traded))
            .exec(self.conn)
            .await?;
        Ok(())
    }
}

//! Accounts, and the account scope (accounts / items / institutions) that transactions,
//! holdings and the portfolio are filtered by.

use crate::domain::{AccountFilter, AccountScope, PageRequest, TextMatch};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, Select,
};

use super::entities::{accounts, plaid_items};
use super::filter;
use super::page::{self, KeyKind, Ordering, Page, SortKey};
use crate::error::ApiResult;

impl AccountScope {
    pub fn is_unrestricted(&self) -> bool {
        self.account_ids.is_none() && self.item_ids.is_none() && self.institution_ids.is_none()
    }

    /// The ids of the user's accounts in scope, as a subquery.
    fn account_ids_query(&self, user_id: i64) -> SelectStatement {
        let mut query = Query::select();
        query
            .column(accounts::Column::Id)
            .from(accounts::Entity)
            .and_where(Expr::col(accounts::Column::UserId).eq(user_id));
        if let Some(ids) = &self.account_ids {
            query.cond_where(filter::in_ids(Expr::col(accounts::Column::Id), ids));
        }
        if let Some(ids) = &self.item_ids {
            query.cond_where(filter::in_ids(Expr::col(accounts::Column::ItemId), ids));
        }
        if let Some(institutions) = &self.institution_ids {
            let items = Query::select()
                .column(plaid_items::Column::Id)
                .from(plaid_items::Entity)
                .and_where(Expr::col(plaid_items::Column::UserId).eq(user_id))
                .cond_where(filter::text(
                    Expr::col(plaid_items::Column::InstitutionId),
                    &TextMatch {
                        any_of: Some(institutions.clone()),
                        ..Default::default()
                    },
                ))
                .to_owned();
            query.cond_where(filter::in_subquery(
                Expr::col(accounts::Column::ItemId),
                items,
            ));
        }
        query
    }

    /// Limits rows whose account column is `account_column` to this scope. The rows'
    /// own `user_id` condition (every caller has one) is what keeps them the user's; so a
    /// scope of account ids alone is a plain `IN (ids)`, an equality the planner can
    /// seek an `(account_id, ...)` index with, where a subquery would hide it.
    pub fn condition(&self, user_id: i64, account_column: Expr) -> Condition {
        if self.is_unrestricted() {
            return Condition::all();
        }
        if let (Some(ids), None, None) = (&self.account_ids, &self.item_ids, &self.institution_ids)
        {
            return filter::in_ids(account_column, ids);
        }
        filter::in_subquery(account_column, self.account_ids_query(user_id))
    }
}

pub(in crate::db) fn select(user_id: i64, f: &AccountFilter) -> Select<accounts::Entity> {
    let scope = AccountScope {
        account_ids: None,
        item_ids: f.item_ids.clone(),
        institution_ids: f.institution_ids.clone(),
    };
    let mut select = accounts::Entity::find()
        .filter(accounts::Column::UserId.eq(user_id))
        .filter(scope.condition(user_id, Expr::col((accounts::Entity, accounts::Column::Id))));
    if let Some(m) = &f.account_type {
        select = select.filter(filter::text(
            Expr::col((accounts::Entity, accounts::Column::AccountType)),
            m,
        ));
    }
    if let Some(m) = &f.subtype {
        select = select.filter(filter::text(
            Expr::col((accounts::Entity, accounts::Column::Subtype)),
            m,
        ));
    }
    select
}

pub(in crate::db) async fn page(
    db: &DatabaseConnection,
    user_id: i64,
    f: &AccountFilter,
    request: &PageRequest,
) -> ApiResult<Page<accounts::Model>> {
    let ordering = Ordering::new(
        "accounts",
        vec![SortKey::new(
            "id",
            Expr::col((accounts::Entity, accounts::Column::Id)),
            KeyKind::Int,
            false,
        )],
    );
    page::fetch(db, select(user_id, f), &ordering, request).await
}

/// The user's accounts of the given items (for `item.accounts`), in id order.
pub(in crate::db) async fn of_items(
    db: &DatabaseConnection,
    user_id: i64,
    item_ids: &[i64],
) -> ApiResult<Vec<accounts::Model>> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::UserId.eq(user_id))
        .filter(filter::in_ids(
            Expr::col(accounts::Column::ItemId),
            item_ids,
        ))
        .all(db)
        .await?)
}

impl<C: sea_orm::ConnectionTrait> super::unscoped::Accounts<'_, C> {
    /// Inserts or updates accounts by Plaid `account_id`.
    pub async fn upsert(self, rows: Vec<accounts::ActiveModel>) -> ApiResult<()> {
        // The re-issue day is the sync's own record, not Plaid's: kept.
        super::upsert_many_keeping::<accounts::Entity, _>(
            self.conn,
            rows,
            &[accounts::Column::PlaidAccountId],
            &[accounts::Column::ReissuedOn],
        )
        .await?;
        Ok(())
    }

    /// Every account of an item, closed ones included (for the sync, which owns the item).
    pub async fn of_item(self, item_id: i64) -> ApiResult<Vec<accounts::Model>> {
        Ok(accounts::Entity::find()
            .filter(accounts::Column::ItemId.eq(item_id))
            .all(self.conn)
            .await?)
    }

    /// Gives an account the Plaid id it was re-issued under: its history and positions follow.
    pub async fn reissue(
        self,
        id: i64,
        new_plaid_id: &str,
        day: chrono::NaiveDate,
    ) -> ApiResult<()> {
        accounts::Entity::update_many()
            .col_expr(
                accounts::Column::PlaidAccountId,
                Expr::value(new_plaid_id.to_owned()),
            )
            .col_expr(
                accounts::Column::ClosedOn,
                Expr::value(None::<chrono::NaiveDate>),
            )
            .col_expr(accounts::Column::ReissuedOn, Expr::value(day))
            .filter(accounts::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Marks accounts closed at the institution on `day`.
    pub async fn mark_closed(self, ids: &[i64], day: chrono::NaiveDate) -> ApiResult<()> {
        for chunk in ids.chunks(super::IN_LIST) {
            accounts::Entity::update_many()
                .col_expr(accounts::Column::ClosedOn, Expr::value(day))
                .filter(filter::in_ids(Expr::col(accounts::Column::Id), chunk))
                .exec(self.conn)
                .await?;
        }
        Ok(())
    }

    /// Row ids of the user's accounts by Plaid `account_id`.
    pub async fn ids_by_plaid_id(self, user_id: i64, ids: &[String]) -> ApiResult<super::RowIds> {
        let plaid_id = accounts::Column::PlaidAccountId;
        super::ids_by_plaid_id::<accounts::Entity, _>(self.conn, user_id, plaid_id, ids).await
    }
}

//! The handle every request reads and writes the caller's data through (lldap's
//! restricted handler is the model). Built once per request from the verified token; every
//! query it offers is limited to the caller's rows by construction, so a resolver or a
//! handler cannot forget the owner. The analytics build their statements from it too
//! (`select`, `live_transactions`, `holdings_matching`, `within`), and the services that
//! create rows for a user (links, tokens) take it as the owner. The sync and the CLI,
//! which work across users, go through the explicitly named [`super::unscoped::Unscoped`]
//! instead; the CLI, the demo and tests, acting for a user they name, get that user's
//! scope from `Unscoped::users().scope_of`.

use crate::domain::{
    AccountFilter, HoldingFilter, HoldingOrderField, ItemFilter, OrderBy, PageRequest,
    SecurityFilter, SecurityOrderField, TransactionFilter, TransactionOrderField,
};
use std::collections::HashMap;

use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, Select};

use super::UserOwned;
use super::entities::{
    accounts, api_tokens, investment_holdings as holdings, investment_transactions as transactions,
    plaid_items, securities, sync_runs, users,
};
use super::page::Page;
use crate::domain::AccountScope;
use crate::error::ApiResult;

/// One user's rows.
#[derive(Clone)]
pub struct UserScope {
    db: DatabaseConnection,
    user_id: i64,
}

impl UserScope {
    /// The scope of `user_id`; made by authentication ([`crate::auth::Viewer::user_scope`])
    /// and, for a user named on the command line, by `Unscoped::users().scope_of`.
    pub(crate) fn new(db: DatabaseConnection, user_id: i64) -> Self {
        UserScope { db, user_id }
    }

    /// The owner's id, for the statements that write it into the rows they create.
    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    /// The connection, to run the statements this scope builds (`select`,
    /// `live_transactions`, `holdings_matching`) and a deferred count of its pages; not
    /// public, so code outside the crate reads only through its methods.
    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Whether `model` (a row already in hand, such as a sync run's update) is the caller's.
    pub fn owns<E: UserOwned>(&self, model: &E::Model) -> bool {
        E::owner_of(model) == self.user_id
    }

    /// The user.
    pub async fn user(&self) -> ApiResult<Option<users::Model>> {
        super::users::find(&self.db, self.user_id).await
    }

    /// The version of the caller's data, bumped by every sync that changes it: what the
    /// analytics cache is keyed on.
    pub async fn data_version(&self) -> ApiResult<i64> {
        super::users::data_version(&self.db, self.user_id).await
    }

    /// Every `E` of the caller: the start of the statements analytics build.
    pub fn select<E: UserOwned>(&self) -> Select<E> {
        E::find().filter(E::user_column().eq(self.user_id))
    }

    /// `account_column` is one of the caller's accounts within `accounts`.
    pub fn within(&self, accounts: &AccountScope, account_column: Expr) -> Condition {
        accounts.condition(self.user_id, account_column)
    }

    /// The caller's transactions matching `filter` that count in figures (neither
    /// cancelled nor cancelling).
    pub fn live_transactions(&self, filter: &TransactionFilter) -> Select<transactions::Entity> {
        super::transactions::live(self.db.get_database_backend(), self.user_id, filter)
    }

    /// The caller's holdings matching `filter`.
    pub fn holdings_matching(&self, filter: &HoldingFilter) -> Select<holdings::Entity> {
        super::holdings::select(self.user_id, filter)
    }

    /// The caller's `E` with this id, if there is one.
    pub async fn find<E: UserOwned>(&self, id: i64) -> ApiResult<Option<E::Model>> {
        Ok(self
            .select::<E>()
            .filter(E::id_column().eq(id))
            .one(&self.db)
            .await?)
    }

    /// The caller's `E` among these ids (repeats allowed), by id.
    pub async fn by_id<E: UserOwned>(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> ApiResult<HashMap<i64, E::Model>> {
        let mut ids: Vec<i64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .select::<E>()
            .filter(E::id_column().is_in(ids))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|m| (E::id_of(&m), m)).collect())
    }

    pub async fn items(
        &self,
        filter: &ItemFilter,
        request: &PageRequest,
    ) -> ApiResult<Page<plaid_items::Model>> {
        super::items::page(&self.db, self.user_id, filter, request).await
    }

    pub async fn accounts(
        &self,
        filter: &AccountFilter,
        request: &PageRequest,
    ) -> ApiResult<Page<accounts::Model>> {
        super::accounts::page(&self.db, self.user_id, filter, request).await
    }

    pub async fn securities(
        &self,
        filter: &SecurityFilter,
        order_by: &[OrderBy<SecurityOrderField>],
        request: &PageRequest,
    ) -> ApiResult<Page<securities::Model>> {
        super::securities::page(&self.db, self.user_id, filter, order_by, request).await
    }

    pub async fn holdings(
        &self,
        filter: &HoldingFilter,
        order_by: &[OrderBy<HoldingOrderField>],
        request: &PageRequest,
    ) -> ApiResult<Page<holdings::Model>> {
        super::holdings::page(&self.db, self.user_id, filter, order_by, request).await
    }

    pub async fn transactions(
        &self,
        filter: &TransactionFilter,
        order_by: &[OrderBy<TransactionOrderField>],
        request: &PageRequest,
    ) -> ApiResult<Page<transactions::Model>> {
        super::transactions::page(&self.db, self.user_id, filter, order_by, request).await
    }

    /// The caller's holdings whose `parent` column (account or security) is one of
    /// `parent_ids`.
    pub async fn holdings_of(
        &self,
        parent: holdings::Column,
        parent_ids: &[i64],
    ) -> ApiResult<Vec<holdings::Model>> {
        super::holdings::of_parents(&self.db, self.user_id, parent, parent_ids).await
    }

    /// The caller's accounts of these items.
    pub async fn accounts_of_items(&self, item_ids: &[i64]) -> ApiResult<Vec<accounts::Model>> {
        super::accounts::of_items(&self.db, self.user_id, item_ids).await
    }

    /// The latest `limit` syncs of the caller's item `item_id`, newest first.
    pub async fn sync_runs_of_item(
        &self,
        item_id: i64,
        limit: u64,
    ) -> ApiResult<Vec<sync_runs::Model>> {
        super::sync_runs::of_item(&self.db, self.user_id, item_id, limit).await
    }

    /// The caller's API tokens.
    pub async fn tokens(&self) -> ApiResult<Vec<api_tokens::Model>> {
        super::users::tokens_of(&self.db, self.user_id).await
    }

    /// Deletes the caller's token `id`; false when they have no such token.
    pub async fn delete_token(&self, id: i64) -> ApiResult<bool> {
        super::users::delete_token(&self.db, self.user_id, id).await
    }
}

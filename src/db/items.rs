//! Plaid items (one per linked login at an institution).

use crate::domain::{ItemFilter, PageRequest, TextMatch};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Select};

use super::entities::plaid_items;
use super::filter;
use super::page::{self, KeyKind, Ordering, Page, SortKey};
use crate::error::ApiResult;

pub(in crate::db) fn select(user_id: i64, f: &ItemFilter) -> Select<plaid_items::Entity> {
    let mut select = plaid_items::Entity::find().filter(plaid_items::Column::UserId.eq(user_id));
    if let Some(ids) = &f.institution_ids {
        select = select.filter(filter::text(
            Expr::col((plaid_items::Entity, plaid_items::Column::InstitutionId)),
            &TextMatch {
                any_of: Some(ids.clone()),
                ..Default::default()
            },
        ));
    }
    if let Some(m) = &f.status {
        select = select.filter(filter::text(
            Expr::col((plaid_items::Entity, plaid_items::Column::Status)),
            m,
        ));
    }
    select
}

pub(in crate::db) async fn page(
    db: &DatabaseConnection,
    user_id: i64,
    f: &ItemFilter,
    request: &PageRequest,
) -> ApiResult<Page<plaid_items::Model>> {
    let ordering = Ordering::new(
        "items",
        vec![SortKey::new(
            "id",
            Expr::col((plaid_items::Entity, plaid_items::Column::Id)),
            KeyKind::Int,
            false,
        )],
    );
    page::fetch(db, select(user_id, f), &ordering, request).await
}

/// Fields of a newly linked item.
#[derive(Clone, Debug)]
pub struct NewItem {
    pub user_id: i64,
    pub plaid_item_id: String,
    pub institution_id: Option<String>,
    pub institution_name: Option<String>,
    pub access_token_ciphertext: Option<String>,
    pub webhook: Option<String>,
}

/// The error an item last reported, as stored.
#[derive(Clone, Debug, Default)]
pub struct ItemErrorFields {
    pub error_type: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub display_message: Option<String>,
}

impl<C: sea_orm::ConnectionTrait> super::unscoped::Items<'_, C> {
    /// Stores a newly linked item (healthy, never synced yet).
    pub async fn create(
        self,
        item: NewItem,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<plaid_items::Model> {
        use sea_orm::{ActiveModelTrait, Set};
        Ok(plaid_items::ActiveModel {
            user_id: Set(item.user_id),
            plaid_item_id: Set(item.plaid_item_id),
            institution_id: Set(item.institution_id),
            institution_name: Set(item.institution_name),
            access_token_ciphertext: Set(item.access_token_ciphertext),
            status: Set(crate::vocabulary::ItemStatus::Healthy.as_str().to_owned()),
            webhook: Set(item.webhook),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(self.conn)
        .await?)
    }

    /// Any user's item by Plaid `item_id` (webhooks name items only by that).
    pub async fn find_by_plaid_id(
        self,
        plaid_item_id: &str,
    ) -> ApiResult<Option<plaid_items::Model>> {
        Ok(plaid_items::Entity::find()
            .filter(plaid_items::Column::PlaidItemId.eq(plaid_item_id))
            .one(self.conn)
            .await?)
    }

    /// Every item, or one user's items, oldest first (for `refreshAll` and scheduled rounds).
    pub async fn list(self, user_id: Option<i64>) -> ApiResult<Vec<plaid_items::Model>> {
        use sea_orm::QueryOrder;
        let mut select = plaid_items::Entity::find().order_by_asc(plaid_items::Column::Id);
        if let Some(user_id) = user_id {
            select = select.filter(plaid_items::Column::UserId.eq(user_id));
        }
        Ok(select.all(self.conn).await?)
    }

    /// An item by row id (`NOT_FOUND` when there is none).
    pub async fn get(self, id: i64) -> ApiResult<plaid_items::Model> {
        plaid_items::Entity::find_by_id(id)
            .one(self.conn)
            .await?
            .ok_or_else(|| crate::error::ApiError::not_found("no such item"))
    }

    /// Sets an item's status and error (`None` clears the error).
    pub async fn set_status(
        self,
        id: i64,
        status: &str,
        error: Option<ItemErrorFields>,
    ) -> ApiResult<plaid_items::Model> {
        use sea_orm::{ActiveModelTrait, Set};
        let error = error.unwrap_or_default();
        let model = plaid_items::ActiveModel {
            id: Set(id),
            status: Set(status.to_owned()),
            error_type: Set(error.error_type),
            error_code: Set(error.error_code),
            error_message: Set(error.error_message),
            error_display_message: Set(error.display_message),
            updated_at: Set(chrono::Utc::now()),
            ..Default::default()
        };
        Ok(model.update(self.conn).await?)
    }

    /// Writes any column of an item (the sync's bookkeeping: attempt and success times,
    /// Plaid's item fields, consent expiry).
    pub async fn update(
        self,
        mut changes: plaid_items::ActiveModel,
    ) -> ApiResult<plaid_items::Model> {
        use sea_orm::{ActiveModelTrait, Set};
        changes.updated_at = Set(chrono::Utc::now());
        Ok(changes.update(self.conn).await?)
    }

    /// Deletes an item; its accounts, holdings, snapshots, transactions and sync runs go with
    /// it (foreign keys cascade).
    pub async fn delete(self, id: i64) -> ApiResult<()> {
        plaid_items::Entity::delete_by_id(id)
            .exec(self.conn)
            .await?;
        Ok(())
    }
}

//! Plaid items (one per linked login at an institution).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Select};

use super::entities::plaid_items;
use super::filter::{self, TextMatch};
use super::page::{self, KeyKind, Ordering, Page, PageRequest, SortKey};
use crate::error::ApiResult;

#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub institution_ids: Option<Vec<String>>,
    pub status: Option<TextMatch>,
}

pub fn select(user_id: i64, f: &ItemFilter) -> Select<plaid_items::Entity> {
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

pub async fn page(
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

/// Stores a newly linked item (healthy, never synced yet).
pub async fn create<C: sea_orm::ConnectionTrait>(
    conn: &C,
    item: NewItem,
) -> ApiResult<plaid_items::Model> {
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    Ok(plaid_items::ActiveModel {
        user_id: Set(item.user_id),
        plaid_item_id: Set(item.plaid_item_id),
        institution_id: Set(item.institution_id),
        institution_name: Set(item.institution_name),
        access_token_ciphertext: Set(item.access_token_ciphertext),
        status: Set("healthy".to_owned()),
        webhook: Set(item.webhook),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

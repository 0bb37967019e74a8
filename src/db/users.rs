//! Users and their API tokens.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::entities::{api_tokens, users};
use crate::error::ApiResult;

impl super::unscoped::Users<'_, DatabaseConnection> {
    /// Acting for user `user_id`: the scope authentication would give a request of theirs,
    /// for the CLI, the demo and tests, which create rows (tokens, links) for a user they
    /// name.
    pub fn scope_of(self, user_id: i64) -> super::scope::UserScope {
        super::scope::UserScope::new(self.conn.clone(), user_id)
    }

    /// The user named `name`, created if it does not exist yet (on a connection: a lost
    /// race is answered by reading the winner's row, which an aborted transaction could
    /// not do).
    pub async fn find_or_create(self, name: &str) -> ApiResult<users::Model> {
        let db = self.conn;
        if let Some(user) = find_by_name(db, name).await? {
            return Ok(user);
        }
        let inserted = users::ActiveModel {
            name: Set(name.to_owned()),
            created_at: Set(Utc::now()),
            data_version: Set(0),
            ..Default::default()
        }
        .insert(db)
        .await;
        match inserted {
            Ok(user) => Ok(user),
            // Lost a race with another process creating the same user: use theirs.
            Err(err) => find_by_name(db, name).await?.ok_or_else(|| err.into()),
        }
    }
}

async fn find_by_name(db: &DatabaseConnection, name: &str) -> ApiResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub async fn find(db: &DatabaseConnection, id: i64) -> ApiResult<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id).one(db).await?)
}

impl<C: sea_orm::ConnectionTrait> super::unscoped::Users<'_, C> {
    /// Marks the user's synced data as changed (inside the transaction that changes it).
    pub async fn bump_data_version(self, user_id: i64) -> ApiResult<()> {
        users::Entity::update_many()
            .col_expr(
                users::Column::DataVersion,
                sea_orm::ExprTrait::add(
                    sea_orm::sea_query::Expr::col(users::Column::DataVersion),
                    1,
                ),
            )
            .filter(users::Column::Id.eq(user_id))
            .exec(self.conn)
            .await?;
        Ok(())
    }
}

/// The user's data version (see [`Users::bump_data_version`](super::unscoped::Users::bump_data_version)).
pub(in crate::db) async fn data_version(db: &DatabaseConnection, user_id: i64) -> ApiResult<i64> {
    use sea_orm::QuerySelect;
    let version: Option<i64> = users::Entity::find_by_id(user_id)
        .select_only()
        .column(users::Column::DataVersion)
        .into_tuple()
        .one(db)
        .await?;
    Ok(version.unwrap_or(0))
}

pub async fn insert_token(
    db: &DatabaseConnection,
    user_id: i64,
    name: &str,
    token_hash: &str,
    scope: &str,
) -> ApiResult<api_tokens::Model> {
    Ok(api_tokens::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(token_hash.to_owned()),
        scope: Set(scope.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn find_token_by_hash(
    db: &DatabaseConnection,
    token_hash: &str,
) -> ApiResult<Option<api_tokens::Model>> {
    Ok(api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?)
}

pub(in crate::db) async fn tokens_of(
    db: &DatabaseConnection,
    user_id: i64,
) -> ApiResult<Vec<api_tokens::Model>> {
    Ok(api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .order_by_asc(api_tokens::Column::Id)
        .all(db)
        .await?)
}

/// Deletes the caller's token `id`; false when there is no such token of theirs.
pub(in crate::db) async fn delete_token(
    db: &DatabaseConnection,
    user_id: i64,
    id: i64,
) -> ApiResult<bool> {
    let result = api_tokens::Entity::delete_many()
        .filter(api_tokens::Column::Id.eq(id))
        .filter(api_tokens::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

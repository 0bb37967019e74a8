use async_graphql::{Context, ID, Object, Result};

use super::ApiToken;
use crate::db::entities::users;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scalars::DateTime;
use crate::graphql::types::TokenScope;

pub struct User(pub users::Model);

/// A person using the API; owns items, accounts and everything synced from them.
#[Object]
impl User {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::User, self.0.id)
    }

    /// The user's name, as given to `investments token create --user`.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// When the user was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// Scope of the token this request was made with.
    async fn token_scope(&self, ctx: &Context<'_>) -> Result<TokenScope> {
        Ok(crate::graphql::viewer(ctx)?.scope.into())
    }

    /// The user's API tokens (their secrets are never shown again after creation).
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let tokens = crate::graphql::scope(ctx)?.tokens().await?;
        Ok(tokens.into_iter().map(ApiToken).collect())
    }
}

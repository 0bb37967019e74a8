use async_graphql::{Context, ID, Object, Result};

use crate::auth::Scope;
use crate::db::entities::api_tokens;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scalars::DateTime;

pub struct ApiToken(pub api_tokens::Model);

/// An API token of the viewer. The secret itself is only shown once, by `createApiToken`.
#[Object]
impl ApiToken {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::ApiToken, self.0.id)
    }

    /// Label given when the token was created.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the token may do.
    async fn scope(&self) -> Scope {
        Scope::parse(&self.0.scope).unwrap_or(Scope::Read)
    }

    /// When the token was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// True for the token this request was made with.
    async fn is_current(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(crate::graphql::viewer(ctx)?.token_id == self.0.id)
    }
}

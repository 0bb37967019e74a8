use async_graphql::{Context, ID, Object, Result};

use crate::auth::Scope;
use crate::db::entities::api_tokens;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scalars::DateTime;

pub struct ApiToken(pub api_tokens::Model);

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "TokenScope", remote = "crate::auth::Scope")]
pub enum TokenScope {
    /// Queries only.
    Read,
    /// Queries and mutations.
    Write,
}

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
    async fn scope(&self) -> TokenScope {
        Scope::parse(&self.0.scope).unwrap_or(Scope::Read).into()
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

//! API token management.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::auth;
use crate::error::ApiError;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scope;
use crate::graphql::types::ApiToken;
use crate::graphql::types::TokenScope;

#[derive(Default)]
pub struct TokenMutations;

/// Input of `createApiToken`.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A label to recognise the token by.
    name: String,
    /// What the token may do.
    scope: TokenScope,
}

/// Result of `createApiToken`.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The secret, shown this once: send it as `Authorization: Bearer <token>`.
    token: String,
    /// The token's record.
    api_token: ApiToken,
}

/// Input of `revokeApiToken`.
#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    /// Id of the token to revoke.
    id: ID,
}

/// Result of `revokeApiToken`.
#[derive(SimpleObject)]
pub struct RevokeApiTokenPayload {
    /// Id of the revoked token.
    revoked_token_id: ID,
}

#[Object]
impl TokenMutations {
    /// Creates an API token for yourself (for a dashboard, a script...).
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new token's name and scope.")] input: CreateApiTokenInput,
    ) -> Result<CreateApiTokenPayload> {
        let scope = scope(ctx)?;
        let name = input.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ApiError::bad_input("`name` must have 1 to 200 characters").into());
        }
        let issued = auth::issue_token(scope, name, input.scope.into()).await?;
        Ok(CreateApiTokenPayload {
            token: issued.token,
            api_token: ApiToken(issued.record),
        })
    }

    /// Revokes one of your API tokens; it stops working at once on this server, and within
    /// the token cache's time to live (5 seconds by default) on other replicas.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token to revoke.")] input: RevokeApiTokenInput,
    ) -> Result<RevokeApiTokenPayload> {
        let row = ids::decode_as(NodeKind::ApiToken, &input.id, "id")?;
        if !scope(ctx)?.delete_token(row).await? {
            return Err(ApiError::not_found("no such API token").into());
        }
        ctx.data_unchecked::<crate::auth::TokenCache>().forget(row);
        Ok(RevokeApiTokenPayload {
            revoked_token_id: input.id,
        })
    }
}

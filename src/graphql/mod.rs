//! The GraphQL API: schema, types, inputs, connections and loaders. Resolvers stay thin:
//! they decode arguments and call the `db` queries and services.

pub mod connection;
pub mod cost;
pub mod extensions;
pub mod ids;
pub mod inputs;
pub mod listing;
pub mod loaders;
pub mod mutation;
pub mod persisted;
pub mod prefetch;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;

use std::time::Duration;

use async_graphql::{Context, ErrorExtensions, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::auth::Viewer;
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::sync::SyncService;
use loaders::Loaders;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::SubscriptionRoot>;

/// Deepest selection accepted. GraphiQL's introspection query needs 13.
pub const MAX_DEPTH: usize = 16;

/// The limits of a request that a server may set (the others are in [`cost`]).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest a query or mutation runs before it is stopped with `DEADLINE_EXCEEDED`.
    pub deadline: Duration,
    /// Most a request may cost ([`cost::MAX_COMPLEXITY`]).
    pub max_complexity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: cost::DEFAULT_DEADLINE,
            max_complexity: cost::MAX_COMPLEXITY,
        }
    }
}

fn builder(
    limits: &Limits,
) -> SchemaBuilder<query::Query, mutation::Mutation, subscription::SubscriptionRoot> {
    Schema::build(
        query::Query,
        mutation::Mutation::default(),
        subscription::SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .extension(extensions::RequestMetrics)
    .extension(extensions::ErrorCodes)
    .extension(extensions::MutationScope)
    .extension(extensions::RequestedOrder)
    .extension(extensions::CostLimits {
        max_complexity: limits.max_complexity,
    })
    .extension(extensions::Deadline(limits.deadline))
}

/// The schema served over HTTP; without a sync service (no Plaid credentials) the item
/// mutations answer `PLAID_UNAVAILABLE`. It holds no database connection: resolvers reach
/// data through the caller's [`crate::db::scope::UserScope`], added per request by
/// [`request_data`].
pub fn schema(sync: Option<SyncService>, clock: Clock, limits: &Limits) -> AppSchema {
    builder(limits).data(sync).data(clock).finish()
}

/// The SDL committed as `schema.graphql`.
pub fn sdl() -> String {
    builder(&Limits::default())
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().sorted_fields())
}

/// Per-request data: the caller, their loaders and their analytics, and the token cache
/// that revoking a token must update.
pub fn request_data(
    db: &DatabaseConnection,
    cache: &std::sync::Arc<crate::portfolio::AnalyticsCache>,
    tokens: &crate::auth::TokenCache,
    viewer: Viewer,
) -> async_graphql::Data {
    let scope = viewer.user_scope(db);
    let mut data = async_graphql::Data::default();
    data.insert(viewer);
    data.insert(Loaders::new(&scope));
    data.insert(crate::portfolio::Analytics::new(
        scope.clone(),
        cache.clone(),
    ));
    data.insert(scope);
    data.insert(tokens.clone());
    data
}

pub(crate) fn viewer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    ctx.data::<Viewer>().map_err(|_| ApiError::Unauthenticated)
}

/// The caller's rows ([`crate::db::scope::UserScope`]): how resolvers reach user data.
pub(crate) fn scope<'a>(ctx: &Context<'a>) -> ApiResult<&'a crate::db::scope::UserScope> {
    ctx.data::<crate::db::scope::UserScope>()
        .map_err(|_| ApiError::Unauthenticated)
}

pub(crate) fn sync<'a>(ctx: &Context<'a>) -> ApiResult<&'a SyncService> {
    ctx.data_unchecked::<Option<SyncService>>()
        .as_ref()
        .ok_or_else(|| {
            ApiError::Plaid(Box::new(crate::error::PlaidFailure::bare(
                "PLAID_UNAVAILABLE",
                "Plaid is not configured on this server (PLAID_CLIENT_ID, PLAID_SECRET)",
            )))
        })
}

pub(crate) fn clock<'a>(ctx: &Context<'a>) -> &'a Clock {
    ctx.data_unchecked::<Clock>()
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.log_cause();
        let code = err.code();
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let ApiError::Plaid(f) = &err {
                let fields = [
                    ("plaidErrorType", &f.plaid_error_type),
                    ("plaidErrorCode", &f.plaid_error_code),
                    ("displayMessage", &f.display_message),
                    ("requestId", &f.request_id),
                    ("plaidItemId", &f.plaid_item_id),
                    ("itemStatus", &f.item_status),
                ];
                for (name, value) in fields {
                    if let Some(value) = value {
                        ext.set(name, value.as_str());
                    }
                }
            }
        })
    }
}

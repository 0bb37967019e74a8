//! The `Query` root.

use async_graphql::{Context, ID, Object, Result};

use super::connection::{self, Connection};
use super::ids::{self, NodeKind};
use super::inputs::{
    AccountFilter, HoldingFilter, HoldingOrder, InvestmentTransactionFilter,
    InvestmentTransactionOrder, PlaidItemFilter, PortfolioFilter, SecurityFilter, SecurityOrder,
    TransactionGroupBy,
};
use super::types::{
    Account, ApiToken, Holding, InvestmentTransaction, Node, PlaidItem, Portfolio, Security,
    SyncRun, TransactionSummaryRow, User,
};
use super::{listing, scope};
use crate::db::UserOwned;
use crate::db::entities::{
    accounts, api_tokens, investment_holdings, investment_transactions, plaid_items, securities,
    sync_runs,
};
use crate::error::{ApiError, ApiResult};

pub struct Query;

async fn owned<E: UserOwned>(ctx: &Context<'_>, id: i64) -> ApiResult<Option<E::Model>> {
    scope(ctx)?.find::<E>(id).await
}

/// The entry points for reading: your items, accounts, securities, holdings, transactions
/// and portfolio figures. Everything is limited to the data of the token's user.
///
/// Limits of a request (docs/api-limits.md): a cost of at most 100,000, the sum over every
/// field selected, each alias and fragment use counted (a field's cost is in its
/// description when it is not 1); at most 20 root fields and 50 aliases; and 10 seconds
/// of execution by default. Beyond them: `QUERY_TOO_COMPLEX` before anything runs, or
/// `DEADLINE_EXCEEDED`.
#[Object]
impl Query {
    /// Any object by its global id; null when it does not exist or is not yours.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the object.")] id: ID,
    ) -> Result<Option<Node>> {
        let (kind, row) = ids::decode(&id)?;
        let node = match kind {
            NodeKind::User => {
                let user = scope(ctx)?;
                if user.user_id() != row {
                    return Ok(None);
                }
                user.user().await?.map(|u| Node::User(User(u)))
            }
            NodeKind::ApiToken => owned::<api_tokens::Entity>(ctx, row)
                .await?
                .map(|m| Node::ApiToken(ApiToken(m))),
            NodeKind::PlaidItem => owned::<plaid_items::Entity>(ctx, row)
                .await?
                .map(|m| Node::PlaidItem(PlaidItem(m))),
            NodeKind::Account => owned::<accounts::Entity>(ctx, row)
                .await?
                .map(|m| Node::Account(Account(m))),
            NodeKind::Security => owned::<securities::Entity>(ctx, row)
                .await?
                .map(|m| Node::Security(Security(m))),
            NodeKind::Holding => owned::<investment_holdings::Entity>(ctx, row)
                .await?
                .map(|m| Node::Holding(Holding(m))),
            NodeKind::InvestmentTransaction => owned::<investment_transactions::Entity>(ctx, row)
                .await?
                .map(|m| Node::InvestmentTransaction(InvestmentTransaction(m))),
            NodeKind::SyncRun => owned::<sync_runs::Entity>(ctx, row)
                .await?
                .map(|m| Node::SyncRun(SyncRun(m))),
        };
        Ok(node)
    }

    /// The user the request's token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<User> {
        let user = scope(ctx)?.user().await?.ok_or(ApiError::Unauthenticated)?;
        Ok(User(user))
    }

    /// Your linked items (logins at institutions), oldest first.
    ///
    /// Cost: 1 + the page size (`first` or `last`, default 50) x the selection.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    async fn items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which items.")] filter: Option<PlaidItemFilter>,
        #[graphql(desc = "Page size from the start (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (at most 500).")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
    ) -> Result<Connection<PlaidItem>> {
        let filter = filter.unwrap_or_default().into_query();
        let request = connection::request(ctx, first, after, last, before);
        listing::list(ctx, filter, Vec::new(), request).await
    }

    /// Your accounts, oldest first.
    ///
    /// Cost: 1 + the page size (`first` or `last`, default 50) x the selection.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which accounts.")] filter: Option<AccountFilter>,
        #[graphql(desc = "Page size from the start (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (at most 500).")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
    ) -> Result<Connection<Account>> {
        let filter = filter.unwrap_or_default().into_query()?;
        let request = connection::request(ctx, first, after, last, before);
        listing::list(ctx, filter, Vec::new(), request).await
    }

    /// Securities you hold or have traded; by name unless `orderBy` says otherwise.
    ///
    /// Cost: 1 + the page size (`first` or `last`, default 50) x the selection.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn securities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which securities.")] filter: Option<SecurityFilter>,
        #[graphql(desc = "Sort keys, in order (default: name ascending).")] order_by: Option<
            Vec<SecurityOrder>,
        >,
        #[graphql(desc = "Page size from the start (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (at most 500).")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
    ) -> Result<Connection<Security>> {
        let filter = filter.unwrap_or_default().into_query()?;
        let request = connection::request(ctx, first, after, last, before);
        listing::list(ctx, filter, listing::order_by(order_by), request).await
    }

    /// Your positions; largest market value first unless `orderBy` says otherwise.
    ///
    /// Cost: 1 + the page size (`first` or `last`, default 50) x the selection.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn holdings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which holdings.")] filter: Option<HoldingFilter>,
        #[graphql(desc = "Sort keys, in order (default: market value descending).")]
        order_by: Option<Vec<HoldingOrder>>,
        #[graphql(desc = "Page size from the start (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (at most 500).")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
    ) -> Result<Connection<Holding>> {
        let filter = filter.unwrap_or_default().into_query()?;
        let request = connection::request(ctx, first, after, last, before);
        listing::list(ctx, filter, listing::order_by(order_by), request).await
    }

    /// Your investment transactions; newest first unless `orderBy` says otherwise.
    ///
    /// Cost: 1 + the page size (`first` or `last`, default 50) x the selection.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn investment_transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which transactions.")] filter: Option<InvestmentTransactionFilter>,
        #[graphql(desc = "Sort keys, in order (default: date descending).")] order_by: Option<
            Vec<InvestmentTransactionOrder>,
        >,
        #[graphql(desc = "Page size from the start (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (at most 500).")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
    ) -> Result<Connection<InvestmentTransaction>> {
        let filter = filter.unwrap_or_default().into_query()?;
        let request = connection::request(ctx, first, after, last, before);
        listing::list(ctx, filter, listing::order_by(order_by), request).await
    }

    /// Sums of investment transactions, one row per group and currency (cancelled
    /// transactions left out). With no `groupBy`, one row per currency.
    ///
    /// Cost: 2,000 (the transactions read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::transactions(child_complexity)")]
    async fn investment_transaction_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which transactions.")] filter: Option<InvestmentTransactionFilter>,
        #[graphql(desc = "What to group by; the rows carry these keys.", default)] group_by: Vec<
            TransactionGroupBy,
        >,
    ) -> Result<Vec<TransactionSummaryRow>> {
        scope(ctx)?;
        let filter = filter.unwrap_or_default().into_query()?;
        let group_by: Vec<_> = group_by.into_iter().map(Into::into).collect();
        TransactionSummaryRow::load(ctx, &filter, &group_by).await
    }

    /// Value, cost and gain of your holdings, per currency and per group.
    async fn portfolio(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which accounts to include (default: all).")] filter: Option<
            PortfolioFilter,
        >,
    ) -> Result<Portfolio> {
        scope(ctx)?;
        Ok(Portfolio::new(filter.unwrap_or_default().into_scope()?))
    }
}

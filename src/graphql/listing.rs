//! One way to answer a connection field: the caller's rows in a filter and an order, one
//! page of them, what their nodes select loaded ahead, as a Relay connection. Every
//! connection field (the root lists and `Security.transactions`) is a call to [`list`]
//! with its [`Listed`] kind.

use crate::domain::{self, OrderBy, PageRequest};
use async_graphql::{Context, Lookahead, OutputType, Result};
use futures_util::future::BoxFuture;
use std::convert::Infallible;

use super::connection::{self, Connection};
use super::types::{Account, Holding, InvestmentTransaction, PlaidItem, Security};
use super::{prefetch, scope};
use crate::db::entities::{
    accounts, investment_holdings as holdings, investment_transactions as transactions,
    plaid_items, securities,
};
use crate::db::page::Page;
use crate::db::scope::UserScope;
use crate::error::ApiResult;

/// A kind of node a connection lists.
pub trait Listed: OutputType + Sized {
    /// The filter, as the query layer takes it.
    type Filter: Send + Sync + 'static;
    /// The sort keys; `Infallible` for lists with one fixed order.
    type Field: Send + Sync + 'static;
    type Row: Clone + Send + Sync + 'static;

    /// One page of the caller's rows.
    fn page<'a>(
        scope: &'a UserScope,
        filter: &'a Self::Filter,
        order_by: &'a [OrderBy<Self::Field>],
        request: &'a PageRequest,
    ) -> BoxFuture<'a, ApiResult<Page<Self::Row>>>;

    /// Loads what `selection` (the page's nodes) asks for, for all `rows` at once.
    fn prefetch<'a>(
        ctx: &'a Context<'_>,
        selection: &'a Lookahead<'a>,
        rows: Vec<Self::Row>,
    ) -> BoxFuture<'a, Result<()>>;

    fn node(row: Self::Row) -> Self;
}

/// The caller's page of `L` in `filter` and `order_by`.
pub async fn list<L: Listed>(
    ctx: &Context<'_>,
    filter: L::Filter,
    order_by: Vec<OrderBy<L::Field>>,
    request: PageRequest,
) -> Result<Connection<L>> {
    let page = L::page(scope(ctx)?, &filter, &order_by, &request).await?;
    for selection in prefetch::connection_nodes(ctx) {
        L::prefetch(ctx, &selection, page.models()).await?;
    }
    Ok(connection::from_page(page, L::node))
}

/// An `orderBy` argument as sort keys (none: the list's default order).
pub fn order_by<I, F>(input: Option<Vec<I>>) -> Vec<OrderBy<F>>
where
    I: Into<OrderBy<F>>,
{
    input
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect()
}

/// `Listed` for each node type: `Node(filter, sort keys, row)`, how a page of its rows is
/// read (`|scope, filter, order_by, request| ...`), and which prefetch its nodes use.
macro_rules! listed {
    ($($node:ident($filter:ty, $field:ty, $row:ty)
       |$scope:ident, $f:ident, $order_by:ident, $request:ident| $page:expr,
       $prefetch:expr;)*) => {$(
        impl Listed for $node {
            type Filter = $filter;
            type Field = $field;
            type Row = $row;

            fn page<'a>(
                $scope: &'a UserScope,
                $f: &'a Self::Filter,
                $order_by: &'a [OrderBy<Self::Field>],
                $request: &'a PageRequest,
            ) -> BoxFuture<'a, ApiResult<Page<Self::Row>>> {
                Box::pin($page)
            }

            fn prefetch<'a>(
                ctx: &'a Context<'_>,
                selection: &'a Lookahead<'a>,
                rows: Vec<Self::Row>,
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(async move { $prefetch(ctx, selection, rows).await })
            }

            fn node(row: Self::Row) -> Self {
                $node(row)
            }
        }
    )*};
}

// Items and accounts have one order (oldest first): no sort keys.
listed! {
    PlaidItem(domain::ItemFilter, Infallible, plaid_items::Model)
        |scope, f, _order_by, request| scope.items(f, request), prefetch::items;
    Account(domain::AccountFilter, Infallible, accounts::Model)
        |scope, f, _order_by, request| scope.accounts(f, request), prefetch::accounts;
    Security(domain::SecurityFilter, domain::SecurityOrderField, securities::Model)
        |scope, f, order_by, request| scope.securities(f, order_by, request), prefetch::securities;
    Holding(domain::HoldingFilter, domain::HoldingOrderField, holdings::Model)
        |scope, f, order_by, request| scope.holdings(f, order_by, request), prefetch::holdings;
    InvestmentTransaction(domain::TransactionFilter, domain::TransactionOrderField, transactions::Model)
        |scope, f, order_by, request| scope.transactions(f, order_by, request), prefetch::transactions;
}

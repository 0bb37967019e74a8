//! Deterministic batch boundaries for the DataLoaders.
//!
//! A DataLoader batches the keys that arrive within its delay. async-graphql resolves a long
//! list through `FuturesUnordered`, which yields every 32 items, so a slow moment can split
//! one level of a 500-node page into several batches. Here a connection looks ahead at what
//! the query selects and asks the loaders for the whole sibling set at once with
//! `load_many`, level by level; the nested resolvers' `load_one` calls then hit the
//! request's loader cache. The result: one statement per relation and level, whatever the
//! page size or the machine's speed.

use std::collections::BTreeSet;

use std::hash::Hash;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, Lookahead, Result};
use futures_util::future::BoxFuture;

use super::loaders::{AccountsOfItem, HoldingsOfAccount, HoldingsOfSecurity};
use crate::db::entities::{
    accounts, investment_holdings as holdings, investment_transactions as transactions,
    plaid_items, securities,
};

/// Loads `keys` (deduplicated) in one batch, straight through the loader (the whole set
/// is known, so the DataLoader's batching delay, a millisecond per level, would buy
/// nothing); the values land in its cache for the nested resolvers.
async fn load<L, K>(
    loader: &DataLoader<L, HashMapCache>,
    keys: impl Iterator<Item = K>,
) -> Result<Vec<L::Value>>
where
    L: Loader<K, Error = async_graphql::Error>,
    K: Send + Sync + Hash + Eq + Ord + Clone + 'static,
{
    let keys: Vec<K> = keys.collect::<BTreeSet<K>>().into_iter().collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values = loader.loader().load(&keys).await?;
    let loaded: Vec<L::Value> = values.values().cloned().collect();
    loader.feed_many(values).await;
    Ok(loaded)
}

/// The node selections of a connection field (`nodes` and `edges.node`).
pub fn connection_nodes<'a>(ctx: &'a Context<'_>) -> [Lookahead<'a>; 2] {
    let look = ctx.look_ahead();
    [look.field("nodes"), look.field("edges").field("node")]
}

pub fn holdings<'a>(
    ctx: &'a Context<'_>,
    selection: &'a Lookahead<'a>,
    rows: Vec<holdings::Model>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() || !selection.exists() {
            return Ok(());
        }
        let loaders = super::loaders(ctx);
        let account = selection.field("account");
        if account.exists() {
            let found = load(&loaders.accounts, rows.iter().map(|h| h.account_id)).await?;
            self::accounts(ctx, &account, found).await?;
        }
        let security = selection.field("security");
        if security.exists() {
            let found = load(&loaders.securities, rows.iter().map(|h| h.security_id)).await?;
            self::securities(ctx, &security, found).await?;
        }
        Ok(())
    })
}

pub fn accounts<'a>(
    ctx: &'a Context<'_>,
    selection: &'a Lookahead<'a>,
    rows: Vec<accounts::Model>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() || !selection.exists() {
            return Ok(());
        }
        let loaders = super::loaders(ctx);
        let item = selection.field("item");
        if item.exists() {
            let found = load(&loaders.items, rows.iter().map(|a| a.item_id)).await?;
            self::items(ctx, &item, found).await?;
        }
        let nested = selection.field("holdings");
        if nested.exists() {
            let found = load(
                &loaders.children,
                rows.iter().map(|a| HoldingsOfAccount(a.id)),
            )
            .await?;
            self::holdings(ctx, &nested, found.into_iter().flatten().collect()).await?;
        }
        Ok(())
    })
}

pub fn securities<'a>(
    ctx: &'a Context<'_>,
    selection: &'a Lookahead<'a>,
    rows: Vec<securities::Model>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() || !selection.exists() {
            return Ok(());
        }
        let nested = selection.field("holdings");
        if nested.exists() {
            let found = load(
                &super::loaders(ctx).children,
                rows.iter().map(|s| HoldingsOfSecurity(s.id)),
            )
            .await?;
            self::holdings(ctx, &nested, found.into_iter().flatten().collect()).await?;
        }
        Ok(())
    })
}

pub fn items<'a>(
    ctx: &'a Context<'_>,
    selection: &'a Lookahead<'a>,
    rows: Vec<plaid_items::Model>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() || !selection.exists() {
            return Ok(());
        }
        let nested = selection.field("accounts");
        if nested.exists() {
            let found = load(
                &super::loaders(ctx).children,
                rows.iter().map(|i| AccountsOfItem(i.id)),
            )
            .await?;
            self::accounts(ctx, &nested, found.into_iter().flatten().collect()).await?;
        }
        Ok(())
    })
}

pub async fn transactions<'a>(
    ctx: &'a Context<'_>,
    selection: &'a Lookahead<'a>,
    rows: Vec<transactions::Model>,
) -> Result<()> {
    if rows.is_empty() || !selection.exists() {
        return Ok(());
    }
    let loaders = super::loaders(ctx);
    let account = selection.field("account");
    if account.exists() {
        let found = load(&loaders.accounts, rows.iter().map(|t| t.account_id)).await?;
        self::accounts(ctx, &account, found).await?;
    }
    let security = selection.field("security");
    if security.exists() {
        let found = load(
            &loaders.securities,
            rows.iter().filter_map(|t| t.security_id),
        )
        .await?;
        self::securities(ctx, &security, found).await?;
    }
    Ok(())
}

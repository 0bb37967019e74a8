//! DataLoaders for nested fields: each batches the keys a query level asks for into one
//! statement, so a page of 500 holdings with their accounts and securities costs the same
//! few statements as a page of 5. Built per request on the caller's `UserScope`, with a
//! per-request cache.

use std::collections::HashMap;
use std::marker::PhantomData;

use crate::db::UserOwned;
use crate::db::entities::{accounts, investment_holdings as holdings, plaid_items, securities};
use crate::db::scope::UserScope;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

/// Loads the user's rows of `E` by id.
pub struct ById<E> {
    scope: UserScope,
    entity: PhantomData<fn() -> E>,
}

impl<E> Loader<i64> for ById<E>
where
    E: UserOwned,
    E::Model: Clone + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, E::Model>, Self::Error> {
        Ok(self.scope.by_id::<E>(keys.iter().copied()).await?)
    }
}

/// Key: the holdings of one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HoldingsOfAccount(pub i64);

/// Key: the holdings of one security, across the user's accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HoldingsOfSecurity(pub i64);

/// Key: the accounts of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountsOfItem(pub i64);

/// Loads one-to-many children for the keys above.
pub struct Children {
    scope: UserScope,
}

fn group<K: std::hash::Hash + Eq, V>(
    keys: impl IntoIterator<Item = K>,
    rows: Vec<V>,
    key_of: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.into_iter().map(|k| (k, Vec::new())).collect();
    for row in rows {
        if let Some(list) = map.get_mut(&key_of(&row)) {
            list.push(row);
        }
    }
    map
}

impl Loader<HoldingsOfAccount> for Children {
    type Value = Vec<holdings::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[HoldingsOfAccount],
    ) -> Result<HashMap<HoldingsOfAccount, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .scope
            .holdings_of(holdings::Column::AccountId, &ids)
            .await?;
        Ok(group(keys.iter().copied(), rows, |h| {
            HoldingsOfAccount(h.account_id)
        }))
    }
}

impl Loader<HoldingsOfSecurity> for Children {
    type Value = Vec<holdings::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[HoldingsOfSecurity],
    ) -> Result<HashMap<HoldingsOfSecurity, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .scope
            .holdings_of(holdings::Column::SecurityId, &ids)
            .await?;
        Ok(group(keys.iter().copied(), rows, |h| {
            HoldingsOfSecurity(h.security_id)
        }))
    }
}

impl Loader<AccountsOfItem> for Children {
    type Value = Vec<accounts::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[AccountsOfItem],
    ) -> Result<HashMap<AccountsOfItem, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = self.scope.accounts_of_items(&ids).await?;
        Ok(group(keys.iter().copied(), rows, |a| {
            AccountsOfItem(a.item_id)
        }))
    }
}

type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request.
pub struct Loaders {
    pub items: Cached<ById<plaid_items::Entity>>,
    pub accounts: Cached<ById<accounts::Entity>>,
    pub securities: Cached<ById<securities::Entity>>,
    pub children: Cached<Children>,
}

fn by_id<E>(scope: &UserScope) -> Cached<ById<E>>
where
    E: UserOwned,
    E::Model: Clone + Send + Sync + 'static,
{
    let loader = ById {
        scope: scope.clone(),
        entity: PhantomData,
    };
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

impl Loaders {
    /// The loaders of the request whose caller is `scope`.
    pub fn new(scope: &UserScope) -> Self {
        Loaders {
            items: by_id(scope),
            accounts: by_id(scope),
            securities: by_id(scope),
            children: DataLoader::with_cache(
                Children {
                    scope: scope.clone(),
                },
                tokio::spawn,
                HashMapCache::default(),
            ),
        }
    }

    /// The caller's item `id` (batched with the other items the request names).
    pub async fn item(&self, id: i64) -> async_graphql::Result<Option<plaid_items::Model>> {
        self.items.load_one(id).await
    }

    /// The caller's account `id` (batched).
    pub async fn account(&self, id: i64) -> async_graphql::Result<Option<accounts::Model>> {
        self.accounts.load_one(id).await
    }

    /// The caller's security `id` (batched).
    pub async fn security(&self, id: i64) -> async_graphql::Result<Option<securities::Model>> {
        self.securities.load_one(id).await
    }

    /// The caller's accounts and securities among these ids, in one batch each: what a
    /// figure's rows name.
    pub async fn accounts_and_securities(
        &self,
        account_ids: impl IntoIterator<Item = i64>,
        security_ids: impl IntoIterator<Item = i64>,
    ) -> async_graphql::Result<(
        HashMap<i64, accounts::Model>,
        HashMap<i64, securities::Model>,
    )> {
        tokio::try_join!(
            self.accounts.load_many(account_ids),
            self.securities.load_many(security_ids)
        )
    }
}

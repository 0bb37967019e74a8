//! The handle for work across users. The sync engine, the CLI and the demo read and
//! write user data through [`Unscoped`], and its statements exist only as its methods (the
//! request side is [`super::scope::UserScope`]).
//!
//! Its statements take rows by row id, by Plaid id or for a user id the caller supplies,
//! with no owner check: the sync already holds the item it writes for, a webhook names an
//! item only by its Plaid id, the CLI names a user. Resolvers and handlers never build
//! one; they get a `UserScope` from authentication, and reach the sync's writes only
//! through `SyncService`. So `Unscoped::new` outside `sync`, `main.rs`, `demo.rs`, tests
//! and benches is a mistake to catch in review.
//!
//! It borrows a connection or a transaction (`Unscoped::new(&db)`, `Unscoped::new(&txn)`)
//! and is grouped by table: `unscoped.items().get(id)`, `unscoped.accounts().upsert(rows)`.
//! Each table's statements are in that table's module (`impl Items` in `items.rs`, and so
//! on).

/// Every user's rows, through a connection or inside a transaction `C`.
pub struct Unscoped<'c, C> {
    conn: &'c C,
}

impl<'c, C> Unscoped<'c, C> {
    /// The handle on `conn` (a `DatabaseConnection` or a `DatabaseTransaction`).
    pub fn new(conn: &'c C) -> Self {
        Unscoped { conn }
    }
}

impl<C> Clone for Unscoped<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Unscoped<'_, C> {}

/// One table's part of the handle: its struct and the method of [`Unscoped`] that gives it.
macro_rules! tables {
    ($($(#[$doc:meta])* $method:ident: $table:ident,)*) => {
        impl<'c, C> Unscoped<'c, C> {
            $(
                $(#[$doc])*
                pub fn $method(self) -> $table<'c, C> {
                    $table { conn: self.conn }
                }
            )*
        }
        $(
            $(#[$doc])*
            pub struct $table<'c, C> {
                pub(in crate::db) conn: &'c C,
            }

            impl<C> Clone for $table<'_, C> {
                fn clone(&self) -> Self {
                    *self
                }
            }

            impl<C> Copy for $table<'_, C> {}
        )*
    };
}

tables! {
    /// Plaid items by row id or Plaid id: link, re-link, status, bookkeeping, removal.
    items: Items,
    /// Accounts of an item, by Plaid id.
    accounts: Accounts,
    /// Securities of a user, by Plaid id.
    securities: Securities,
    /// Positions of accounts.
    holdings: Holdings,
    /// Daily pictures of positions.
    snapshots: Snapshots,
    /// Transactions of accounts, and their cancellation.
    transactions: Transactions,
    /// Sync runs by id, item or trigger.
    sync_runs: SyncRuns,
    /// Users by name, and the version of their data.
    users: Users,
}

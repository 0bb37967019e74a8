use crate::vocabulary::{RunOutcome, RunPhase, Trigger};
use async_graphql::{Context, Enum, ID, Object, Result};

use super::PlaidItem;
use crate::db::entities::sync_runs;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scalars::{self, Date, DateTime};

/// Why a sync ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum SyncTrigger {
    /// `refreshItem`.
    Manual,
    /// `refreshAll`.
    RefreshAll,
    /// `investments sync` or the server's `--sync-every` schedule.
    Schedule,
    /// A Plaid webhook.
    Webhook,
    /// The first sync after linking.
    Link,
}

/// How a sync ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum SyncRunOutcome {
    /// Still running.
    Running,
    /// Everything was written.
    Succeeded,
    /// Nothing was written; see `errorCode`.
    Failed,
    /// Its server shut down before it ended (after the grace period); nothing was
    /// written.
    Interrupted,
    /// Its server went away while it ran (a crash); nothing was written.
    Abandoned,
}

/// Where a running sync is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum SyncRunPhase {
    /// Waiting for a free slot or for the item's lock (another sync of it is running).
    Queued,
    /// Reading holdings and transactions from Plaid.
    Fetching,
    /// Writing them in one database transaction.
    Storing,
}

/// One sync of an item from Plaid: when, which window, and what it changed.
pub struct SyncRun(pub sync_runs::Model);

/// One sync of an item from Plaid: when, which window, and what it changed.
#[Object]
impl SyncRun {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::SyncRun, self.0.id)
    }

    /// The item synced.
    async fn item(&self, ctx: &Context<'_>) -> Result<Option<PlaidItem>> {
        Ok(crate::graphql::loaders(ctx)
            .item(self.0.item_id)
            .await?
            .map(PlaidItem))
    }

    /// Why it ran.
    async fn trigger(&self) -> SyncTrigger {
        [
            (Trigger::RefreshAll, SyncTrigger::RefreshAll),
            (Trigger::Schedule, SyncTrigger::Schedule),
            (Trigger::Webhook, SyncTrigger::Webhook),
            (Trigger::Link, SyncTrigger::Link),
        ]
        .into_iter()
        .find(|(stored, _)| stored.as_str() == self.0.trigger)
        .map_or(SyncTrigger::Manual, |(_, api)| api)
    }

    /// First day of the transaction window fetched.
    async fn window_start(&self) -> Option<Date> {
        scalars::date(self.0.window_start)
    }

    /// Last day of the transaction window fetched.
    async fn window_end(&self) -> Option<Date> {
        scalars::date(self.0.window_end)
    }

    /// When it started.
    async fn started_at(&self) -> DateTime {
        DateTime(self.0.started_at)
    }

    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime> {
        scalars::time(self.0.finished_at)
    }

    /// How it ended.
    async fn outcome(&self) -> SyncRunOutcome {
        match RunOutcome::from_stored(&self.0.outcome) {
            RunOutcome::Succeeded => SyncRunOutcome::Succeeded,
            RunOutcome::Failed => SyncRunOutcome::Failed,
            RunOutcome::Running => SyncRunOutcome::Running,
            RunOutcome::Interrupted => SyncRunOutcome::Interrupted,
            RunOutcome::Abandoned => SyncRunOutcome::Abandoned,
        }
    }

    /// Pages of transactions read from Plaid so far (500 per page; a walk restarted
    /// because rows arrived meanwhile counts again).
    async fn transaction_pages_fetched(&self) -> i32 {
        self.0.pages_fetched
    }

    /// Pages the transaction window takes by Plaid's total, once the first page told it;
    /// with `transactionPagesFetched`, "page k of n".
    async fn transaction_pages_total(&self) -> Option<i32> {
        self.0.pages_total
    }

    /// Where the run is while `outcome` is `RUNNING`; null once it ended.
    async fn phase(&self) -> Option<SyncRunPhase> {
        let phase = RunPhase::from_stored(self.0.phase.as_deref()?)?;
        Some(match phase {
            RunPhase::Queued => SyncRunPhase::Queued,
            RunPhase::Fetching => SyncRunPhase::Fetching,
            RunPhase::Storing => SyncRunPhase::Storing,
        })
    }

    /// Accounts written.
    async fn accounts_upserted(&self) -> i32 {
        self.0.accounts_upserted
    }

    /// Securities written.
    async fn securities_upserted(&self) -> i32 {
        self.0.securities_upserted
    }

    /// Holdings written.
    async fn holdings_upserted(&self) -> i32 {
        self.0.holdings_upserted
    }

    /// Holdings deleted because Plaid no longer reports them (positions sold).
    async fn holdings_removed(&self) -> i32 {
        self.0.holdings_removed
    }

    /// Daily holding snapshots written.
    async fn snapshots_written(&self) -> i32 {
        self.0.snapshots_written
    }

    /// Transactions written.
    async fn transactions_upserted(&self) -> i32 {
        self.0.transactions_upserted
    }

    /// Transactions newly flagged as cancelled.
    async fn transactions_cancelled(&self) -> i32 {
        self.0.transactions_cancelled
    }

    /// Transactions Plaid returned for accounts it did not list, which could not be
    /// stored (logged with the item).
    async fn transactions_skipped(&self) -> i32 {
        self.0.transactions_skipped
    }

    /// Plaid's (or our) error code, when it failed.
    async fn error_code(&self) -> Option<&str> {
        self.0.error_code.as_deref()
    }

    /// What went wrong, when it failed.
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
}

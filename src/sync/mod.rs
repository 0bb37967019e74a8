//! The sync engine: Plaid -> database, one item at a time.
//!
//! A sync of an item reads holdings and every page of transactions for its window from
//! Plaid and writes all of it in one database transaction (or nothing, if any step
//! failed), records a `sync_runs` row, and sets the item's status. A window longer than
//! [`store::CHUNK_TRANSACTIONS`] rows streams into that transaction chunk by chunk, so
//! memory stays bounded however many transactions an item has. At most one sync of an
//! item runs at a time: in the process a second request joins the running one and gets its
//! result; across processes on PostgreSQL an advisory lock makes a second replica wait for
//! the first and report its run instead of syncing again.

mod fetch;
mod link;
mod lock;
pub mod rows;
pub mod scheduler;
mod store;
pub mod webhook;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Months, NaiveDate};
use futures_util::future::{BoxFuture, FutureExt, Shared};
use sea_orm::{DatabaseConnection, Set, TransactionTrait};
use tracing::Instrument;

use crate::clock::Clock;
use crate::crypto::TokenCipher;
use crate::db::entities::{plaid_items, sync_runs};
use crate::db::items::ItemErrorFields;
use crate::db::unscoped::Unscoped;
use crate::db::{self};
use crate::error::{ApiError, ApiResult, PlaidFailure};
use crate::plaid::client::PlaidApi;
use crate::plaid::error::{Disposition, PlaidError};
use crate::plaid::types::{AccessToken, PlaidErrorBody};
use crate::vocabulary::{ItemStatus, RunOutcome, RunPhase};
use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;

pub use link::LinkToken;

pub use crate::vocabulary::Trigger;

/// Tries of a sync's database write when it fails on a passing fault (deadlock,
/// serialization failure, lost connection), 200 ms, 800 ms, 3.2 s apart.
const STORE_ATTEMPTS: u32 = 4;

/// Tries of recording a run's end: about 30 s of them. The run's record is what every
/// reader of the run (and a replica waiting on it) goes by, and a run left `running`
/// would only be found abandoned a quarter of an hour later.
const RECORD_END_ATTEMPTS: u32 = 12;

/// An error that may pass: a lost connection, a deadlock, a serialization failure.
trait PassingFault {
    fn is_passing(&self) -> bool;
}

impl PassingFault for ApiError {
    fn is_passing(&self) -> bool {
        matches!(self, ApiError::Unavailable)
    }
}

/// Runs `write` again while it fails on a passing database fault (`Unavailable`), up to
/// `attempts` tries in all, waiting 200 ms, 800 ms, then 3.2 s between them; any other
/// outcome is returned as it is.
async fn through_passing_faults<T, E, F, Fut>(
    what: &str,
    attempts: u32,
    mut write: F,
) -> Result<T, E>
where
    E: PassingFault,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match write().await {
            Err(err) if err.is_passing() && attempt < attempts => {
                tracing::warn!(
                    attempt,
                    "{what} failed on a passing database fault; trying again"
                );
                tokio::time::sleep(Duration::from_millis(50 << (2 * attempt.min(3)))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Longest a sync that asked for an institution refresh waits for Plaid's webhook before
/// it reads what Plaid has.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(120);

/// A run still `running` after this long, whose item lock nobody holds, was left by a
/// process that is gone.
const ABANDONED_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Tuning of the sync engine.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// History fetched on an item's first sync.
    pub history_months: u32,
    /// Later syncs start this many days before the last success.
    pub overlap_days: u64,
    /// Transactions per page (Plaid's maximum is 500).
    pub page_size: i64,
    /// Items synced at once by `refreshAll`.
    pub concurrency: usize,
    /// Webhook URL registered with Plaid for new items.
    pub webhook_url: Option<String>,
    /// Name shown in Plaid Link.
    pub client_name: String,
    /// Every "now" and "today" of a sync.
    pub clock: Clock,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            history_months: 24,
            overlap_days: 30,
            page_size: 500,
            concurrency: 4,
            webhook_url: None,
            client_name: "investments".to_owned(),
            clock: Clock::system(),
        }
    }
}

/// A finished sync: its run and the item as it is now.
#[derive(Clone, Debug)]
pub struct SyncOutcome {
    pub item: plaid_items::Model,
    pub run: Option<sync_runs::Model>,
    /// Set when the sync failed; the run and the item record the failure.
    pub error: Option<Arc<ApiError>>,
}

impl SyncOutcome {
    /// The outcome as a result, for callers for whom a failure is an error.
    pub fn into_result(self) -> Result<SyncOutcome, ApiError> {
        match &self.error {
            Some(err) => Err(ApiError::clone(err)),
            None => Ok(self),
        }
    }
}

type SharedSync = Shared<BoxFuture<'static, SyncOutcome>>;

/// The supervised task syncing one item: its outcome (for everyone who waits), the run it
/// is on, and whether a webhook asked for one more run when this one ends.
#[derive(Clone)]
struct Running {
    outcome: SharedSync,
    run_id: watch::Receiver<Option<i64>>,
    follow_up: Arc<AtomicBool>,
    abort: tokio::task::AbortHandle,
}

/// A sync started or joined: wait for it, as long as it takes or within a budget.
pub struct SyncTicket {
    service: SyncService,
    item: plaid_items::Model,
    running: Running,
}

impl SyncTicket {
    /// The outcome, however long the sync takes.
    pub async fn outcome(self) -> SyncOutcome {
        self.running.outcome.await
    }

    /// The outcome if the sync ends within `budget`; otherwise the run as it stands
    /// (outcome `running`, with its phase) and the item. The sync goes on either way.
    pub fn within(self, budget: Duration) -> BoxFuture<'static, SyncOutcome> {
        // Boxed: a request's future holds this, and every request's future is sized for
        // the largest resolver it might run.
        self.wait_within(budget).boxed()
    }

    async fn wait_within(self, budget: Duration) -> SyncOutcome {
        if let Ok(outcome) = tokio::time::timeout(budget, self.running.outcome.clone()).await {
            return outcome;
        }
        let db = self.service.unscoped();
        // The run is recorded first thing in the task: a request that waited 0 seconds
        // still answers with it.
        let mut recorded = self.running.run_id.clone();
        let run_id = tokio::select! {
            outcome = self.running.outcome.clone() => return outcome,
            known = recorded.wait_for(Option::is_some) => known.ok().and_then(|id| *id),
        };
        let run = match run_id {
            Some(id) => db.sync_runs().get(id).await.ok().flatten(),
            None => None,
        };
        let item = db.items().get(self.item.id).await.unwrap_or(self.item);
        SyncOutcome {
            item,
            run,
            error: None,
        }
    }
}

/// Announced when a sync of an item ends, however it ended.
#[derive(Clone, Debug)]
pub struct SyncEvent {
    pub item_id: i64,
    pub run_id: Option<i64>,
    pub trigger: Trigger,
    pub succeeded: bool,
}

struct Inner {
    db: DatabaseConnection,
    plaid: Arc<dyn PlaidApi>,
    cipher: Arc<TokenCipher>,
    options: SyncOptions,
    running: Mutex<HashMap<i64, Running>>,
    events: tokio::sync::broadcast::Sender<SyncEvent>,
    /// Every run each time it moves (recorded, each phase, its end): subscriptions.
    updates: tokio::sync::broadcast::Sender<sync_runs::Model>,
    /// Syncs that may run at once, whatever started them (webhook bursts queue here).
    slots: Arc<Semaphore>,
    /// Every sync task, to drain them at shutdown.
    tasks: TaskTracker,
    /// False once shutting down: no new sync starts.
    accepting: AtomicBool,
    /// Runs waiting for Plaid to announce the end of an institution refresh, by item.
    refreshing: Mutex<HashMap<i64, Arc<tokio::sync::Notify>>>,
}

/// The sync engine; cheap to clone.
#[derive(Clone)]
pub struct SyncService(Arc<Inner>);

/// The item status a Plaid failure leaves behind.
pub(crate) fn status_after(err: &PlaidError) -> ItemStatus {
    match err.disposition() {
        Disposition::NeedsUser => ItemStatus::LoginRequired,
        Disposition::NotReady => ItemStatus::NotReady,
        _ => ItemStatus::Error,
    }
}

/// A Plaid failure as the API reports it.
pub fn plaid_failure(err: &PlaidError, item: Option<&plaid_items::Model>) -> ApiError {
    let code = match err.disposition() {
        Disposition::NeedsUser => "ITEM_LOGIN_REQUIRED",
        Disposition::NotReady => "PRODUCT_NOT_READY",
        Disposition::Retryable if err.is_rate_limit() => "PLAID_RATE_LIMITED",
        Disposition::Retryable => "PLAID_UNAVAILABLE",
        Disposition::Fatal if err.is_rate_limit() => "PLAID_RATE_LIMITED",
        Disposition::Fatal => "PLAID_ERROR",
    };
    let body = err.body();
    ApiError::Plaid(Box::new(PlaidFailure {
        code,
        message: match body {
            Some(b) => format!("Plaid: {} ({})", b.error_message, b.error_code),
            None => err.to_string(),
        },
        plaid_error_type: body.map(|b| b.error_type.clone()),
        plaid_error_code: Some(err.code().to_owned()),
        display_message: body.and_then(|b| b.display_message.clone()),
        request_id: err.request_id().map(str::to_owned),
        plaid_item_id: item.map(|i| i.plaid_item_id.clone()),
        item_status: item.map(|_| status_after(err).as_str().to_owned()),
    }))
}

impl SyncService {
    pub fn new(
        db: DatabaseConnection,
        plaid: Arc<dyn PlaidApi>,
        cipher: Arc<TokenCipher>,
        options: SyncOptions,
    ) -> Self {
        SyncService(Arc::new(Inner {
            db,
            plaid,
            cipher,
            running: Mutex::new(HashMap::new()),
            events: tokio::sync::broadcast::channel(256).0,
            updates: tokio::sync::broadcast::channel(1024).0,
            slots: Arc::new(Semaphore::new(options.concurrency.max(1))),
            tasks: TaskTracker::new(),
            accepting: AtomicBool::new(true),
            refreshing: Mutex::new(HashMap::new()),
            options,
        }))
    }

    /// Every run each time it moves, from now on (all users': subscribers filter).
    pub fn run_updates(&self) -> tokio::sync::broadcast::Receiver<sync_runs::Model> {
        self.0.updates.subscribe()
    }

    fn announce(&self, run: &sync_runs::Model) {
        let _ = self.0.updates.send(run.clone());
    }

    /// Finished syncs from now on (background ones included).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SyncEvent> {
        self.0.events.subscribe()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.0.db
    }

    /// The sync's handle on every user's rows: it works on the items it holds, by id.
    fn unscoped(&self) -> Unscoped<'_, DatabaseConnection> {
        Unscoped::new(&self.0.db)
    }

    pub fn plaid(&self) -> &Arc<dyn PlaidApi> {
        &self.0.plaid
    }

    pub fn options(&self) -> &SyncOptions {
        &self.0.options
    }

    pub fn clock(&self) -> &Clock {
        &self.0.options.clock
    }

    fn access_token(&self, item: &plaid_items::Model) -> ApiResult<AccessToken> {
        let stored = item
            .access_token_ciphertext
            .as_deref()
            .ok_or_else(|| ApiError::bad_input("this item has no Plaid access token"))?;
        self.0
            .cipher
            .decrypt(stored, &item.plaid_item_id)
            .map_err(|e| ApiError::internal("decrypting an access token", e))
    }

    /// The window of a sync: the caller's dates win; otherwise a first sync goes back
    /// `history_months`, a later one to the last success minus `overlap_days` (or to
    /// `endDate` when only that is given and it is earlier). The start is clamped to the
    /// `history_months` Plaid keeps, so rows older than that are never taken for vanished.
    fn window(
        &self,
        item: &plaid_items::Model,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> ApiResult<(NaiveDate, NaiveDate)> {
        let today = self.clock().today();
        let oldest = today
            .checked_sub_months(Months::new(self.0.options.history_months))
            .unwrap_or(today);
        let end = end.unwrap_or(today);
        let start = start
            .unwrap_or_else(|| match item.last_success_at {
                Some(last) => (self.clock().date_of(last)
                    - chrono::Days::new(self.0.options.overlap_days))
                .min(end),
                None => oldest.min(end),
            })
            .max(oldest);
        if start > end {
            return Err(ApiError::bad_input(format!(
                "`startDate` {start} is after `endDate` {end}"
            )));
        }
        Ok((start, end))
    }

    /// Starts the sync of an item as a supervised task, or joins the one running: the
    /// task owns its lock and connection and runs to its end whatever happens to the
    /// request that asked. A webhook that arrives during a run queues one follow-up run
    /// (coalesced), so its update is never missed. A window that cannot be (`startDate`
    /// after `endDate`) is refused before anything starts.
    pub fn start_sync(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> ApiResult<SyncTicket> {
        self.spawn_sync(item, trigger, start, end, false)
    }

    /// [`Self::start_sync`] that first asks Plaid to refresh the item's data from the
    /// institution (`/investments/refresh`) and reads it once Plaid announces the end of
    /// that refresh (a `DEFAULT_UPDATE` webhook), or after [`REFRESH_TIMEOUT`].
    pub fn start_refreshed_sync(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> ApiResult<SyncTicket> {
        self.spawn_sync(item, trigger, start, end, true)
    }

    /// Wakes the run waiting for the end of an institution refresh of `item_id`; false
    /// when none waits.
    pub(crate) fn refresh_done(&self, item_id: i64) -> bool {
        match self
            .0
            .refreshing
            .lock()
            .expect("not poisoned")
            .get(&item_id)
        {
            Some(done) => {
                done.notify_one();
                true
            }
            None => false,
        }
    }

    fn spawn_sync(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        refresh: bool,
    ) -> ApiResult<SyncTicket> {
        self.window(&item, start, end)?;
        if !self.0.accepting.load(Ordering::SeqCst) {
            return Err(ApiError::Unavailable);
        }
        let mut running = self.0.running.lock().expect("not poisoned");
        if let Some(existing) = running.get(&item.id) {
            if trigger == Trigger::Webhook {
                existing.follow_up.store(true, Ordering::SeqCst);
            }
            return Ok(SyncTicket {
                service: self.clone(),
                item,
                running: existing.clone(),
            });
        }
        let (run_tx, run_id) = watch::channel(None);
        let follow_up = Arc::new(AtomicBool::new(false));
        let service = self.clone();
        let task_item = item.clone();
        let task_follow_up = follow_up.clone();
        let handle = self.0.tasks.spawn(async move {
            service
                .supervise(
                    task_item,
                    trigger,
                    (start, end),
                    refresh,
                    run_tx,
                    task_follow_up,
                )
                .await
        });
        let abort = handle.abort_handle();
        let fallback = item.clone();
        let outcome = async move {
            handle.await.unwrap_or_else(|err| SyncOutcome {
                item: fallback,
                run: None,
                error: Some(Arc::new(if err.is_cancelled() {
                    ApiError::Unavailable
                } else {
                    ApiError::internal("sync task", err)
                })),
            })
        }
        .boxed()
        .shared();
        let entry = Running {
            outcome,
            run_id,
            follow_up,
            abort,
        };
        running.insert(item.id, entry.clone());
        Ok(SyncTicket {
            service: self.clone(),
            item,
            running: entry,
        })
    }

    /// Syncs one item and waits for the end (the scheduler, the CLI, linking).
    pub async fn sync_item(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> SyncOutcome {
        let fallback = item.clone();
        match self.start_sync(item, trigger, start, end) {
            Ok(ticket) => ticket.outcome().await,
            Err(err) => self.outcome_without_run(fallback, err).await,
        }
    }

    /// The body of a sync task: runs, then the follow-up runs webhooks queued meanwhile;
    /// leaves the table of running syncs in the same step as it checks for a follow-up,
    /// so no webhook falls between the two.
    async fn supervise(
        self,
        item: plaid_items::Model,
        mut trigger: Trigger,
        (mut start, mut end): (Option<NaiveDate>, Option<NaiveDate>),
        mut refresh: bool,
        run_id: watch::Sender<Option<i64>>,
        follow_up: Arc<AtomicBool>,
    ) -> SyncOutcome {
        loop {
            let outcome = self
                .run_exclusive(item.clone(), trigger, start, end, refresh, &run_id)
                .await;
            let mut running = self.0.running.lock().expect("not poisoned");
            if !follow_up.swap(false, Ordering::SeqCst) {
                running.remove(&item.id);
                return outcome;
            }
            drop(running);
            (trigger, start, end, refresh) = (Trigger::Webhook, None, None, false);
        }
    }

    /// One run: recorded at once as `queued`, then a free slot and the item's lock, then
    /// fetching and storing.
    async fn run_exclusive(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        refresh: bool,
        run_id: &watch::Sender<Option<i64>>,
    ) -> SyncOutcome {
        let requested_at = self.clock().now();
        let started = std::time::Instant::now();
        let run = match self
            .unscoped()
            .sync_runs()
            .start(item.user_id, item.id, trigger.as_str(), requested_at)
            .await
        {
            Ok(run) => run,
            Err(err) => return self.outcome_without_run(item, err).await,
        };
        run_id.send_replace(Some(run.id));
        self.announce(&run);
        let _slot = self.0.slots.acquire().await.expect("never closed");
        let lock = match lock::AdvisoryLock::acquire(&self.0.db, lock::LockKey::Item(item.id)).await
        {
            Ok(lock) => lock,
            Err(err) => {
                return self
                    .finish(item, run.id, trigger, started, Err(Failure::Api(err)))
                    .await;
            }
        };
        if lock.waited() {
            // Another replica synced this item while this one waited: this run reports
            // that one's result instead of syncing again.
            if let Ok(Some(other)) = self
                .unscoped()
                .sync_runs()
                .finished_since(item.id, requested_at)
                .await
                && other.id != run.id
            {
                lock.release().await;
                let item = self.unscoped().items().get(item.id).await.unwrap_or(item);
                let result = match &other.error_code {
                    Some(code) => Err(Failure::Joined(failed_run_error(code, &other, &item))),
                    None => Ok(counts_of(&other)),
                };
                return self.finish(item, run.id, trigger, started, result).await;
            }
        }
        // Reload: the item may have changed while this run waited.
        let item = self.unscoped().items().get(item.id).await.unwrap_or(item);
        if refresh {
            self.refresh_at_institution(&item).await;
        }
        let result = match self.window(&item, start, end) {
            Ok(window) => {
                let span = tracing::info_span!(
                    "sync",
                    item = %item.plaid_item_id,
                    run = run.id,
                    trigger = trigger.as_str()
                );
                self.fetch_and_store(&item, run.id, window)
                    .instrument(span)
                    .await
            }
            Err(err) => Err(Failure::Api(err)),
        };
        let outcome = self.finish(item, run.id, trigger, started, result).await;
        lock.release().await;
        outcome
    }

    async fn outcome_without_run(&self, item: plaid_items::Model, err: ApiError) -> SyncOutcome {
        SyncOutcome {
            item,
            run: None,
            error: Some(Arc::new(err)),
        }
    }

    /// Records how a run ended on the run and the item, and announces it.
    async fn finish(
        &self,
        item: plaid_items::Model,
        run_id: i64,
        trigger: Trigger,
        started: std::time::Instant,
        result: Result<db::sync_runs::SyncCounts, Failure>,
    ) -> SyncOutcome {
        let now = self.clock().now();
        let outcome = match result {
            Ok(counts) => {
                let run = self.record_end(run_id, Ok(counts), now).await;
                let item = self.unscoped().items().get(item.id).await.unwrap_or(item);
                tracing::info!(item = %item.plaid_item_id, ?counts, "sync succeeded");
                SyncOutcome {
                    item,
                    run,
                    error: None,
                }
            }
            Err(failure) => {
                let (code, message, error) = match &failure {
                    Failure::Plaid(err) => (
                        err.code().to_owned(),
                        err.to_string(),
                        plaid_failure(err, Some(&item)),
                    ),
                    Failure::Api(err) | Failure::Joined(err) => {
                        (err.code().to_owned(), err.message(), err.clone())
                    }
                };
                // The run's record is this failure's answer, whoever waits for it.
                error.log_cause();
                tracing::warn!(item = %item.plaid_item_id, code = %code, "sync failed: {message}");
                let item = match &failure {
                    Failure::Joined(_) => item,
                    _ => self.record_failure(&item, &failure).await.unwrap_or(item),
                };
                let run = self.record_end(run_id, Err((code, message)), now).await;
                SyncOutcome {
                    item,
                    run,
                    error: Some(Arc::new(error)),
                }
            }
        };
        crate::metrics::sync_run(trigger, outcome.error.is_none(), started.elapsed());
        if let Some(run) = &outcome.run {
            self.announce(run);
        }
        let _ = self.0.events.send(SyncEvent {
            item_id: outcome.item.id,
            run_id: Some(run_id),
            trigger,
            succeeded: outcome.error.is_none(),
        });
        outcome
    }

    /// Asks Plaid to refresh the item from its institution, then waits for Plaid's
    /// `DEFAULT_UPDATE` webhook (or [`REFRESH_TIMEOUT`]). A refused refresh (Plaid limits
    /// them) is logged and the sync reads what Plaid has.
    async fn refresh_at_institution(&self, item: &plaid_items::Model) {
        let done = Arc::new(tokio::sync::Notify::new());
        self.0
            .refreshing
            .lock()
            .expect("not poisoned")
            .insert(item.id, done.clone());
        let asked = match self.access_token(item) {
            Ok(token) => self
                .0
                .plaid
                .investments_refresh(&token)
                .await
                .map_err(|e| e.code().to_owned()),
            Err(err) => Err(err.code().to_owned()),
        };
        match asked {
            Ok(_) => {
                if tokio::time::timeout(REFRESH_TIMEOUT, done.notified())
                    .await
                    .is_err()
                {
                    tracing::info!(item = %item.plaid_item_id, "no refresh webhook in time: reading what Plaid has");
                }
            }
            Err(code) => {
                tracing::warn!(item = %item.plaid_item_id, %code, "institution refresh refused: reading what Plaid has")
            }
        }
        self.0
            .refreshing
            .lock()
            .expect("not poisoned")
            .remove(&item.id);
    }

    /// Records the end of a run, trying again on a passing database fault like the store
    /// does: a run must not stay `running` because its last write met a lost connection.
    async fn record_end(
        &self,
        run_id: i64,
        result: Result<db::sync_runs::SyncCounts, (String, String)>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<sync_runs::Model> {
        let recorded = through_passing_faults("recording a run's end", RECORD_END_ATTEMPTS, || {
            self.unscoped()
                .sync_runs()
                .finish(run_id, result.clone(), now)
        })
        .await;
        match recorded {
            Ok(run) => Some(run),
            Err(err) => {
                err.log_cause();
                tracing::warn!(run = run_id, code = err.code(), "recording a run's end");
                None
            }
        }
    }

    /// Stops taking syncs, lets the running ones finish for up to `grace`, then stops the
    /// rest and marks their runs `interrupted`.
    pub async fn shutdown(&self, grace: Duration) {
        self.0.accepting.store(false, Ordering::SeqCst);
        self.0.tasks.close();
        if tokio::time::timeout(grace, self.0.tasks.wait())
            .await
            .is_ok()
        {
            return;
        }
        let stopped: Vec<Running> = self
            .0
            .running
            .lock()
            .expect("not poisoned")
            .drain()
            .map(|(_, r)| r)
            .collect();
        let runs: Vec<i64> = stopped
            .iter()
            .filter_map(|r| {
                r.abort.abort();
                *r.run_id.borrow()
            })
            .collect();
        tracing::warn!(runs = ?runs, "shutdown grace period over: syncs interrupted");
        if let Err(err) = self.end_unfinished(&runs, RunOutcome::Interrupted).await {
            err.log_cause();
            tracing::warn!(code = err.code(), "marking interrupted runs");
        }
    }

    /// Ends runs that never finished and tells subscribers.
    async fn end_unfinished(&self, runs: &[i64], outcome: RunOutcome) -> ApiResult<()> {
        self.unscoped()
            .sync_runs()
            .end_unfinished(runs, outcome, self.clock().now())
            .await?;
        for id in runs {
            if let Some(run) = self.unscoped().sync_runs().get(*id).await? {
                self.announce(&run);
            }
        }
        Ok(())
    }

    /// Marks `abandoned` the runs left `running` by a process that is gone: not running
    /// here, started more than [`ABANDONED_AFTER`] ago (or at any time when `at_start` on
    /// SQLite, which is one process), and whose item lock nobody holds.
    pub async fn recover_abandoned(&self, at_start: bool) -> ApiResult<Vec<i64>> {
        let db = &self.0.db;
        let mine: HashSet<i64> = self
            .0
            .running
            .lock()
            .expect("not poisoned")
            .values()
            .filter_map(|r| *r.run_id.borrow())
            .collect();
        let now = self.clock().now();
        let single_process = db.get_database_backend() != sea_orm::DbBackend::Postgres;
        let mut abandoned = Vec::new();
        for run in self.unscoped().sync_runs().running().await? {
            let old_enough = (at_start && single_process) || now - run.started_at > ABANDONED_AFTER;
            if mine.contains(&run.id) || !old_enough {
                continue;
            }
            if let Some(lock) =
                lock::AdvisoryLock::try_acquire(db, lock::LockKey::Item(run.item_id)).await?
            {
                lock.release().await;
                abandoned.push(run.id);
            }
        }
        if !abandoned.is_empty() {
            tracing::warn!(runs = ?abandoned, "runs left running by a process that is gone marked abandoned");
            self.end_unfinished(&abandoned, RunOutcome::Abandoned)
                .await?;
        }
        Ok(abandoned)
    }

    async fn fetch_and_store(
        &self,
        item: &plaid_items::Model,
        run_id: i64,
        window: (NaiveDate, NaiveDate),
    ) -> Result<db::sync_runs::SyncCounts, Failure> {
        let runs = self.unscoped().sync_runs();
        let run = runs
            .progress(run_id, RunPhase::Fetching, Some(window), None)
            .await
            .map_err(Failure::Api)?;
        self.announce(&run);
        let access_token = self.access_token(item).map_err(Failure::Api)?;
        let plan = fetch::FetchPlan {
            access_token,
            start: window.0,
            end: window.1,
            page_size: self.0.options.page_size,
            first_sync: item.last_success_at.is_none(),
        };
        // Subscribers see every page ("page k of n"); the row is written at phase changes
        // (a long window's pages go on coming in while it is stored).
        let current = Mutex::new(run);
        let on_page = |done: u32, total: u32| {
            let mut run = current.lock().expect("not poisoned").clone();
            run.pages_fetched = i32::try_from(done).unwrap_or(i32::MAX);
            run.pages_total = i32::try_from(total).ok();
            self.announce(&run);
        };
        let source = store::Source {
            plaid: self.0.plaid.as_ref(),
            plan: &plan,
            on_page: &on_page,
        };
        let mut answer = fetch::start(source.plaid, &plan)
            .await
            .map_err(Failure::Plaid)?;
        // Most windows fit in the first chunk: read whole before the database is touched,
        // such a sync holds no write lock while Plaid answers, and a write that meets a
        // passing fault is tried again without asking Plaid again. A longer window goes
        // on streaming into the transaction.
        let first = source
            .first_chunk(&mut answer)
            .await
            .map_err(Failure::Plaid)?;
        let pages = |answer: &fetch::Answer| {
            let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
            let read = count(answer.pages);
            (
                read,
                Some(if answer.done() {
                    read
                } else {
                    count(answer.pages_expected)
                }),
            )
        };
        let run = runs
            .progress(run_id, RunPhase::Storing, None, Some(pages(&answer)))
            .await
            .map_err(Failure::Api)?;
        self.announce(&run);
        *current.lock().expect("not poisoned") = run;
        let streamed = !answer.done();
        // A deadlock, a serialization failure or a lost connection rolls the whole write
        // back: it is tried again from the start, a bounded number of times (the pages
        // after the first chunk read again).
        let (counts, answer) = through_passing_faults("storing a sync", STORE_ATTEMPTS, || {
            self.store_answer(item, answer.clone(), first.clone(), &source, window)
        })
        .await?;
        drop(first);
        if streamed {
            let pages = pages(&answer);
            drop(answer);
            release_memory();
            let run = runs
                .progress(run_id, RunPhase::Storing, None, Some(pages))
                .await
                .map_err(Failure::Api)?;
            self.announce(&run);
        }
        Ok(counts)
    }

    /// One database transaction: the whole of a sync's writes, or nothing. Returns the
    /// counts and the answer as the walk left it.
    async fn store_answer(
        &self,
        item: &plaid_items::Model,
        mut answer: fetch::Answer,
        first: Vec<crate::plaid::types::InvestmentTransaction>,
        source: &store::Source<'_>,
        window: (NaiveDate, NaiveDate),
    ) -> Result<(db::sync_runs::SyncCounts, fetch::Answer), Failure> {
        let txn = self.0.db.begin().await.map_err(ApiError::from)?;
        // Written first: on SQLite a transaction that reads before its first write cannot
        // take the write lock once another connection holds it ("database is locked").
        Unscoped::new(&txn)
            .users()
            .bump_data_version(item.user_id)
            .await?;
        let counts =
            store::store(&txn, item, &mut answer, first, source, window, self.clock()).await?;
        txn.commit().await.map_err(ApiError::from)?;
        Ok((counts, answer))
    }

    /// Keeps what went wrong on the item: the status Plaid's error calls for, and the
    /// error itself (internal failures leave the status as it was).
    async fn record_failure(
        &self,
        item: &plaid_items::Model,
        failure: &Failure,
    ) -> ApiResult<plaid_items::Model> {
        let now = self.clock().now();
        let mut changes = plaid_items::ActiveModel {
            id: Set(item.id),
            last_attempt_at: Set(Some(now)),
            ..Default::default()
        };
        if let Failure::Plaid(err) = failure {
            let body = err.body();
            changes.status = Set(status_after(err).as_str().to_owned());
            changes.error_type = Set(err.error_type().map(str::to_owned));
            changes.error_code = Set(Some(err.code().to_owned()));
            changes.error_message = Set(Some(
                body.map(|b| b.error_message.clone())
                    .unwrap_or_else(|| err.to_string()),
            ));
            changes.error_display_message = Set(body.and_then(|b| b.display_message.clone()));
        }
        self.unscoped().items().update(changes).await
    }

    /// Syncs every item (of one user, or of everyone), `concurrency` at a time; one
    /// item's failure never stops another. Outcomes come back in item order.
    pub async fn refresh_all(
        &self,
        owner: Option<&crate::db::scope::UserScope>,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        budget: Option<Duration>,
    ) -> ApiResult<Vec<SyncOutcome>> {
        let owner = owner.map(crate::db::scope::UserScope::user_id);
        let items = self.unscoped().items().list(owner).await?;
        // Every item's task starts now; the supervisor's slots bound how many run at once.
        let mut tickets = Vec::with_capacity(items.len());
        for item in items {
            tickets.push(self.start_sync(item, trigger, start, end)?);
        }
        let deadline = budget.map(|b| tokio::time::Instant::now() + b);
        Ok(
            futures_util::future::join_all(tickets.into_iter().map(|ticket| async move {
                match deadline {
                    Some(at) => {
                        ticket
                            .within(at.saturating_duration_since(tokio::time::Instant::now()))
                            .await
                    }
                    None => ticket.outcome().await,
                }
            }))
            .await,
        )
    }

    /// Applies a status Plaid reported for an item outside a sync (webhooks).
    pub async fn set_item_status(
        &self,
        item: &plaid_items::Model,
        status: ItemStatus,
        error: Option<ItemErrorFields>,
    ) -> ApiResult<plaid_items::Model> {
        self.unscoped()
            .items()
            .set_status(item.id, status.as_str(), error)
            .await
    }
}

/// Gives the heap a long sync freed back to the system: glibc keeps freed pages in its
/// per-thread arenas, and the process would otherwise stay near its peak once idle.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free pages of glibc's own heaps; it touches no
    // memory the program owns.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Why a run failed.
enum Failure {
    Plaid(PlaidError),
    Api(ApiError),
    /// Another replica's run of the item, which this one reports, failed.
    Joined(ApiError),
}

impl From<PlaidError> for Failure {
    fn from(err: PlaidError) -> Self {
        Failure::Plaid(err)
    }
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Failure::Api(err)
    }
}

impl PassingFault for Failure {
    fn is_passing(&self) -> bool {
        matches!(self, Failure::Api(ApiError::Unavailable))
    }
}

/// The counts another replica's run recorded.
fn counts_of(run: &sync_runs::Model) -> db::sync_runs::SyncCounts {
    db::sync_runs::SyncCounts {
        accounts_upserted: run.accounts_upserted,
        securities_upserted: run.securities_upserted,
        holdings_upserted: run.holdings_upserted,
        holdings_removed: run.holdings_removed,
        snapshots_written: run.snapshots_written,
        transactions_upserted: run.transactions_upserted,
        transactions_cancelled: run.transactions_cancelled,
        transactions_skipped: run.transactions_skipped,
        ..Default::default()
    }
}

/// The error of a run another replica recorded as failed, as that replica reported it:
/// the same API code from the same stored code (a Plaid code through the same mapping).
fn failed_run_error(code: &str, run: &sync_runs::Model, item: &plaid_items::Model) -> ApiError {
    // Plaid's codes and ours overlap (`INTERNAL_SERVER_ERROR`): a Plaid failure left its
    // `error_type` on the item.
    let from_plaid = item.error_type.is_some() && item.error_code.as_deref() == Some(code);
    match code {
        _ if from_plaid => plaid_failure(
            &PlaidError::Api {
                status: 400,
                body: Box::new(PlaidErrorBody {
                    error_type: item.error_type.clone().unwrap_or_default(),
                    error_code: code.to_owned(),
                    error_code_reason: None,
                    error_message: item.error_message.clone().unwrap_or_default(),
                    display_message: item.error_display_message.clone(),
                    request_id: None,
                    status: None,
                    documentation_url: None,
                    suggested_action: None,
                }),
            },
            Some(item),
        ),
        // The cause was logged by the replica that met it.
        "INTERNAL_SERVER_ERROR" => ApiError::Internal(Default::default()),
        "SERVICE_UNAVAILABLE" => ApiError::Unavailable,
        "BAD_USER_INPUT" => ApiError::bad_input(run.error_message.clone().unwrap_or_default()),
        _ => ApiError::Internal(Default::default()),
    }
}

//! The sync engine: Plaid -> database, one item at a time.
//!
//! A sync of an item reads holdings and every page of transactions for its window from
//! Plaid, then writes all of it in one database transaction (or nothing, if any step
//! failed), records a `sync_runs` row, and sets the item's status. At most one sync of an
//! item runs at a time: in the process a second request joins the running one and gets its
//! result; across processes on PostgreSQL an advisory lock makes a second replica wait for
//! the first and report its run instead of syncing again.

mod fetch;
mod link;
mod lock;
pub mod scheduler;
mod store;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Months, NaiveDate};
use futures_util::future::{BoxFuture, FutureExt, Shared};
use futures_util::{StreamExt, stream};
use sea_orm::{DatabaseConnection, Set, TransactionTrait};
use tracing::Instrument;

use crate::clock::Clock;
use crate::crypto::TokenCipher;
use crate::db::entities::{plaid_items, sync_runs};
use crate::db::items::ItemErrorFields;
use crate::db::{self};
use crate::error::{ApiError, ApiResult, PlaidFailure};
use crate::plaid::client::PlaidApi;
use crate::plaid::error::{Disposition, PlaidError};
use crate::plaid::types::AccessToken;
use crate::vocabulary::ItemStatus;

pub use link::LinkToken;

pub use crate::vocabulary::Trigger;

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
    running: Mutex<HashMap<i64, SharedSync>>,
    events: tokio::sync::broadcast::Sender<SyncEvent>,
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
            options,
            running: Mutex::new(HashMap::new()),
            events: tokio::sync::broadcast::channel(256).0,
        }))
    }

    /// Finished syncs from now on (background ones included).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SyncEvent> {
        self.0.events.subscribe()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.0.db
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

    /// Syncs one item. A request for an item that is already syncing in this process
    /// joins that sync and gets its outcome.
    pub async fn sync_item(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> SyncOutcome {
        let item_id = item.id;
        let shared = {
            let mut running = self.0.running.lock().expect("not poisoned");
            if let Some(existing) = running.get(&item_id) {
                existing.clone()
            } else {
                let service = self.clone();
                let future = async move {
                    let outcome = service.run_exclusive(item, trigger, start, end).await;
                    service
                        .0
                        .running
                        .lock()
                        .expect("not poisoned")
                        .remove(&item_id);
                    outcome
                }
                .boxed()
                .shared();
                running.insert(item_id, future.clone());
                future
            }
        };
        shared.await
    }

    async fn run_exclusive(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> SyncOutcome {
        let requested_at = self.clock().now();
        let lock = match lock::AdvisoryLock::acquire(&self.0.db, lock::LockKey::Item(item.id)).await
        {
            Ok(lock) => lock,
            Err(err) => return self.outcome_without_run(item, err).await,
        };
        if lock.waited() {
            // Another replica synced this item while we waited: report its run.
            if let Ok(Some(run)) =
                db::sync_runs::finished_since(&self.0.db, item.id, requested_at).await
            {
                lock.release().await;
                let item = db::items::get(&self.0.db, item.id).await.unwrap_or(item);
                return SyncOutcome {
                    error: run
                        .error_code
                        .as_ref()
                        .map(|code| Arc::new(failed_run_error(code, &run, &item))),
                    item,
                    run: Some(run),
                };
            }
        }
        // Reload: the item may have changed while this request waited.
        let item = db::items::get(&self.0.db, item.id).await.unwrap_or(item);
        let outcome = self.run(item, trigger, start, end).await;
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

    async fn run(
        &self,
        item: plaid_items::Model,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> SyncOutcome {
        let window = match self.window(&item, start, end) {
            Ok(w) => w,
            Err(err) => return self.outcome_without_run(item, err).await,
        };
        let run = match db::sync_runs::start(
            &self.0.db,
            item.user_id,
            item.id,
            trigger.as_str(),
            Some(window),
            self.clock().now(),
        )
        .await
        {
            Ok(run) => run,
            Err(err) => return self.outcome_without_run(item, err).await,
        };
        let span = tracing::info_span!(
            "sync",
            item = %item.plaid_item_id,
            run = run.id,
            trigger = trigger.as_str()
        );
        let started = std::time::Instant::now();
        let result = self.fetch_and_store(&item, window).instrument(span).await;
        let run_id = run.id;
        let outcome = match result {
            Ok(counts) => {
                let run = db::sync_runs::finish(&self.0.db, run.id, Ok(counts), self.clock().now())
                    .await
                    .ok();
                let item = db::items::get(&self.0.db, item.id).await.unwrap_or(item);
                tracing::info!(
                    item = %item.plaid_item_id,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    ?counts,
                    "sync succeeded"
                );
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
                    Failure::Api(err) => (err.code().to_owned(), err.message(), err.clone()),
                };
                tracing::warn!(item = %item.plaid_item_id, code = %code, "sync failed: {message}");
                let item = self.record_failure(&item, &failure).await.unwrap_or(item);
                let run = db::sync_runs::finish(
                    &self.0.db,
                    run.id,
                    Err((code, message)),
                    self.clock().now(),
                )
                .await
                .ok();
                SyncOutcome {
                    item,
                    run,
                    error: Some(Arc::new(error)),
                }
            }
        };
        crate::metrics::sync_run(trigger, outcome.error.is_none(), started.elapsed());
        let _ = self.0.events.send(SyncEvent {
            item_id: outcome.item.id,
            run_id: Some(run_id),
            trigger,
            succeeded: outcome.error.is_none(),
        });
        outcome
    }

    async fn fetch_and_store(
        &self,
        item: &plaid_items::Model,
        window: (NaiveDate, NaiveDate),
    ) -> Result<db::sync_runs::SyncCounts, Failure> {
        let access_token = self.access_token(item).map_err(Failure::Api)?;
        let plan = fetch::FetchPlan {
            access_token,
            start: window.0,
            end: window.1,
            page_size: self.0.options.page_size,
            first_sync: item.last_success_at.is_none(),
        };
        let fetched = fetch::fetch(self.0.plaid.as_ref(), &plan)
            .await
            .map_err(Failure::Plaid)?;
        let txn = self
            .0
            .db
            .begin()
            .await
            .map_err(|e| Failure::Api(e.into()))?;
        // Written first: on SQLite a transaction that reads before its first write cannot
        // take the write lock once another connection holds it ("database is locked").
        db::users::bump_data_version(&txn, item.user_id)
            .await
            .map_err(Failure::Api)?;
        let counts = store::store(&txn, item, &fetched, window, self.clock())
            .await
            .map_err(Failure::Api)?;
        txn.commit().await.map_err(|e| Failure::Api(e.into()))?;
        Ok(counts)
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
        db::items::update(&self.0.db, changes).await
    }

    /// Syncs every item (of one user, or of everyone), `concurrency` at a time; one
    /// item's failure never stops another. Outcomes come back in item order.
    pub async fn refresh_all(
        &self,
        user_id: Option<i64>,
        trigger: Trigger,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> ApiResult<Vec<SyncOutcome>> {
        let items = db::items::all_ids(&self.0.db, user_id).await?;
        let outcomes = stream::iter(items)
            .map(|item| self.sync_item(item, trigger, start, end))
            .buffered(self.0.options.concurrency.max(1))
            .collect()
            .await;
        Ok(outcomes)
    }

    /// Applies a status Plaid reported for an item outside a sync (webhooks).
    pub async fn set_item_status(
        &self,
        item: &plaid_items::Model,
        status: ItemStatus,
        error: Option<ItemErrorFields>,
    ) -> ApiResult<plaid_items::Model> {
        db::items::set_status(&self.0.db, item.id, status.as_str(), error).await
    }
}

/// Why `fetch_and_store` failed.
enum Failure {
    Plaid(PlaidError),
    Api(ApiError),
}

/// The error of a run another replica recorded as failed.
fn failed_run_error(code: &str, run: &sync_runs::Model, item: &plaid_items::Model) -> ApiError {
    ApiError::Plaid(Box::new(PlaidFailure {
        code: "PLAID_ERROR",
        message: run
            .error_message
            .clone()
            .unwrap_or_else(|| format!("sync failed: {code}")),
        plaid_error_type: item.error_type.clone(),
        plaid_error_code: Some(code.to_owned()),
        display_message: item.error_display_message.clone(),
        request_id: None,
        plaid_item_id: Some(item.plaid_item_id.clone()),
        item_status: Some(item.status.clone()),
    }))
}

//! Scheduled sync rounds (`serve --sync-every`): one replica at a time runs a round, and a
//! round runs only when the last one started at least one interval ago, so N replicas
//! still sync every item once per interval.

use std::time::Duration;

use super::lock::{AdvisoryLock, LockKey};
use super::{SyncOutcome, SyncService, Trigger};
use crate::error::ApiResult;

/// How often a replica checks whether a round is due.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Runs a round if one is due and no other replica is running one; returns its outcomes,
/// or `None` if it was not this replica's turn.
pub async fn round_if_due(
    service: &SyncService,
    every: Duration,
) -> ApiResult<Option<Vec<SyncOutcome>>> {
    let Some(lock) = AdvisoryLock::try_acquire(service.db(), LockKey::ScheduledRound).await? else {
        return Ok(None);
    };
    let last = service
        .unscoped()
        .sync_runs()
        .last_started(Trigger::Schedule.as_str())
        .await?;
    let due = match last {
        Some(started) => {
            (service.clock().now() - started)
                .to_std()
                .unwrap_or_default()
                >= every
        }
        None => true,
    };
    if !due {
        lock.release().await;
        return Ok(None);
    }
    let outcomes = service
        .refresh_all(None, Trigger::Schedule, None, None, None)
        .await;
    lock.release().await;
    outcomes.map(Some)
}

/// Checks for a due round at start and then every minute (or every `every`, if shorter),
/// forever.
pub fn spawn(service: SyncService, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every.min(CHECK_EVERY));
        loop {
            ticks.tick().await;
            match round_if_due(&service, every).await {
                Ok(Some(outcomes)) => {
                    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
                    tracing::info!(items = outcomes.len(), failed, "scheduled sync round done");
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(code = err.code(), "scheduled sync round: {}", err.message())
                }
            }
        }
    })
}

/// Looks for runs abandoned by a process that is gone every minute, forever.
pub fn spawn_recovery(service: SyncService) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(err) = service.recover_abandoned(false).await {
                tracing::warn!(code = err.code(), "looking for abandoned sync runs");
            }
        }
    })
}

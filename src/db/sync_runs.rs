//! Sync runs: one row per sync attempt of an item.

use chrono::{DateTime, NaiveDate, Utc};

use crate::vocabulary::{RunOutcome, RunPhase};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entities::sync_runs;
use crate::error::ApiResult;

/// What a successful run changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub accounts_upserted: i32,
    pub securities_upserted: i32,
    pub holdings_upserted: i32,
    pub holdings_removed: i32,
    pub snapshots_written: i32,
    pub transactions_upserted: i32,
    pub transactions_cancelled: i32,
    pub transactions_skipped: i32,
    /// Accounts found gone from their item (closed at the institution); logged with the
    /// run, visible as `Account.closedOn`.
    pub accounts_closed: i32,
    /// Accounts whose Plaid id was re-issued (the new id took over the old account);
    /// logged with the run.
    pub accounts_reissued: i32,
}

impl<C: ConnectionTrait> super::unscoped::SyncRuns<'_, C> {
    /// Records a run the moment it is asked for (outcome `running`, phase `queued`), so that
    /// a request that stops waiting has a run to answer with.
    pub async fn start(
        self,
        user_id: i64,
        item_id: i64,
        trigger: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<sync_runs::Model> {
        Ok(sync_runs::ActiveModel {
            user_id: Set(user_id),
            item_id: Set(item_id),
            trigger: Set(trigger.to_owned()),
            window_start: Set(None),
            window_end: Set(None),
            started_at: Set(now),
            outcome: Set(RunOutcome::Running.as_str().to_owned()),
            phase: Set(Some(RunPhase::Queued.as_str().to_owned())),
            ..Default::default()
        }
        .insert(self.conn)
        .await?)
    }

    /// Moves a running run to `phase`, with its window once known.
    pub async fn progress(
        self,
        run_id: i64,
        phase: RunPhase,
        window: Option<(NaiveDate, NaiveDate)>,
        pages: Option<(i32, Option<i32>)>,
    ) -> ApiResult<sync_runs::Model> {
        let mut run = sync_runs::ActiveModel {
            id: Set(run_id),
            phase: Set(Some(phase.as_str().to_owned())),
            ..Default::default()
        };
        if let Some((fetched, total)) = pages {
            run.pages_fetched = Set(fetched);
            run.pages_total = Set(total);
        }
        if let Some((start, end)) = window {
            run.window_start = Set(Some(start));
            run.window_end = Set(Some(end));
        }
        Ok(run.update(self.conn).await?)
    }

    /// One run by id.
    pub async fn get(self, run_id: i64) -> ApiResult<Option<sync_runs::Model>> {
        Ok(sync_runs::Entity::find_by_id(run_id).one(self.conn).await?)
    }

    /// Every run still `running`.
    pub async fn running(self) -> ApiResult<Vec<sync_runs::Model>> {
        Ok(sync_runs::Entity::find()
            .filter(sync_runs::Column::Outcome.eq(RunOutcome::Running.as_str()))
            .all(self.conn)
            .await?)
    }

    /// Ends runs that never finished (`interrupted` at shutdown, `abandoned` when found
    /// orphaned), if they are still running.
    pub async fn end_unfinished(
        self,
        run_ids: &[i64],
        outcome: RunOutcome,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        use sea_orm::sea_query::Expr;
        if run_ids.is_empty() {
            return Ok(());
        }
        sync_runs::Entity::update_many()
            .col_expr(sync_runs::Column::Outcome, Expr::value(outcome.as_str()))
            .col_expr(sync_runs::Column::Phase, Expr::value(None::<String>))
            .col_expr(sync_runs::Column::FinishedAt, Expr::value(now))
            .col_expr(
                sync_runs::Column::ErrorCode,
                Expr::value(outcome.as_str().to_uppercase()),
            )
            .filter(sync_runs::Column::Id.is_in(run_ids.iter().copied()))
            .filter(sync_runs::Column::Outcome.eq(RunOutcome::Running.as_str()))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Records the end of a run: `succeeded` with its counts, or `failed` with its error.
    pub async fn finish(
        self,
        run_id: i64,
        result: Result<SyncCounts, (String, String)>,
        now: DateTime<Utc>,
    ) -> ApiResult<sync_runs::Model> {
        let mut run = sync_runs::ActiveModel {
            id: Set(run_id),
            finished_at: Set(Some(now)),
            phase: Set(None),
            ..Default::default()
        };
        match result {
            Ok(c) => {
                run.outcome = Set(RunOutcome::Succeeded.as_str().to_owned());
                run.accounts_upserted = Set(c.accounts_upserted);
                run.securities_upserted = Set(c.securities_upserted);
                run.holdings_upserted = Set(c.holdings_upserted);
                run.holdings_removed = Set(c.holdings_removed);
                run.snapshots_written = Set(c.snapshots_written);
                run.transactions_upserted = Set(c.transactions_upserted);
                run.transactions_cancelled = Set(c.transactions_cancelled);
                run.transactions_skipped = Set(c.transactions_skipped);
            }
            Err((code, message)) => {
                run.outcome = Set(RunOutcome::Failed.as_str().to_owned());
                run.error_code = Set(Some(code));
                run.error_message = Set(Some(message));
            }
        }
        Ok(run.update(self.conn).await?)
    }

    /// The latest run of an item that finished after `since` (another process's run that a
    /// waiting request can report instead of syncing again).
    pub async fn finished_since(
        self,
        item_id: i64,
        since: DateTime<Utc>,
    ) -> ApiResult<Option<sync_runs::Model>> {
        Ok(sync_runs::Entity::find()
            .filter(sync_runs::Column::ItemId.eq(item_id))
            .filter(sync_runs::Column::FinishedAt.gte(since))
            .order_by_desc(sync_runs::Column::Id)
            .one(self.conn)
            .await?)
    }

    /// When the last run with `trigger` started, across all items.
    pub async fn last_started(self, trigger: &str) -> ApiResult<Option<DateTime<Utc>>> {
        let last = sync_runs::Entity::find()
            .filter(sync_runs::Column::Trigger.eq(trigger))
            .order_by_desc(sync_runs::Column::StartedAt)
            .limit(1)
            .one(self.conn)
            .await?;
        Ok(last.map(|r| r.started_at))
    }
}

/// The user's runs of an item, newest first.
pub(in crate::db) async fn of_item(
    db: &DatabaseConnection,
    user_id: i64,
    item_id: i64,
    limit: u64,
) -> ApiResult<Vec<sync_runs::Model>> {
    Ok(sync_runs::Entity::find()
        .filter(sync_runs::Column::UserId.eq(user_id))
        .filter(sync_runs::Column::ItemId.eq(item_id))
        .order_by_desc(sync_runs::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

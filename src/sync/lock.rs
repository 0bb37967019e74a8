//! Cross-process exclusion on PostgreSQL: advisory locks held by an open transaction, so
//! that they are released whatever happens to the process (its connection closes).
//! SQLite deployments are one process; there the in-process bookkeeping of `SyncService`
//! is the lock.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};

use crate::error::ApiResult;

/// The key of the scheduled round, out of the range of item ids.
const SCHEDULED_ROUND: i32 = -1;

/// What a lock protects.
#[derive(Clone, Copy, Debug)]
pub enum LockKey {
    /// The sync of one item.
    Item(i64),
    /// The scheduled sync round (one replica at a time).
    ScheduledRound,
}

impl LockKey {
    /// The second half of the two-part advisory lock key; the first is the hash of the
    /// current schema, so deployments (or tests) sharing a database in different schemas
    /// never lock each other out.
    fn value(self) -> i32 {
        match self {
            LockKey::Item(id) => (id.rem_euclid(i64::from(i32::MAX))) as i32,
            LockKey::ScheduledRound => SCHEDULED_ROUND,
        }
    }
}

/// How often a waiter tries the lock again.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// A held lock (or, on SQLite, a no-op).
pub struct AdvisoryLock {
    txn: Option<DatabaseTransaction>,
    waited: bool,
}

async fn try_lock(txn: &DatabaseTransaction, key: LockKey) -> ApiResult<bool> {
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), $1) AS locked",
            [key.value().into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<bool>("", "locked")?,
        None => false,
    })
}

impl AdvisoryLock {
    /// Takes the lock, waiting for its holder if there is one. The wait polls the try-lock
    /// without holding a connection in between: a waiter that is dropped leaves nothing
    /// behind (a blocking `pg_advisory_xact_lock` would be granted to its session later
    /// and held, idle in transaction, for as long as the connection lived).
    pub async fn acquire(db: &DatabaseConnection, key: LockKey) -> ApiResult<AdvisoryLock> {
        let mut waited = false;
        loop {
            if let Some(mut lock) = Self::try_acquire(db, key).await? {
                lock.waited = waited;
                return Ok(lock);
            }
            waited = true;
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Takes the lock if it is free; `None` if another process holds it.
    pub async fn try_acquire(
        db: &DatabaseConnection,
        key: LockKey,
    ) -> ApiResult<Option<AdvisoryLock>> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Some(AdvisoryLock {
                txn: None,
                waited: false,
            }));
        }
        let txn = db.begin().await?;
        if try_lock(&txn, key).await? {
            Ok(Some(AdvisoryLock {
                txn: Some(txn),
                waited: false,
            }))
        } else {
            txn.rollback().await?;
            Ok(None)
        }
    }

    /// True when another process held the lock and this one waited for it.
    pub fn waited(&self) -> bool {
        self.waited
    }

    pub async fn release(self) {
        if let Some(txn) = self.txn
            && let Err(err) = txn.commit().await
        {
            tracing::warn!(error = %err, "releasing an advisory lock");
        }
    }
}

//! Holding snapshots: one row per holding per day synced.

use super::entities::holding_snapshots;
use crate::error::ApiResult;

/// Writes the day's snapshots; a second sync on the same day overwrites that day's rows.
pub async fn upsert<C: sea_orm::ConnectionTrait>(
    conn: &C,
    rows: Vec<holding_snapshots::ActiveModel>,
) -> ApiResult<()> {
    super::upsert_many::<holding_snapshots::Entity, _>(
        conn,
        rows,
        &[
            holding_snapshots::Column::AccountId,
            holding_snapshots::Column::SecurityId,
            holding_snapshots::Column::AsOf,
        ],
    )
    .await?;
    Ok(())
}

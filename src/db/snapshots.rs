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

/// Removes the given accounts' snapshots of `day`, so that the day's last sync alone
/// pictures it (a position sold between two syncs of one day is not kept).
pub async fn delete_day<C: sea_orm::ConnectionTrait>(
    conn: &C,
    account_ids: &[i64],
    day: chrono::NaiveDate,
) -> ApiResult<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    for chunk in account_ids.chunks(super::CHUNK_ROWS) {
        holding_snapshots::Entity::delete_many()
            .filter(holding_snapshots::Column::AccountId.is_in(chunk.iter().copied()))
            .filter(holding_snapshots::Column::AsOf.eq(day))
            .exec(conn)
            .await?;
    }
    Ok(())
}

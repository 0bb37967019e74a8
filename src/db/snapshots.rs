//! Holding snapshots: one row per holding per day synced.

use super::entities::{account_snapshots, holding_snapshots};
use crate::error::ApiResult;

impl<C: sea_orm::ConnectionTrait> super::unscoped::Snapshots<'_, C> {
    /// Writes the day's snapshots; a second sync on the same day overwrites that day's rows.
    pub async fn upsert(self, rows: Vec<holding_snapshots::ActiveModel>) -> ApiResult<()> {
        super::upsert_many::<holding_snapshots::Entity, _>(
            self.conn,
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
    pub async fn delete_day(self, account_ids: &[i64], day: chrono::NaiveDate) -> ApiResult<()> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        for chunk in account_ids.chunks(super::IN_LIST) {
            holding_snapshots::Entity::delete_many()
                .filter(holding_snapshots::Column::AccountId.is_in(chunk.iter().copied()))
                .filter(holding_snapshots::Column::AsOf.eq(day))
                .exec(self.conn)
                .await?;
        }
        Ok(())
    }

    /// Records that `day`'s snapshots of these accounts are a full picture, even of an account
    /// that holds nothing (so its history drops to zero instead of carrying old positions).
    pub async fn mark_pictured(
        self,
        user_id: i64,
        account_ids: &[i64],
        day: chrono::NaiveDate,
    ) -> ApiResult<()> {
        use sea_orm::sea_query::OnConflict;
        use sea_orm::{ActiveValue::Set, EntityTrait};
        for chunk in account_ids.chunks(super::IN_LIST) {
            let rows = chunk
                .iter()
                .map(|&account_id| account_snapshots::ActiveModel {
                    user_id: Set(user_id),
                    account_id: Set(account_id),
                    as_of: Set(day),
                    ..Default::default()
                });
            account_snapshots::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        account_snapshots::Column::AccountId,
                        account_snapshots::Column::AsOf,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(self.conn)
                .await?;
        }
        Ok(())
    }
}

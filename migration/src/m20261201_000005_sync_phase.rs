//! `sync_runs.phase`: where a running sync is (queued, fetching, storing), so that a
//! request that stops waiting, and any replica, can say how far a run has come.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_sync_phase"
    }
}

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    Phase,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SyncRuns::Table)
                    .add_column(ColumnDef::new(SyncRuns::Phase).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SyncRuns::Table)
                    .drop_column(SyncRuns::Phase)
                    .to_owned(),
            )
            .await
    }
}

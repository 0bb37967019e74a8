//! What real brokerages need remembered: the day an account vanished from its item
//! (`accounts.closed_on`), the day it was last re-issued under a new Plaid id
//! (`accounts.reissued_on`: Plaid no longer serves its history under the old id), which `cancel` row cancelled a trade
//! (`investment_transactions.cancelled_by`, so that a cancel seen again in a later sync is
//! not matched to a second trade), and the transactions a run could not place
//! (`sync_runs.transactions_skipped`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_real_world"
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    ClosedOn,
    ReissuedOn,
}

#[derive(DeriveIden)]
enum InvestmentTransactions {
    Table,
    CancelledBy,
}

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    TransactionsSkipped,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(ColumnDef::new(Accounts::ClosedOn).date().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(ColumnDef::new(Accounts::ReissuedOn).date().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(InvestmentTransactions::Table)
                    .add_column(
                        ColumnDef::new(InvestmentTransactions::CancelledBy)
                            .string()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SyncRuns::Table)
                    .add_column(
                        ColumnDef::new(SyncRuns::TransactionsSkipped)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SyncRuns::Table)
                    .drop_column(SyncRuns::TransactionsSkipped)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(InvestmentTransactions::Table)
                    .drop_column(InvestmentTransactions::CancelledBy)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::ClosedOn)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::ReissuedOn)
                    .to_owned(),
            )
            .await
    }
}

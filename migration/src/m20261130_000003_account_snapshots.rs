//! `account_snapshots`: the days a sync pictured an account's holdings in full, even when it
//! held nothing. Without it, an account whose positions were all sold has no snapshot rows
//! after the sale, and its history would carry its last positions forward for ever.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000003_account_snapshots"
    }
}

#[derive(DeriveIden)]
enum AccountSnapshots {
    Table,
    Id,
    UserId,
    AccountId,
    AsOf,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountSnapshots::Table)
                    .col(
                        ColumnDef::new(AccountSnapshots::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AccountSnapshots::UserId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountSnapshots::AccountId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AccountSnapshots::AsOf).date().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountSnapshots::Table, AccountSnapshots::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountSnapshots::Table, AccountSnapshots::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_account_snapshots_account_date")
                    .table(AccountSnapshots::Table)
                    .col(AccountSnapshots::AccountId)
                    .col(AccountSnapshots::AsOf)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_snapshots_user_date")
                    .table(AccountSnapshots::Table)
                    .col(AccountSnapshots::UserId)
                    .col(AccountSnapshots::AsOf)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountSnapshots::Table).to_owned())
            .await
    }
}

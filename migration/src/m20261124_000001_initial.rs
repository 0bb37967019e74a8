//! The investments schema: users and their API tokens, Plaid items, accounts, securities,
//! holdings (plus daily snapshots), investment transactions and sync runs.
//!
//! Every row that belongs to a user carries `user_id`, so that each query is limited to its
//! owner with one indexed predicate. Money and quantities are exact on both databases:
//! `NUMERIC` on PostgreSQL, and on SQLite a text-affinity `decimal_text` column that keeps the
//! exact digits (SQLite's own decimal type is a float).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_initial"
    }
}

/// An exact decimal column for the connected backend.
fn decimal(backend: DbBackend, name: impl IntoIden) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DbBackend::Sqlite => col.custom(Alias::new("decimal_text")),
        _ => col.decimal(),
    };
    col
}

fn id(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn text(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string().to_owned()
}

fn long_text(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().to_owned()
}

fn big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().to_owned()
}

fn date(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).date().to_owned()
}

fn time(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().to_owned()
}

/// A timestamp set to the current time by default (`created_at`, `updated_at`).
fn time_now(name: impl IntoIden) -> ColumnDef {
    time(name)
        .not_null()
        .default(Expr::current_timestamp())
        .to_owned()
}

/// A counter of a sync run.
fn count(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .integer()
        .not_null()
        .default(0)
        .to_owned()
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .to_owned()
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    Scope,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlaidItems {
    Table,
    Id,
    UserId,
    PlaidItemId,
    InstitutionId,
    InstitutionName,
    AccessTokenCiphertext,
    Status,
    ErrorType,
    ErrorCode,
    ErrorMessage,
    ErrorDisplayMessage,
    Webhook,
    AvailableProducts,
    BilledProducts,
    ConsentExpirationTime,
    UpdateType,
    LastAttemptAt,
    LastSuccessAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    UserId,
    ItemId,
    PlaidAccountId,
    PersistentAccountId,
    Name,
    OfficialName,
    Mask,
    Type,
    Subtype,
    HolderCategory,
    BalanceCurrent,
    BalanceAvailable,
    BalanceLimit,
    BalanceMarginLoanAmount,
    BalanceIsoCurrencyCode,
    BalanceUnofficialCurrencyCode,
    BalanceLastUpdatedDatetime,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Securities {
    Table,
    Id,
    UserId,
    PlaidSecurityId,
    Isin,
    Cusip,
    Sedol,
    InstitutionSecurityId,
    InstitutionId,
    ProxySecurityId,
    Name,
    TickerSymbol,
    IsCashEquivalent,
    Type,
    Subtype,
    ClosePrice,
    ClosePriceAsOf,
    UpdateDatetime,
    IsoCurrencyCode,
    UnofficialCurrencyCode,
    MarketIdentifierCode,
    Sector,
    Industry,
    CfiCode,
    OptionContractType,
    OptionExpirationDate,
    OptionStrikePrice,
    OptionUnderlyingSecurityTicker,
    FixedIncomeYieldRatePercentage,
    FixedIncomeYieldRateType,
    FixedIncomeMaturityDate,
    FixedIncomeIssueDate,
    FixedIncomeFaceValue,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InvestmentHoldings {
    Table,
    Id,
    UserId,
    AccountId,
    SecurityId,
    Quantity,
    CostBasis,
    InstitutionPrice,
    InstitutionPriceAsOf,
    InstitutionPriceDatetime,
    InstitutionValue,
    IsoCurrencyCode,
    UnofficialCurrencyCode,
    VestedQuantity,
    VestedValue,
    TaxLots,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum HoldingSnapshots {
    Table,
    Id,
    UserId,
    AccountId,
    SecurityId,
    AsOf,
    Quantity,
    CostBasis,
    InstitutionPrice,
    InstitutionValue,
    ClosePrice,
    IsoCurrencyCode,
    UnofficialCurrencyCode,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InvestmentTransactions {
    Table,
    Id,
    UserId,
    AccountId,
    SecurityId,
    PlaidInvestmentTransactionId,
    CancelTransactionId,
    Date,
    TransactionDatetime,
    Name,
    Quantity,
    Amount,
    Price,
    Fees,
    Type,
    Subtype,
    IsoCurrencyCode,
    UnofficialCurrencyCode,
    Cancelled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    Id,
    UserId,
    ItemId,
    Trigger,
    WindowStart,
    WindowEnd,
    StartedAt,
    FinishedAt,
    Outcome,
    AccountsUpserted,
    SecuritiesUpserted,
    HoldingsUpserted,
    HoldingsRemoved,
    SnapshotsWritten,
    TransactionsUpserted,
    TransactionsCancelled,
    ErrorCode,
    ErrorMessage,
}

fn index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for col in cols {
        idx.col(Alias::new(*col));
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(id(Users::Id))
                    .col(text(Users::Name).not_null().unique_key())
                    .col(time_now(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(id(ApiTokens::Id))
                    .col(big(ApiTokens::UserId).not_null())
                    .col(text(ApiTokens::Name).not_null())
                    .col(text(ApiTokens::TokenHash).not_null().unique_key())
                    .col(text(ApiTokens::Scope).not_null())
                    .col(time_now(ApiTokens::CreatedAt))
                    .foreign_key(&mut fk(
                        ApiTokens::Table,
                        ApiTokens::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlaidItems::Table)
                    .col(id(PlaidItems::Id))
                    .col(big(PlaidItems::UserId).not_null())
                    .col(text(PlaidItems::PlaidItemId).not_null().unique_key())
                    .col(text(PlaidItems::InstitutionId).null())
                    .col(text(PlaidItems::InstitutionName).null())
                    .col(long_text(PlaidItems::AccessTokenCiphertext).null())
                    .col(text(PlaidItems::Status).not_null().default("healthy"))
                    .col(text(PlaidItems::ErrorType).null())
                    .col(text(PlaidItems::ErrorCode).null())
                    .col(long_text(PlaidItems::ErrorMessage).null())
                    .col(long_text(PlaidItems::ErrorDisplayMessage).null())
                    .col(long_text(PlaidItems::Webhook).null())
                    .col(long_text(PlaidItems::AvailableProducts).null())
                    .col(long_text(PlaidItems::BilledProducts).null())
                    .col(time(PlaidItems::ConsentExpirationTime).null())
                    .col(text(PlaidItems::UpdateType).null())
                    .col(time(PlaidItems::LastAttemptAt).null())
                    .col(time(PlaidItems::LastSuccessAt).null())
                    .col(time_now(PlaidItems::CreatedAt))
                    .col(time_now(PlaidItems::UpdatedAt))
                    .foreign_key(&mut fk(
                        PlaidItems::Table,
                        PlaidItems::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(id(Accounts::Id))
                    .col(big(Accounts::UserId).not_null())
                    .col(big(Accounts::ItemId).not_null())
                    .col(text(Accounts::PlaidAccountId).not_null().unique_key())
                    .col(text(Accounts::PersistentAccountId).null())
                    .col(text(Accounts::Name).not_null())
                    .col(text(Accounts::OfficialName).null())
                    .col(text(Accounts::Mask).null())
                    .col(text(Accounts::Type).not_null())
                    .col(text(Accounts::Subtype).null())
                    .col(text(Accounts::HolderCategory).null())
                    .col(decimal(db, Accounts::BalanceCurrent).null())
                    .col(decimal(db, Accounts::BalanceAvailable).null())
                    .col(decimal(db, Accounts::BalanceLimit).null())
                    .col(decimal(db, Accounts::BalanceMarginLoanAmount).null())
                    .col(text(Accounts::BalanceIsoCurrencyCode).null())
                    .col(text(Accounts::BalanceUnofficialCurrencyCode).null())
                    .col(time(Accounts::BalanceLastUpdatedDatetime).null())
                    .col(time_now(Accounts::CreatedAt))
                    .col(time_now(Accounts::UpdatedAt))
                    .foreign_key(&mut fk(
                        Accounts::Table,
                        Accounts::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Accounts::Table,
                        Accounts::ItemId,
                        PlaidItems::Table,
                        PlaidItems::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Securities::Table)
                    .col(id(Securities::Id))
                    .col(big(Securities::UserId).not_null())
                    .col(text(Securities::PlaidSecurityId).not_null())
                    .col(text(Securities::Isin).null())
                    .col(text(Securities::Cusip).null())
                    .col(text(Securities::Sedol).null())
                    .col(text(Securities::InstitutionSecurityId).null())
                    .col(text(Securities::InstitutionId).null())
                    .col(text(Securities::ProxySecurityId).null())
                    .col(text(Securities::Name).null())
                    .col(text(Securities::TickerSymbol).null())
                    .col(
                        ColumnDef::new(Securities::IsCashEquivalent)
                            .boolean()
                            .null(),
                    )
                    .col(text(Securities::Type).null())
                    .col(text(Securities::Subtype).null())
                    .col(decimal(db, Securities::ClosePrice).null())
                    .col(date(Securities::ClosePriceAsOf).null())
                    .col(time(Securities::UpdateDatetime).null())
                    .col(text(Securities::IsoCurrencyCode).null())
                    .col(text(Securities::UnofficialCurrencyCode).null())
                    .col(text(Securities::MarketIdentifierCode).null())
                    .col(text(Securities::Sector).null())
                    .col(text(Securities::Industry).null())
                    .col(text(Securities::CfiCode).null())
                    .col(text(Securities::OptionContractType).null())
                    .col(date(Securities::OptionExpirationDate).null())
                    .col(decimal(db, Securities::OptionStrikePrice).null())
                    .col(text(Securities::OptionUnderlyingSecurityTicker).null())
                    .col(decimal(db, Securities::FixedIncomeYieldRatePercentage).null())
                    .col(text(Securities::FixedIncomeYieldRateType).null())
                    .col(date(Securities::FixedIncomeMaturityDate).null())
                    .col(date(Securities::FixedIncomeIssueDate).null())
                    .col(decimal(db, Securities::FixedIncomeFaceValue).null())
                    .col(time_now(Securities::CreatedAt))
                    .col(time_now(Securities::UpdatedAt))
                    .foreign_key(&mut fk(
                        Securities::Table,
                        Securities::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InvestmentHoldings::Table)
                    .col(id(InvestmentHoldings::Id))
                    .col(big(InvestmentHoldings::UserId).not_null())
                    .col(big(InvestmentHoldings::AccountId).not_null())
                    .col(big(InvestmentHoldings::SecurityId).not_null())
                    .col(decimal(db, InvestmentHoldings::Quantity).not_null())
                    .col(decimal(db, InvestmentHoldings::CostBasis).null())
                    .col(decimal(db, InvestmentHoldings::InstitutionPrice).not_null())
                    .col(date(InvestmentHoldings::InstitutionPriceAsOf).null())
                    .col(time(InvestmentHoldings::InstitutionPriceDatetime).null())
                    .col(decimal(db, InvestmentHoldings::InstitutionValue).not_null())
                    .col(text(InvestmentHoldings::IsoCurrencyCode).null())
                    .col(text(InvestmentHoldings::UnofficialCurrencyCode).null())
                    .col(decimal(db, InvestmentHoldings::VestedQuantity).null())
                    .col(decimal(db, InvestmentHoldings::VestedValue).null())
                    .col(long_text(InvestmentHoldings::TaxLots).null())
                    .col(time_now(InvestmentHoldings::CreatedAt))
                    .col(time_now(InvestmentHoldings::UpdatedAt))
                    .foreign_key(&mut fk(
                        InvestmentHoldings::Table,
                        InvestmentHoldings::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        InvestmentHoldings::Table,
                        InvestmentHoldings::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        InvestmentHoldings::Table,
                        InvestmentHoldings::SecurityId,
                        Securities::Table,
                        Securities::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(HoldingSnapshots::Table)
                    .col(id(HoldingSnapshots::Id))
                    .col(big(HoldingSnapshots::UserId).not_null())
                    .col(big(HoldingSnapshots::AccountId).not_null())
                    .col(big(HoldingSnapshots::SecurityId).not_null())
                    .col(date(HoldingSnapshots::AsOf).not_null())
                    .col(decimal(db, HoldingSnapshots::Quantity).not_null())
                    .col(decimal(db, HoldingSnapshots::CostBasis).null())
                    .col(decimal(db, HoldingSnapshots::InstitutionPrice).not_null())
                    .col(decimal(db, HoldingSnapshots::InstitutionValue).not_null())
                    .col(decimal(db, HoldingSnapshots::ClosePrice).null())
                    .col(text(HoldingSnapshots::IsoCurrencyCode).null())
                    .col(text(HoldingSnapshots::UnofficialCurrencyCode).null())
                    .col(time_now(HoldingSnapshots::CreatedAt))
                    .foreign_key(&mut fk(
                        HoldingSnapshots::Table,
                        HoldingSnapshots::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        HoldingSnapshots::Table,
                        HoldingSnapshots::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        HoldingSnapshots::Table,
                        HoldingSnapshots::SecurityId,
                        Securities::Table,
                        Securities::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InvestmentTransactions::Table)
                    .col(id(InvestmentTransactions::Id))
                    .col(big(InvestmentTransactions::UserId).not_null())
                    .col(big(InvestmentTransactions::AccountId).not_null())
                    .col(big(InvestmentTransactions::SecurityId).null())
                    .col(
                        text(InvestmentTransactions::PlaidInvestmentTransactionId)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(InvestmentTransactions::CancelTransactionId).null())
                    .col(date(InvestmentTransactions::Date).not_null())
                    .col(time(InvestmentTransactions::TransactionDatetime).null())
                    .col(long_text(InvestmentTransactions::Name).not_null())
                    .col(decimal(db, InvestmentTransactions::Quantity).not_null())
                    .col(decimal(db, InvestmentTransactions::Amount).not_null())
                    .col(decimal(db, InvestmentTransactions::Price).not_null())
                    .col(decimal(db, InvestmentTransactions::Fees).null())
                    .col(text(InvestmentTransactions::Type).not_null())
                    .col(text(InvestmentTransactions::Subtype).not_null())
                    .col(text(InvestmentTransactions::IsoCurrencyCode).null())
                    .col(text(InvestmentTransactions::UnofficialCurrencyCode).null())
                    .col(
                        ColumnDef::new(InvestmentTransactions::Cancelled)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(time_now(InvestmentTransactions::CreatedAt))
                    .col(time_now(InvestmentTransactions::UpdatedAt))
                    .foreign_key(&mut fk(
                        InvestmentTransactions::Table,
                        InvestmentTransactions::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        InvestmentTransactions::Table,
                        InvestmentTransactions::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        InvestmentTransactions::Table,
                        InvestmentTransactions::SecurityId,
                        Securities::Table,
                        Securities::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SyncRuns::Table)
                    .col(id(SyncRuns::Id))
                    .col(big(SyncRuns::UserId).not_null())
                    .col(big(SyncRuns::ItemId).not_null())
                    .col(text(SyncRuns::Trigger).not_null())
                    .col(date(SyncRuns::WindowStart).null())
                    .col(date(SyncRuns::WindowEnd).null())
                    .col(time(SyncRuns::StartedAt).not_null())
                    .col(time(SyncRuns::FinishedAt).null())
                    .col(text(SyncRuns::Outcome).not_null())
                    .col(count(SyncRuns::AccountsUpserted))
                    .col(count(SyncRuns::SecuritiesUpserted))
                    .col(count(SyncRuns::HoldingsUpserted))
                    .col(count(SyncRuns::HoldingsRemoved))
                    .col(count(SyncRuns::SnapshotsWritten))
                    .col(count(SyncRuns::TransactionsUpserted))
                    .col(count(SyncRuns::TransactionsCancelled))
                    .col(text(SyncRuns::ErrorCode).null())
                    .col(long_text(SyncRuns::ErrorMessage).null())
                    .foreign_key(&mut fk(
                        SyncRuns::Table,
                        SyncRuns::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        SyncRuns::Table,
                        SyncRuns::ItemId,
                        PlaidItems::Table,
                        PlaidItems::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // One index per filter and ordering the API offers; `user_id` leads wherever a
        // query is limited to its owner.
        let mut indexes = vec![
            index("idx_api_tokens_user", ApiTokens::Table, &["user_id"]),
            index(
                "idx_plaid_items_user",
                PlaidItems::Table,
                &["user_id", "id"],
            ),
            index(
                "idx_plaid_items_institution",
                PlaidItems::Table,
                &["user_id", "institution_id"],
            ),
            index("idx_accounts_user", Accounts::Table, &["user_id", "id"]),
            index("idx_accounts_item", Accounts::Table, &["item_id"]),
            index(
                "idx_accounts_type",
                Accounts::Table,
                &["user_id", "type", "subtype"],
            ),
            index("idx_securities_user", Securities::Table, &["user_id", "id"]),
            index(
                "idx_securities_type",
                Securities::Table,
                &["user_id", "type"],
            ),
            index(
                "idx_securities_ticker",
                Securities::Table,
                &["user_id", "ticker_symbol"],
            ),
            index(
                "idx_holdings_user",
                InvestmentHoldings::Table,
                &["user_id", "id"],
            ),
            index(
                "idx_holdings_security",
                InvestmentHoldings::Table,
                &["security_id"],
            ),
            index(
                "idx_snapshots_user_date",
                HoldingSnapshots::Table,
                &["user_id", "as_of"],
            ),
            index(
                "idx_snapshots_security_date",
                HoldingSnapshots::Table,
                &["security_id", "as_of"],
            ),
            index(
                "idx_transactions_user_date",
                InvestmentTransactions::Table,
                &["user_id", "date", "id"],
            ),
            index(
                "idx_transactions_account_date",
                InvestmentTransactions::Table,
                &["account_id", "date", "id"],
            ),
            index(
                "idx_transactions_security",
                InvestmentTransactions::Table,
                &["security_id", "date"],
            ),
            index(
                "idx_transactions_type",
                InvestmentTransactions::Table,
                &["user_id", "type", "subtype", "date"],
            ),
            index(
                "idx_sync_runs_item",
                SyncRuns::Table,
                &["item_id", "started_at"],
            ),
        ];
        let mut unique = vec![
            index(
                "uq_securities_user_plaid_id",
                Securities::Table,
                &["user_id", "plaid_security_id"],
            ),
            index(
                "uq_holdings_account_security",
                InvestmentHoldings::Table,
                &["account_id", "security_id"],
            ),
            index(
                "uq_snapshots_account_security_date",
                HoldingSnapshots::Table,
                &["account_id", "security_id", "as_of"],
            ),
        ];
        for idx in &mut unique {
            idx.unique();
        }
        if db == DbBackend::Postgres {
            // NUMERIC sorts numerically in a B-tree; on SQLite amounts order through the
            // `decimal` collation, which an index there could not use without it.
            indexes.push(index(
                "idx_transactions_user_amount",
                InvestmentTransactions::Table,
                &["user_id", "amount", "id"],
            ));
        }
        for idx in indexes.into_iter().chain(unique) {
            manager.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SyncRuns::Table.into_iden(),
            InvestmentTransactions::Table.into_iden(),
            HoldingSnapshots::Table.into_iden(),
            InvestmentHoldings::Table.into_iden(),
            Securities::Table.into_iden(),
            Accounts::Table.into_iden(),
            PlaidItems::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

//! SeaORM entities, one per table (see the migration for the schema and its indexes).

pub mod account_snapshots;
pub mod accounts;
pub mod api_tokens;
pub mod holding_snapshots;
pub mod investment_holdings;
pub mod investment_transactions;
pub mod plaid_items;
pub mod securities;
pub mod sync_runs;
pub mod users;

//! Schema migrations for the `investments` database (SQLite and PostgreSQL).

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000002_data_version;
mod m20261130_000003_account_snapshots;
mod m20261201_000004_real_world;
mod m20261201_000005_sync_phase;
mod m20261202_000006_seek_indexes;
pub mod sort_key;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_data_version::Migration),
            Box::new(m20261130_000003_account_snapshots::Migration),
            Box::new(m20261201_000004_real_world::Migration),
            Box::new(m20261201_000005_sync_phase::Migration),
            Box::new(m20261202_000006_seek_indexes::Migration),
        ]
    }
}

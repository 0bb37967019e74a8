//! The database a bench runs on: a fresh schema of `BENCH_DATABASE_URL` (PostgreSQL) when
//! set, else a temporary SQLite file; migrated.

use investments::db::{self, DbConfig};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};

pub struct BenchDatabase {
    pub conn: DatabaseConnection,
    pub label: &'static str,
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

impl BenchDatabase {
    pub async fn open() -> BenchDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, label) = match std::env::var("BENCH_DATABASE_URL") {
            Ok(url) => {
                let schema = format!("bench_{}", std::process::id());
                let admin = db::connect(&DbConfig::new(url.clone()))
                    .await
                    .expect("postgres");
                admin
                    .execute_unprepared(&format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                    ))
                    .await
                    .expect("schema");
                let mut config = DbConfig::new(url);
                config.schema = Some(schema);
                (config, "PostgreSQL")
            }
            Err(_) => (
                DbConfig::new(format!(
                    "sqlite://{}",
                    dir.path().join("bench.db").display()
                )),
                "SQLite",
            ),
        };
        let conn = db::connect(&config).await.expect("database");
        Migrator::up(&conn, None).await.expect("migrations");
        BenchDatabase {
            conn,
            label,
            schema: config.schema,
            _dir: dir,
        }
    }

    /// Drops the PostgreSQL schema.
    pub async fn close(self) {
        if let Some(schema) = &self.schema {
            let _ = self
                .conn
                .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await;
        }
    }
}

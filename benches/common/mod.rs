//! What the benches share: the database they run on (a fresh schema of
//! `BENCH_DATABASE_URL` when set, else a temporary SQLite file), the simulator, a sync
//! service and user, and the server.

// Each bench compiles this module and uses a part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use investments::auth::{self, Scope};
use investments::crypto::TokenCipher;
use investments::db::scope::UserScope;
use investments::db::unscoped::Unscoped;
use investments::db::{self, DbConfig};
use investments::plaid::client::{Environment, PlaidClient, PlaidConfig};
use investments::plaid::simulator::{Simulator, SimulatorConfig};
use investments::sync::{SyncOptions, SyncService};
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
        Self::open_at(std::env::var("BENCH_DATABASE_URL").ok()).await
    }

    /// A fresh schema of the PostgreSQL database at `url`, or a temporary SQLite file.
    pub async fn open_at(url: Option<String>) -> BenchDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, label) = match url {
            Some(url) => {
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
            None => (
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

/// A number from the environment, or `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The simulator with `transactions` per item, a sync service to it over `conn`, and the
/// bench user's id. With `BENCH_PLAID_URL` set, the sync service talks to the simulator
/// running there instead (`investments plaid-sim --transactions-per-item N`), so that the
/// process's memory is the sync engine's alone; the in-process one is then not started.
pub async fn plaid(
    conn: &DatabaseConnection,
    transactions: usize,
) -> (Option<Simulator>, SyncService, UserScope) {
    let (simulator, client) = match std::env::var("BENCH_PLAID_URL") {
        Ok(url) => {
            let defaults = SimulatorConfig::default();
            let mut client =
                PlaidConfig::new(Environment::Sandbox, &defaults.client_id, &defaults.secret);
            client.base_url = url;
            (None, client)
        }
        Err(_) => {
            let simulator = Simulator::start(SimulatorConfig {
                transactions_per_item: transactions,
                ..Default::default()
            })
            .await
            .expect("simulator");
            let client = simulator.client_config();
            (Some(simulator), client)
        }
    };
    let sync = SyncService::new(
        conn.clone(),
        Arc::new(PlaidClient::new(client).expect("client")),
        Arc::new(TokenCipher::ephemeral()),
        SyncOptions::default(),
    );
    let users = Unscoped::new(conn).users();
    let user = users.find_or_create("bench").await.expect("user");
    (simulator, sync, users.scope_of(user.id))
}

/// Serves the API over `conn` on a loopback port; its address and a read token of `owner`.
pub async fn serve(conn: &DatabaseConnection, owner: &UserScope) -> (SocketAddr, String) {
    let token = auth::issue_token(owner, "bench", Scope::Read)
        .await
        .expect("token")
        .token;
    let router = investments::app::AppBuilder::new(conn.clone()).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    (address, token)
}

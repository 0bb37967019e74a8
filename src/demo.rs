//! `investments demo`: everything offline in one process. The Plaid simulator runs
//! in-process, a fresh SQLite file holds the data, a demo user gets a write token, two
//! sample items at different institutions are linked and synced through the real client
//! and sync engine, and the server starts with GraphiQL's `Authorization` header filled in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use migration::{Migrator, MigratorTrait};

use crate::auth::{self, Scope};
use crate::crypto::TokenCipher;
use crate::db::{self, DbConfig};
use crate::http::{self, AppState, HttpOptions};
use crate::plaid::client::PlaidClient;
use crate::plaid::simulator::{Simulator, SimulatorConfig};
use crate::sync::{SyncOptions, SyncService};

/// Institutions of the two sample items.
pub const DEMO_INSTITUTIONS: [&str; 2] = ["ins_109508", "ins_109511"];

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub bind: SocketAddr,
    /// Recreated at every start (the demo's encryption key lives only as long as the
    /// process).
    pub database_file: PathBuf,
    pub seed: u64,
}

/// A prepared demo, ready to serve.
pub struct Demo {
    pub router: Router,
    pub listener: tokio::net::TcpListener,
    pub address: SocketAddr,
    pub token: String,
    pub sync: SyncService,
    /// Kept alive for as long as the demo runs.
    pub simulator: Simulator,
}

fn remove_database(path: &std::path::Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", file.display())),
        }
    }
    Ok(())
}

pub async fn prepare(options: &DemoOptions) -> anyhow::Result<Demo> {
    let simulator = Simulator::start(SimulatorConfig {
        seed: options.seed,
        ..Default::default()
    })
    .await
    .context("starting the Plaid simulator")?;
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("cannot listen on {}", options.bind))?;
    let address = listener.local_addr()?;

    remove_database(&options.database_file)?;
    let url = format!("sqlite://{}", options.database_file.display());
    let db = db::connect(&DbConfig::new(url)).await?;
    Migrator::up(&db, None).await?;

    let plaid = simulator.client_config();
    let sync = SyncService::new(
        db.clone(),
        Arc::new(PlaidClient::new(plaid)?),
        Arc::new(TokenCipher::ephemeral()),
        SyncOptions {
            webhook_url: Some(format!("http://{address}/webhooks/plaid")),
            ..Default::default()
        },
    );

    let user = db::users::find_or_create(&db, "demo")
        .await
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    let token = auth::issue_token(&db, user.id, "demo", Scope::Write)
        .await
        .map_err(|e| anyhow::anyhow!(e.message()))?
        .token;
    for institution in DEMO_INSTITUTIONS {
        let outcome = sync
            .sandbox_link(user.id, institution)
            .await
            .map_err(|e| anyhow::anyhow!("linking {institution}: {}", e.message()))?;
        if let Some(err) = &outcome.error {
            anyhow::bail!("syncing {institution}: {}", err.message());
        }
    }

    let mut state = AppState::new(db, Some(sync.clone()));
    state.graphiql_headers = vec![("Authorization".to_owned(), format!("Bearer {token}"))];
    let router = http::router(state, &HttpOptions::default());
    Ok(Demo {
        router,
        listener,
        address,
        token,
        sync,
        simulator,
    })
}

/// Prepares the demo, prints how to use it, and serves until Ctrl-C.
pub async fn run(options: &DemoOptions) -> anyhow::Result<()> {
    let demo = prepare(options).await?;
    println!();
    println!("  investments demo: two sample items linked and synced (Plaid simulator, offline)");
    println!();
    println!(
        "  GraphiQL:  http://{}/graphiql  (the header below is filled in)",
        demo.address
    );
    println!("  GraphQL:   http://{}/graphql", demo.address);
    println!("  Header:    Authorization: Bearer {}", demo.token);
    println!("  Database:  {}", options.database_file.display());
    println!();
    println!(
        "  Try: {{ portfolio {{ totals {{ currency marketValue unrealizedGain }} }} holdings(first: 5) {{ nodes {{ quantity marketValue security {{ tickerSymbol name }} }} }} investmentTransactions(first: 5) {{ nodes {{ date name amount }} }} }}"
    );
    println!();
    axum::serve(demo.listener, demo.router)
        .with_graceful_shutdown(http::shutdown_signal())
        .await?;
    drop(demo.simulator);
    Ok(())
}

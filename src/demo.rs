//! `investments demo`: everything offline in one process. The Plaid simulator runs
//! in-process, a fresh SQLite file holds the data, a demo user gets a write token, two
//! sample items at different institutions are linked and synced through the real client
//! and sync engine, and the server starts; the GraphiQL URL it prints hands the token to
//! the page in its fragment (`#token=...`), which no served page and no other origin sees.
//!
//! Plaid has no historical holdings, so a real install's value history starts at its first
//! sync. So that the demo's dashboard has a year to show, the demo alone backfills a year
//! of daily snapshots of today's positions along a seeded price path ([`backfill_history`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use migration::{Migrator, MigratorTrait};

use crate::auth::{self, Scope};
use crate::clock::Clock;
use crate::crypto::TokenCipher;
use crate::db::unscoped::Unscoped;
use crate::db::{self, DbConfig};
use crate::http::{self, HttpOptions};
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
    /// GraphiQL with the token in the fragment: the page puts it in its Headers pane.
    pub graphiql_url: String,
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

    let users = Unscoped::new(&db).users();
    let user = users.find_or_create("demo").await?;
    let owner = users.scope_of(user.id);
    let token = auth::issue_token(&owner, "demo", Scope::Write).await?.token;
    for institution in DEMO_INSTITUTIONS {
        let outcome = sync
            .sandbox_link(&owner, institution, None)
            .await
            .map_err(|e| anyhow::Error::from(e).context(format!("linking {institution}")))?;
        if let Some(err) = &outcome.error {
            anyhow::bail!("syncing {institution}: {}", err.message());
        }
    }

    backfill_history(&db, user.id, options.seed, HISTORY_DAYS).await?;

    // As `serve` by default, so that the demo's dashboard shows the limit is not in its way.
    let router = crate::app::AppBuilder::new(db)
        .clock(Clock::system())
        .sync(Some(sync.clone()))
        .http(HttpOptions {
            rate_limit: Some(http::RateLimit::default()),
            ..Default::default()
        })
        .router();
    Ok(Demo {
        router,
        listener,
        address,
        graphiql_url: format!("http://{address}/graphiql#token={token}"),
        token,
        sync,
        simulator,
    })
}

/// Days of generated history before the first sync.
pub const HISTORY_DAYS: u32 = 365;

/// Writes a snapshot of each of today's positions for each of the `days` days before today,
/// at prices that walk back from today's by a seeded step of -1.80% to +2.00% a day.
/// Quantities and cost bases stay as today's; a price of exactly 1 (cash, money-market
/// funds) stays 1. Demo data only: `serve` never invents history.
pub async fn backfill_history(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    seed: u64,
    days: u32,
) -> anyhow::Result<()> {
    use chrono::Days;
    use rand::{Rng, SeedableRng};
    use rust_decimal::{Decimal, RoundingStrategy};
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

    use crate::db::entities::holding_snapshots as snapshots;

    let today = chrono::Utc::now().date_naive();
    let current = snapshots::Entity::find()
        .filter(snapshots::Column::UserId.eq(user_id))
        .filter(snapshots::Column::AsOf.eq(today))
        .all(db)
        .await?;
    let mut rows = Vec::new();
    for snap in current {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ ((snap.security_id as u64) << 20));
        let scale = snap.institution_price.0.scale().max(2);
        let mut price = snap.institution_price.0;
        for back in 1..=u64::from(days) {
            if price != Decimal::ONE {
                let step = Decimal::new(rng.random_range(-180..=200), 4);
                price = (price / (Decimal::ONE + step))
                    .round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
            }
            let value = (price * snap.quantity.0)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            rows.push(snapshots::ActiveModel {
                user_id: Set(user_id),
                account_id: Set(snap.account_id),
                security_id: Set(snap.security_id),
                as_of: Set(today - Days::new(back)),
                quantity: Set(snap.quantity),
                cost_basis: Set(snap.cost_basis),
                institution_price: Set(price.into()),
                institution_value: Set(value.into()),
                close_price: Set(Some(price.into())),
                iso_currency_code: Set(snap.iso_currency_code.clone()),
                unofficial_currency_code: Set(snap.unofficial_currency_code.clone()),
                created_at: Set(chrono::Utc::now()),
                ..Default::default()
            });
        }
    }
    let db = Unscoped::new(db);
    db.snapshots().upsert(rows).await?;
    db.users().bump_data_version(user_id).await?;
    Ok(())
}

/// A dashboard in one request: totals, allocation by type, a year of weekly value, returns
/// and income by month.
pub const DASHBOARD_QUERY: &str = "{ portfolio { totals { currency marketValue unrealizedGain unrealizedGainPercent } bySecurityType { securityType currency marketValue weight } valueHistory(interval: WEEK) { date currency marketValue observed } returns { currency timeWeightedReturn moneyWeightedReturn } incomeAndCosts { month currency dividends interest fees } } }";

/// Prepares the demo, prints how to use it, and serves until Ctrl-C.
pub async fn run(options: &DemoOptions) -> anyhow::Result<()> {
    let demo = prepare(options).await?;
    println!();
    println!("  investments demo: two sample items linked and synced (Plaid simulator, offline)");
    println!();
    println!(
        "  GraphiQL:  {}  (opens with the header below filled in)",
        demo.graphiql_url
    );
    println!("  GraphQL:   http://{}/graphql", demo.address);
    println!("  Header:    Authorization: Bearer {}", demo.token);
    println!("  Database:  {}", options.database_file.display());
    println!();
    println!("  Try: {DASHBOARD_QUERY}");
    println!();
    println!(
        "  Value history before today is generated for the demo (Plaid has no historical holdings)."
    );
    println!();
    axum::serve(demo.listener, demo.router)
        .with_graceful_shutdown(http::shutdown_signal())
        .await?;
    drop(demo.simulator);
    Ok(())
}

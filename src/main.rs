use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use investments::clock::Clock;
use investments::config::{self, Cli, Command, MigrateAction, PlaidArgs, ServeArgs, TokenAction};
use investments::crypto::TokenCipher;
use investments::db::unscoped::Unscoped;
use investments::db::{self, DbConfig};
use investments::http::{self, HttpOptions};
use investments::plaid::client::PlaidClient;
use investments::plaid::simulator::scenario::ScenarioFile;
use investments::plaid::simulator::{Simulator, SimulatorConfig};
use investments::sync::{SyncService, Trigger, scheduler};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;

/// Stack of the runtime's threads: room for a deep request future in any build.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    config::init_logging(&cli.log, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(config: &DbConfig) -> anyhow::Result<DatabaseConnection> {
    db::connect(config)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&config.url)))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The sync engine for these options; `None` without Plaid credentials. The encryption
/// key is required either way: stored access tokens are useless without it.
fn sync_service(
    db: &DatabaseConnection,
    args: &PlaidArgs,
    clock: Clock,
) -> anyhow::Result<Option<SyncService>> {
    let key = args.encryption_key.as_deref().context(
        "INVESTMENTS_ENCRYPTION_KEY is required: 32 bytes as 64 hex characters \
         (e.g. `openssl rand -hex 32`); `investments demo` needs none",
    )?;
    let cipher = TokenCipher::from_hex(key)?;
    let Some(plaid) = args.plaid_config() else {
        return Ok(None);
    };
    let client = PlaidClient::new(plaid)?;
    Ok(Some(SyncService::new(
        db.clone(),
        Arc::new(client),
        Arc::new(cipher),
        args.sync_options(clock),
    )))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let clock = Clock::system_in(cli.timezone);
    match cli.command {
        Command::Demo(args) => {
            investments::demo::run(&investments::demo::DemoOptions {
                bind: args.bind,
                database_file: args.demo_database,
                seed: args.seed,
            })
            .await?;
        }
        Command::Serve(args) => {
            let db = config::db_config(&cli.database_url, cli.db_pool, args.plaid.sync_concurrency);
            serve(&db, args, clock).await?
        }
        Command::Sync(args) => {
            let db = config::db_config(&cli.database_url, cli.db_pool, args.plaid.sync_concurrency);
            return sync_once(&db, &args.plaid, clock).await;
        }
        Command::PlaidSim(args) => {
            let scenario = args
                .scenario
                .as_ref()
                .map(ScenarioFile::load)
                .transpose()?
                .map(Arc::new);
            // A scripted world lives on its own calendar, moved by `POST /simulator/clock`.
            let clock = match &scenario {
                Some(file) => Clock::at_noon(file.start),
                None => Clock::system_in(cli.timezone),
            };
            let simulator = Simulator::start_on(
                SimulatorConfig {
                    seed: args.seed,
                    transactions_per_item: args.transactions_per_item,
                    client_id: args.client_id.clone(),
                    secret: args.secret.clone(),
                    latency: std::time::Duration::from_millis(args.latency_ms),
                    clock,
                    scenario: scenario.clone(),
                },
                SocketAddr::from(([127, 0, 0, 1], args.port)),
            )
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
            println!("Plaid simulator on {}", simulator.url());
            println!(
                "PLAID_BASE_URL={} PLAID_CLIENT_ID={} PLAID_SECRET={}",
                simulator.url(),
                args.client_id,
                args.secret
            );
            if let Some(file) = &scenario {
                println!(
                    "Scenario: day 1 is {}; {} item(s): {}",
                    file.start,
                    file.items.len(),
                    file.items
                        .iter()
                        .map(|i| format!("{} ({})", i.item_id, i.institution_id))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                println!(
                    "Next day: curl -X POST {}/simulator/clock -H 'PLAID-CLIENT-ID: {}' -H 'PLAID-SECRET: {}' -H 'Content-Type: application/json' -d '{{\"day\": 2}}'",
                    simulator.url(),
                    args.client_id,
                    args.secret
                );
            }
            http::shutdown_signal().await;
        }
        Command::Migrate { action } => migrate(&cli.database_url, action).await?,
        Command::ExportSchema => print!("{}", investments::graphql::sdl()),
        Command::Token {
            action: TokenAction::Create { user, scope, name },
        } => {
            let db = connect(&DbConfig::new(&cli.database_url)).await?;
            Migrator::up(&db, None)
                .await
                .context("applying migrations")?;
            let users = Unscoped::new(&db).users();
            let user = users.find_or_create(&user).await?;
            let owner = users.scope_of(user.id);
            let issued = investments::auth::issue_token(&owner, &name, scope.into()).await?;
            println!("{}", issued.token);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(db_config: &DbConfig, args: ServeArgs, clock: Clock) -> anyhow::Result<()> {
    let db = connect(db_config).await?;
    if !args.no_migrate {
        Migrator::up(&db, None)
            .await
            .context("applying migrations")?;
    }
    let sync = sync_service(&db, &args.plaid, clock.clone())?;
    if sync.is_none() {
        tracing::warn!("PLAID_CLIENT_ID / PLAID_SECRET not set: serving stored data only");
    }
    if let Some(service) = &sync {
        // Runs left `running` by a process that is gone: now, then every minute.
        if let Err(err) = service.recover_abandoned(true).await {
            err.log_cause();
            tracing::warn!(code = err.code(), "looking for abandoned sync runs");
        }
        scheduler::spawn_recovery(service.clone());
    }
    if let Some(every) = args.sync_every {
        let service = sync
            .clone()
            .context("--sync-every needs Plaid credentials (PLAID_CLIENT_ID, PLAID_SECRET)")?;
        scheduler::spawn(service, every);
        tracing::info!(every = %humantime::format_duration(every), "scheduled syncs on");
    }
    let rate_limit = args.rate_limit();
    let options = HttpOptions {
        cors_origins: args.cors_origins,
        metrics_token: args
            .metrics_token
            .filter(|t| !t.is_empty())
            .map(investments::plaid::client::Secret::new),
        request_timeout: None,
        persisted_only: match &args.persisted_only {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let manifest = investments::graphql::persisted::parse_manifest(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                tracing::info!(documents = manifest.len(), "persisted documents only");
                Some(manifest)
            }
        },
        rate_limit,
    };
    let app = investments::app::AppBuilder::new(db)
        .clock(clock)
        .sync(sync.clone())
        .limits(investments::graphql::Limits {
            deadline: args.graphql_deadline,
            ..Default::default()
        })
        .token_cache_ttl(args.token_cache_ttl)
        .http(options)
        .router();
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    tracing::info!(
        "listening on http://{}  (GraphiQL: http://{}/graphiql)",
        args.bind,
        args.bind
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(http::shutdown_signal())
        .await?;
    // No request is taken any more: running syncs get the grace period to finish.
    if let Some(service) = sync {
        tracing::info!(grace = %humantime::format_duration(args.shutdown_grace), "draining syncs");
        service.shutdown(args.shutdown_grace).await;
    }
    Ok(())
}

/// `investments sync`: every item once; non-zero exit if any failed.
async fn sync_once(
    db_config: &DbConfig,
    plaid: &PlaidArgs,
    clock: Clock,
) -> anyhow::Result<ExitCode> {
    let db = connect(db_config).await?;
    Migrator::up(&db, None)
        .await
        .context("applying migrations")?;
    let sync = sync_service(&db, plaid, clock)?
        .context("Plaid credentials are required (PLAID_CLIENT_ID, PLAID_SECRET)")?;
    if let Err(err) = sync.recover_abandoned(false).await {
        err.log_cause();
        tracing::warn!(code = err.code(), "looking for abandoned sync runs");
    }
    let outcomes = sync
        .refresh_all(None, Trigger::Schedule, None, None, None)
        .await?;
    let mut failed = 0;
    for outcome in &outcomes {
        let item = &outcome.item;
        let institution = item.institution_name.as_deref().unwrap_or("-");
        match (&outcome.error, &outcome.run) {
            (Some(err), _) => {
                failed += 1;
                println!(
                    "FAILED  {}  {institution}  {}: {}",
                    item.plaid_item_id,
                    err.code(),
                    err.message()
                );
            }
            (None, Some(run)) => println!(
                "ok      {}  {institution}  holdings {} (-{}), transactions {} ({} cancelled)",
                item.plaid_item_id,
                run.holdings_upserted,
                run.holdings_removed,
                run.transactions_upserted,
                run.transactions_cancelled
            ),
            (None, None) => println!("ok      {}  {institution}", item.plaid_item_id),
        }
    }
    println!("{} items, {failed} failed", outcomes.len());
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn migrate(database_url: &str, action: MigrateAction) -> anyhow::Result<()> {
    let db = connect(&DbConfig::new(database_url)).await?;
    match action {
        MigrateAction::Up => Migrator::up(&db, None).await?,
        MigrateAction::Down { steps } => Migrator::down(&db, Some(steps)).await?,
        MigrateAction::Fresh => Migrator::fresh(&db).await?,
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&db).await? {
                println!("{:?}\t{}", migration.status(), migration.name());
            }
        }
    }
    Ok(())
}

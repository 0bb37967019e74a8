use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use investments::config::{self, Cli, Command, MigrateAction, ServeArgs, TokenAction};
use investments::db::{self, DbConfig};
use investments::http::{self, AppState, HttpOptions};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    config::init_logging(&cli.log, cli.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    db::connect(&DbConfig::new(url))
        .await
        .with_context(|| format!("cannot open the database {}", redact(url)))
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.database_url, args).await,
        Command::Migrate { action } => migrate(&cli.database_url, action).await,
        Command::ExportSchema => {
            print!("{}", investments::graphql::sdl());
            Ok(())
        }
        Command::Token {
            action: TokenAction::Create { user, scope, name },
        } => {
            let db = connect(&cli.database_url).await?;
            Migrator::up(&db, None)
                .await
                .context("applying migrations")?;
            let user = investments::db::users::find_or_create(&db, &user)
                .await
                .map_err(|e| anyhow::anyhow!(e.message()))?;
            let issued = investments::auth::issue_token(&db, user.id, &name, scope.into())
                .await
                .map_err(|e| anyhow::anyhow!(e.message()))?;
            println!("{}", issued.token);
            Ok(())
        }
    }
}

async fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    let db = connect(database_url).await?;
    if !args.no_migrate {
        Migrator::up(&db, None)
            .await
            .context("applying migrations")?;
    }
    let options = HttpOptions {
        cors_origins: args.cors_origins,
    };
    let app = http::router(AppState::new(db), &options);
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
    Ok(())
}

async fn migrate(database_url: &str, action: MigrateAction) -> anyhow::Result<()> {
    let db = connect(database_url).await?;
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

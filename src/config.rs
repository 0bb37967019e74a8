//! Command line and environment: every option is a flag with an environment variable.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// GraphQL API over brokerage and retirement accounts linked through Plaid.
#[derive(Debug, Parser)]
#[command(name = "investments", version, about)]
pub struct Cli {
    /// Database: `sqlite://file.db` (created if missing) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://investments.db",
        global = true
    )]
    pub database_url: String,

    /// Log filter: a level (`info`, `debug`) or per-module directives
    /// (`investments=debug,tower_http=info`).
    #[arg(long, env = "INVESTMENTS_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log line format.
    #[arg(
        long,
        env = "INVESTMENTS_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (GraphQL at /graphql, GraphiQL at /graphiql).
    Serve(ServeArgs),
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    ExportSchema,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "INVESTMENTS_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Do not apply pending migrations at start.
    #[arg(long, env = "INVESTMENTS_NO_MIGRATE")]
    pub no_migrate: bool,

    /// Browser origins allowed to call the API (comma-separated); default: any.
    #[arg(long, env = "INVESTMENTS_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Revert the last migrations.
    Down {
        /// How many to revert.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table, then apply all migrations (destroys data).
    Fresh,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token (and the user, if new); prints only the token.
    Create {
        /// Name of the user the token acts for.
        #[arg(long)]
        user: String,
        /// `read` may query; `write` may also run mutations.
        #[arg(long, value_enum)]
        scope: ScopeArg,
        /// Label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    Read,
    Write,
}

impl From<ScopeArg> for crate::auth::Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Read => crate::auth::Scope::Read,
            ScopeArg::Write => crate::auth::Scope::Write,
        }
    }
}

/// Sets up logging to stderr (stdout stays free for command output such as tokens).
pub fn init_logging(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

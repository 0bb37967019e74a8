//! Command line and environment: every option is a flag with an environment variable.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plaid::client::{Environment, PlaidConfig};
use crate::sync::SyncOptions;

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

    /// IANA time zone whose calendar dates snapshots and "today" (`America/New_York`):
    /// an evening sync is dated that evening, not the next day in UTC.
    #[arg(
        long,
        env = "INVESTMENTS_TIMEZONE",
        default_value = "UTC",
        global = true
    )]
    pub timezone: chrono_tz::Tz,

    /// Largest database pool (serve, sync). Default: `max(10, 2 × sync concurrency + 6)`,
    /// room for requests, concurrent item syncs and their locks; an in-memory SQLite
    /// database always has one connection.
    #[arg(
        long,
        env = "INVESTMENTS_DB_POOL",
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub db_pool: Option<u32>,

    #[command(subcommand)]
    pub command: Command,
}

/// How `serve` and `sync` open the database: `db_pool` connections at most, or by default
/// [`crate::db::default_pool_size`] of their sync concurrency.
pub fn db_config(
    database_url: &str,
    db_pool: Option<u32>,
    sync_concurrency: usize,
) -> crate::db::DbConfig {
    let mut config = crate::db::DbConfig::new(database_url);
    config.max_connections =
        db_pool.unwrap_or_else(|| crate::db::default_pool_size(sync_concurrency.max(1)));
    config
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
    /// Offline demo: Plaid simulator, sample items linked and synced, GraphiQL ready.
    Demo(DemoArgs),
    /// Run the HTTP server (GraphQL at /graphql, GraphiQL at /graphiql).
    Serve(ServeArgs),
    /// Sync every item from Plaid once; exits non-zero if any item failed (for cron).
    Sync(SyncArgs),
    /// Run the Plaid simulator alone (for PLAID_BASE_URL).
    PlaidSim(PlaidSimArgs),
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

    /// On shutdown (SIGTERM, Ctrl-C), how long running syncs may take to finish before
    /// they are stopped and their runs marked `INTERRUPTED`.
    #[arg(long, env = "INVESTMENTS_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Bearer token that `GET /metrics` requires; unset, the metrics are open to anyone who
    /// can reach the server (bind it to a private address or firewall the path).
    #[arg(long, env = "INVESTMENTS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// How long a verified API token is trusted before the database is asked again
    /// (`0s` disables the cache). A token revoked on another replica or by the CLI stops
    /// working here within this time; one revoked through this server, at once.
    #[arg(long, env = "INVESTMENTS_TOKEN_CACHE_TTL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub token_cache_ttl: Duration,

    /// Run only the documents of this persisted-query manifest (Apollo's
    /// `persisted-query-manifest.json` or GraphQL Code Generator's `persisted-documents.json`),
    /// by hash or in full; any other document is refused with `PERSISTED_QUERY_NOT_IN_LIST`.
    #[arg(long, env = "INVESTMENTS_PERSISTED_ONLY", value_name = "FILE")]
    pub persisted_only: Option<std::path::PathBuf>,
    /// Requests a second each API token may send, sustained (`/graphql`, the CSV exports,
    /// WebSocket connections); over it, `429` with `Retry-After`. `0` or `off`: no limit.
    #[arg(long, env = "INVESTMENTS_RATE_LIMIT", default_value_t = crate::http::DEFAULT_PER_SECOND, value_parser = parse_rate)]
    pub rate_limit: u32,

    /// Requests a token may send at once before the rate applies.
    #[arg(long, env = "INVESTMENTS_RATE_LIMIT_BURST", default_value_t = crate::http::DEFAULT_BURST)]
    pub rate_limit_burst: std::num::NonZeroU32,

    /// Longest a GraphQL query or mutation may run before it is stopped and answered with
    /// `DEADLINE_EXCEEDED` (over 0s and under the HTTP layer's 60s timeout).
    #[arg(long, env = "INVESTMENTS_GRAPHQL_DEADLINE", default_value = "10s", value_parser = graphql_deadline)]
    pub graphql_deadline: Duration,

    /// Sync every item this often inside the server (`6h`, `30m`); one replica at a time
    /// runs a round.
    #[arg(long, env = "INVESTMENTS_SYNC_EVERY", value_parser = humantime::parse_duration)]
    pub sync_every: Option<Duration>,

    #[command(flatten)]
    pub plaid: PlaidArgs,
}

impl ServeArgs {
    /// The per-token rate limit, `None` when turned off.
    pub fn rate_limit(&self) -> Option<crate::http::RateLimit> {
        std::num::NonZeroU32::new(self.rate_limit).map(|per_second| crate::http::RateLimit {
            per_second,
            burst: self.rate_limit_burst,
        })
    }
}

/// A deadline shorter than the HTTP timeout, so that a slow request ends with a GraphQL
/// error rather than the timeout's bare 408.
fn graphql_deadline(text: &str) -> Result<Duration, String> {
    let deadline = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if deadline.is_zero() || deadline >= crate::http::REQUEST_TIMEOUT {
        return Err("must be over 0s and under 60s (the HTTP timeout)".to_owned());
    }
    Ok(deadline)
}

/// A rate per second, or `off` (also `0`) for none.
fn parse_rate(text: &str) -> Result<u32, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of requests a second, nor `off`"))
}

/// Plaid credentials and sync settings.
#[derive(Clone, Debug, Args)]
pub struct PlaidArgs {
    /// Plaid environment of the credentials.
    #[arg(long, env = "PLAID_ENV", value_enum, default_value_t = Environment::Sandbox)]
    pub plaid_env: Environment,

    /// Plaid client id; without it (and the secret) the item mutations are off.
    #[arg(long, env = "PLAID_CLIENT_ID")]
    pub plaid_client_id: Option<String>,

    /// Plaid secret for the environment.
    #[arg(long, env = "PLAID_SECRET", hide_env_values = true)]
    pub plaid_secret: Option<String>,

    /// Send Plaid calls here instead of the environment's URL (e.g. the simulator).
    #[arg(long, env = "PLAID_BASE_URL")]
    pub plaid_base_url: Option<String>,

    /// Public URL of this server's `/webhooks/plaid`, registered with new items.
    #[arg(long, env = "PLAID_WEBHOOK_URL")]
    pub plaid_webhook_url: Option<String>,

    /// Key that encrypts Plaid access tokens at rest: 32 bytes as 64 hex characters
    /// (`openssl rand -hex 32`).
    #[arg(long, env = "INVESTMENTS_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,

    /// Items synced at once by `refreshAll` and scheduled rounds.
    #[arg(long, env = "INVESTMENTS_SYNC_CONCURRENCY", default_value_t = 4)]
    pub sync_concurrency: usize,
}

impl PlaidArgs {
    /// The client configuration, when credentials are given.
    pub fn plaid_config(&self) -> Option<PlaidConfig> {
        let client_id = self.plaid_client_id.as_deref().filter(|s| !s.is_empty())?;
        let secret = self.plaid_secret.as_deref().filter(|s| !s.is_empty())?;
        let mut config = PlaidConfig::new(self.plaid_env, client_id, secret);
        if let Some(url) = &self.plaid_base_url {
            config.base_url = url.clone();
        }
        Some(config)
    }

    pub fn sync_options(&self, clock: crate::clock::Clock) -> SyncOptions {
        SyncOptions {
            clock,
            concurrency: self.sync_concurrency.max(1),
            webhook_url: self.plaid_webhook_url.clone(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub plaid: PlaidArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "INVESTMENTS_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// SQLite file of the demo (recreated at every start).
    #[arg(long, default_value = "investments-demo.db")]
    pub demo_database: PathBuf,

    /// Seed of the simulated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct PlaidSimArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8999)]
    pub port: u16,

    /// Same seed, same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Transactions of each new item.
    #[arg(long, default_value_t = 300)]
    pub transactions_per_item: usize,

    /// Client id the simulator accepts.
    #[arg(long, default_value = "simulator-client-id")]
    pub client_id: String,

    /// Secret the simulator accepts.
    #[arg(long, default_value = "simulator-secret")]
    pub secret: String,

    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// A scenario file (JSON): its institutions link scripted items, and the clock stands
    /// at noon of day 1 until moved with `POST /simulator/clock`.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
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

/// Sets up logging to stderr (stdout stays free for command output such as tokens). Text
/// lines are coloured only when stderr is a terminal and `NO_COLOR` is unset: a file,
/// pipe or log collector gets no escape codes.
pub fn init_logging(filter: &str, format: LogFormat) {
    let ansi = use_colour(&std::io::stderr(), std::env::var_os("NO_COLOR").as_deref());
    let builder = log_builder(filter, ansi, std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Colour codes only for a person at a terminal.
fn use_colour(stream: &impl IsTerminal, no_color: Option<&std::ffi::OsStr>) -> bool {
    stream.is_terminal() && no_color.is_none_or(|v| v.is_empty())
}

fn log_builder<W>(
    filter: &str,
    ansi: bool,
    writer: W,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::DefaultFields,
    tracing_subscriber::fmt::format::Format,
    tracing_subscriber::EnvFilter,
    W,
>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
}

/// Log output kept in memory, for tests of what the logs say.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct CapturedLogs(pub(crate) std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Captured = CapturedLogs;

    #[test]
    fn no_colour_codes_off_a_terminal() {
        let file = tempfile::tempfile().unwrap();
        assert!(!use_colour(&file, None));
        // What a non-terminal gets: plain text, fields and span included.
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = log_builder("info", false, move || sink.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "abc");
            let _entered = span.enter();
            tracing::warn!(code = "X", "plain");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("plain"), "{text}");
        assert!(text.contains("request_id=\"abc\""), "{text}");
        assert!(!text.contains('\x1b'), "escape codes in {text:?}");
    }

    #[test]
    fn rate_limit_is_on_by_default_and_can_be_turned_off() {
        let serve = |args: &[&str]| match Cli::parse_from(args).command {
            Command::Serve(serve) => serve.rate_limit(),
            _ => unreachable!(),
        };
        assert_eq!(serve(&["investments", "serve"]), Some(Default::default()));
        let limit = serve(&[
            "investments",
            "serve",
            "--rate-limit",
            "5",
            "--rate-limit-burst",
            "7",
        ])
        .unwrap();
        assert_eq!((limit.per_second.get(), limit.burst.get()), (5, 7));
        assert_eq!(
            serve(&["investments", "serve", "--rate-limit", "off"]),
            None
        );
        assert_eq!(serve(&["investments", "serve", "--rate-limit", "0"]), None);
        assert!(Cli::try_parse_from(["investments", "serve", "--rate-limit", "fast"]).is_err());
        assert!(Cli::try_parse_from(["investments", "serve", "--rate-limit-burst", "0"]).is_err());
    }

    #[test]
    fn the_graphql_deadline_defaults_to_ten_seconds_and_stays_under_the_http_timeout() {
        let deadline = |args: &[&str]| match Cli::try_parse_from(args) {
            Ok(Cli {
                command: Command::Serve(serve),
                ..
            }) => Ok(serve.graphql_deadline),
            Ok(_) => panic!("not serve"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(
            deadline(&["investments", "serve"]),
            Ok(Duration::from_secs(10))
        );
        assert_eq!(
            deadline(&["investments", "serve", "--graphql-deadline", "2500ms"]),
            Ok(Duration::from_millis(2500))
        );
        for refused in ["0s", "60s", "2m", "soon"] {
            assert!(
                deadline(&["investments", "serve", "--graphql-deadline", refused]).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn db_pool_default_covers_sync_concurrency() {
        let pool = |args: &[&str], concurrency| {
            let cli = Cli::parse_from(args);
            db_config(&cli.database_url, cli.db_pool, concurrency).max_connections
        };
        assert_eq!(pool(&["investments", "export-schema"], 4), 14);
        assert_eq!(pool(&["investments", "export-schema"], 1), 10);
        assert_eq!(pool(&["investments", "export-schema"], 16), 38);
        assert_eq!(
            pool(&["investments", "--db-pool", "3", "export-schema"], 16),
            3
        );
        assert!(Cli::try_parse_from(["investments", "--db-pool", "0", "export-schema"]).is_err());
    }
}

//! Prometheus metrics: every metric's name and labels, and one small function per thing
//! recorded. `GET /metrics` (in `http`) renders them; `docs/operations.md` lists them with
//! example queries.
//!
//! One recorder serves the whole process (installed once by [`install`]); recording before
//! it is installed, or in a process that never installs it (`investments sync`), does
//! nothing. Label values are bounded: fixed vocabularies, Plaid's endpoint paths, HTTP
//! statuses, error codes, and GraphQL operation names up to [`MAX_OPERATION_NAMES`].

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Sync runs, by `trigger` and `outcome` (`succeeded`, `failed`).
pub const SYNC_RUNS: &str = "investments_sync_runs_total";
/// Duration of sync runs, by `trigger` and `outcome`.
pub const SYNC_RUN_DURATION: &str = "investments_sync_run_duration_seconds";
/// Plaid HTTP calls (each attempt, retries included), by `endpoint` and `status`.
pub const PLAID_REQUESTS: &str = "investments_plaid_requests_total";
/// Latency of Plaid HTTP calls, by `endpoint`.
pub const PLAID_REQUEST_DURATION: &str = "investments_plaid_request_duration_seconds";
/// GraphQL requests, by `operation` and `code`.
pub const GRAPHQL_REQUESTS: &str = "investments_graphql_requests_total";
/// Latency of GraphQL requests, by `operation`.
pub const GRAPHQL_REQUEST_DURATION: &str = "investments_graphql_request_duration_seconds";
/// Analytics cache lookups, by `result` (`hit`, `miss`).
pub const ANALYTICS_CACHE_LOOKUPS: &str = "investments_analytics_cache_lookups_total";
/// Database pool connections, by `state` (`in_use`, `idle`); read at scrape time.
pub const DB_POOL_CONNECTIONS: &str = "investments_db_pool_connections";
/// The database pool's maximum size; read at scrape time.
pub const DB_POOL_MAX_CONNECTIONS: &str = "investments_db_pool_max_connections";

/// `code` of a GraphQL request without errors.
pub const CODE_OK: &str = "OK";
/// `operation` of a request whose operation is unknown: the document did not parse, the
/// named operation is not in it, or the request never reached the schema (no token).
pub const OPERATION_UNKNOWN: &str = "unknown";
/// `operation` of an unnamed operation.
pub const OPERATION_ANONYMOUS: &str = "anonymous";
/// `operation` of a named operation past the first [`MAX_OPERATION_NAMES`] names.
pub const OPERATION_OTHER: &str = "other";
/// Distinct operation names kept as label values; later ones count as `other`, so that
/// clients cannot grow the series without bound.
pub const MAX_OPERATION_NAMES: usize = 500;
/// Longer operation names count as `other`.
pub const MAX_OPERATION_NAME_LEN: usize = 100;

const SYNC_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
const PLAID_BUCKETS: &[f64] = &[
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0,
];
const GRAPHQL_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(SYNC_RUN_DURATION.into()), SYNC_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(PLAID_REQUEST_DURATION.into()),
                    PLAID_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(GRAPHQL_REQUEST_DURATION.into()),
                    GRAPHQL_BUCKETS,
                )
            })
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // Only when the binary is embedded next to another recorder: serve an empty
            // page rather than fail.
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

fn describe() {
    describe_counter!(SYNC_RUNS, "Sync runs by trigger and outcome.");
    describe_histogram!(
        SYNC_RUN_DURATION,
        metrics::Unit::Seconds,
        "Duration of sync runs (fetch and store) by trigger and outcome."
    );
    describe_counter!(
        PLAID_REQUESTS,
        "Plaid HTTP calls, each attempt, by endpoint and HTTP status (or timeout, transport)."
    );
    describe_histogram!(
        PLAID_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Latency of Plaid HTTP calls by endpoint."
    );
    describe_counter!(
        GRAPHQL_REQUESTS,
        "GraphQL requests by operation name and error code (OK without errors)."
    );
    describe_histogram!(
        GRAPHQL_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Latency of GraphQL requests by operation name."
    );
    describe_counter!(
        ANALYTICS_CACHE_LOOKUPS,
        "Analytics cache lookups by result (hit, miss)."
    );
}

/// The page of `GET /metrics`: every recorded series, then the pool gauges of `pool`
/// (read now, from this server's own pool).
pub fn render(pool: Option<crate::db::PoolStats>) -> String {
    let handle = install();
    handle.run_upkeep();
    let mut page = handle.render();
    if let Some(pool) = pool {
        page.push_str(&render_pool(&pool));
    }
    page
}

fn render_pool(pool: &crate::db::PoolStats) -> String {
    format!(
        "# HELP {DB_POOL_CONNECTIONS} Database pool connections by state.\n\
         # TYPE {DB_POOL_CONNECTIONS} gauge\n\
         {DB_POOL_CONNECTIONS}{{state=\"in_use\"}} {}\n\
         {DB_POOL_CONNECTIONS}{{state=\"idle\"}} {}\n\
         # HELP {DB_POOL_MAX_CONNECTIONS} Largest size of the database pool.\n\
         # TYPE {DB_POOL_MAX_CONNECTIONS} gauge\n\
         {DB_POOL_MAX_CONNECTIONS} {}\n",
        pool.in_use, pool.idle, pool.max
    )
}

/// A sync run ended after `elapsed`.
pub fn sync_run(trigger: crate::sync::Trigger, succeeded: bool, elapsed: Duration) {
    let outcome = if succeeded { "succeeded" } else { "failed" };
    let labels = [("trigger", trigger.as_str()), ("outcome", outcome)];
    counter!(SYNC_RUNS, &labels).increment(1);
    histogram!(SYNC_RUN_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// How a Plaid call ended, as its `status` label.
#[derive(Clone, Copy, Debug)]
pub enum PlaidStatus {
    Http(u16),
    Timeout,
    Transport,
}

/// A Plaid call to `endpoint` (`/item/get`) ended after `elapsed`.
pub fn plaid_request(endpoint: &'static str, status: PlaidStatus, elapsed: Duration) {
    let status = match status {
        PlaidStatus::Http(code) => code.to_string(),
        PlaidStatus::Timeout => "timeout".to_owned(),
        PlaidStatus::Transport => "transport".to_owned(),
    };
    counter!(PLAID_REQUESTS, "endpoint" => endpoint, "status" => status).increment(1);
    histogram!(PLAID_REQUEST_DURATION, "endpoint" => endpoint).record(elapsed.as_secs_f64());
}

static OPERATION_NAMES: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The `operation` label of an operation named `name`, within the name budget (and
/// [`MAX_OPERATION_NAME_LEN`]).
pub fn operation_label(name: &str) -> String {
    if name.len() > MAX_OPERATION_NAME_LEN {
        return OPERATION_OTHER.to_owned();
    }
    let mut names = OPERATION_NAMES.lock().expect("not poisoned");
    let names = names.get_or_insert_with(HashSet::new);
    if names.contains(name) {
        return name.to_owned();
    }
    if names.len() < MAX_OPERATION_NAMES {
        names.insert(name.to_owned());
        return name.to_owned();
    }
    OPERATION_OTHER.to_owned()
}

/// A GraphQL request ended after `elapsed`; `code` is its first error's
/// `extensions.code`, or [`CODE_OK`].
pub fn graphql_request(operation: String, code: &str, elapsed: Duration) {
    counter!(GRAPHQL_REQUESTS, "operation" => operation.clone(), "code" => code.to_owned())
        .increment(1);
    histogram!(GRAPHQL_REQUEST_DURATION, "operation" => operation).record(elapsed.as_secs_f64());
}

/// An analytics cache lookup found its value (`hit`) or had to compute it.
pub fn analytics_cache(hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    counter!(ANALYTICS_CACHE_LOOKUPS, "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        // Other tests of this process may have used a few names already.
        for i in 0..MAX_OPERATION_NAMES + 10 {
            let _ = operation_label(&format!("Bounded{i}"));
        }
        assert_eq!(operation_label("BeyondTheBudget"), OPERATION_OTHER);
        assert_eq!(operation_label("Bounded0"), "Bounded0");
    }

    #[test]
    fn pool_gauges_render_as_prometheus_text() {
        let text = render_pool(&crate::db::PoolStats {
            in_use: 2,
            idle: 3,
            max: 10,
        });
        assert!(text.contains("investments_db_pool_connections{state=\"in_use\"} 2\n"));
        assert!(text.contains("investments_db_pool_connections{state=\"idle\"} 3\n"));
        assert!(text.contains("investments_db_pool_max_connections 10\n"));
    }
}

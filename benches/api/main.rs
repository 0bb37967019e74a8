//! Load benchmark of the GraphQL API on a large deterministic dataset (see
//! `docs/performance.md`).
//!
//! `cargo bench --bench api` builds `BENCH_TRANSACTIONS` transactions (1,000,000) in
//! PostgreSQL when `BENCH_DATABASE_URL` is set, else in SQLite, starts the real server,
//! and drives each query shape with a closed-loop HTTP load generator at 1 and 16 clients
//! for `BENCH_SECONDS` (5) or `BENCH_MAX_REQUESTS` (100,000) each. Next to every figure it
//! prints the same statements sent raw through the driver (recorded from one request of
//! the shape), and the ratio: how far the API is from what its SQL costs.
//!
//! `cargo test` runs this target without `--bench`: a smoke run at a tiny size, on SQLite
//! and on PostgreSQL when `TEST_DATABASE_URL` is set, that checks every answer, so the
//! bench cannot rot.

#[path = "../common/mod.rs"]
mod common;
mod dataset;
mod load;
mod queries;
mod record;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use investments::db::unscoped::Unscoped;
use sea_orm::{DatabaseConnection, Statement};
use serde_json::Value;

use crate::dataset::Shape;
use crate::load::{Limits, Measurement, Operation};
use crate::queries::QueryShape;
use crate::record::{Recorded, Recorder};

/// What one run does.
struct Settings {
    shape: Shape,
    limits: Limits,
    clients: [usize; 2],
    /// Print the recorded statements of each shape.
    show_statements: bool,
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--bench") {
        let seconds: f64 = std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5.0);
        let settings = Settings {
            shape: Shape::full(common::env_or("BENCH_TRANSACTIONS", 1_000_000)),
            limits: Limits {
                duration: Duration::from_secs_f64(seconds),
                max_operations: common::env_or("BENCH_MAX_REQUESTS", 100_000),
            },
            clients: [1, 16],
            show_statements: true,
        };
        run(std::env::var("BENCH_DATABASE_URL").ok(), &settings).await;
    } else {
        let settings = Settings {
            shape: Shape::smoke(2_000),
            limits: Limits {
                duration: Duration::from_millis(100),
                max_operations: 200,
            },
            clients: [1, 16],
            show_statements: false,
        };
        run(None, &settings).await;
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            run(Some(url), &settings).await;
        }
    }
}

async fn run(database_url: Option<String>, settings: &Settings) {
    let bench_db = common::BenchDatabase::open_at(database_url).await;
    let mut conn = bench_db.conn.clone();
    let recorder = Recorder::install(&mut conn);

    println!(
        "\n{} CPUs, {}; load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        load_average()
    );
    let started = Instant::now();
    let dataset = dataset::build(&conn, settings.shape)
        .await
        .expect("dataset");
    let built_in = started.elapsed();
    println!(
        "{}: {} transactions, {} holdings, {} securities, {} accounts, {} items \
         built in {:.1} s ({:.0} transactions/s); RSS {} MiB",
        bench_db.label,
        settings.shape.transactions,
        dataset.holdings,
        settings.shape.securities,
        dataset.account_ids.len(),
        dataset.item_ids.len(),
        built_in.as_secs_f64(),
        settings.shape.transactions as f64 / built_in.as_secs_f64(),
        memory_kib("VmRSS") / 1024,
    );

    let (shallow, deep) = queries::type_pages(&dataset);
    let cursors = (
        queries::type_page_cursor(&conn, dataset.user_id, shallow).await,
        queries::type_page_cursor(&conn, dataset.user_id, deep).await,
    );
    let (address, token) = common::serve(
        &conn,
        &Unscoped::new(&conn).users().scope_of(dataset.user_id),
    )
    .await;
    let api = Api {
        client: reqwest::Client::new(),
        url: Arc::from(format!("http://{address}/graphql")),
        token: Arc::from(token),
    };
    check_cursors(&api, &conn, &dataset).await;

    println!(
        "{} s or {} requests per measurement; latencies in ms; raw = the request's \
         statements replayed through the driver",
        settings.limits.duration.as_secs_f64(),
        settings.limits.max_operations
    );
    let mut recorded = Vec::new();
    for shape in queries::shapes(&dataset, (&cursors.0, &cursors.1)) {
        if shape.cold {
            bump(&conn, dataset.user_id).await;
        }
        let (response, statements) = recorder.record(api.send(&shape.body)).await;
        queries::check(shape.check, &dataset, &response);
        assert!(
            !statements.is_empty(),
            "{}: no statements recorded",
            shape.label
        );
        for clients in settings.clients {
            let ours = load::closed_loop(
                clients,
                settings.limits,
                api.operation(&shape, &conn, dataset.user_id),
            )
            .await;
            let raw = load::closed_loop(
                clients,
                settings.limits,
                replay_operation(&conn, &statements),
            )
            .await;
            println!("{}", line(&shape.label, clients, &ours, &raw));
        }
        recorded.push((shape.label, statements));
    }
    println!("peak RSS (VmHWM) {} MiB", memory_kib("VmHWM") / 1024);
    if settings.show_statements {
        print_statements(&recorded);
    }
    bench_db.close().await;
}

/// The server's GraphQL endpoint and a read token.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    url: Arc<str>,
    token: Arc<str>,
}

impl Api {
    /// Sends `body` and returns the decoded answer.
    async fn send(&self, body: &Value) -> Value {
        self.client
            .post(&*self.url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// One request of `shape` as a load operation: the body serialized once, the answer
    /// read in full and refused when it carries errors (it was checked in full once).
    fn operation(&self, shape: &QueryShape, conn: &DatabaseConnection, user_id: i64) -> Operation {
        let api = self.clone();
        let body = serde_json::to_string(&shape.body).expect("body");
        let cold = shape.cold.then(|| conn.clone());
        Arc::new(move || {
            let api = api.clone();
            let body = body.clone();
            let cold = cold.clone();
            async move {
                if let Some(conn) = &cold {
                    bump(conn, user_id).await;
                }
                let started = Instant::now();
                let response = api
                    .client
                    .post(&*api.url)
                    .bearer_auth(&api.token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                let status = response.status();
                let bytes = response.bytes().await.expect("response body");
                let elapsed = started.elapsed();
                assert!(
                    status.is_success() && !contains(&bytes, b"\"errors\""),
                    "{status}: {}",
                    String::from_utf8_lossy(&bytes)
                );
                elapsed
            }
            .boxed()
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What a sync does to the analytics cache: the user's data version moves on.
async fn bump(conn: &DatabaseConnection, user_id: i64) {
    Unscoped::new(conn)
        .users()
        .bump_data_version(user_id)
        .await
        .expect("bump data version");
}

fn replay_operation(conn: &DatabaseConnection, recorded: &[Recorded]) -> Operation {
    let conn = conn.clone();
    let statements: Arc<[Statement]> = recorded.iter().map(|r| r.statement.clone()).collect();
    Arc::new(move || {
        let conn = conn.clone();
        let statements = statements.clone();
        async move { record::replay(&conn, &statements).await }.boxed()
    })
}

/// The cursors built from the database are the ones the server hands out: walking two
/// pages of Q4 ends on the cursor built for page 3.
async fn check_cursors(api: &Api, conn: &DatabaseConnection, dataset: &dataset::Dataset) {
    let mut after = Value::Null;
    for _ in 0..2 {
        let response = api
            .send(&serde_json::json!({
                "query": queries::TYPE_PAGE,
                "variables": { "after": after },
            }))
            .await;
        after = response["data"]["investmentTransactions"]["pageInfo"]["endCursor"].clone();
    }
    let built = queries::type_page_cursor(conn, dataset.user_id, 3).await;
    assert_eq!(after.as_str(), Some(built.as_str()), "cursor of page 3");
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// One result line: ours, raw, and how far apart they are.
fn line(label: &str, clients: usize, ours: &Measurement, raw: &Measurement) -> String {
    let (ours_p99, raw_p99) = (ours.percentile(99.0), raw.percentile(99.0));
    format!(
        "{label:<22} c={clients:<2} ours {:>7.0} req/s p50 {:>8.2} p99 {:>8.2} | \
         raw {:>7.0} tps p50 {:>8.2} p99 {:>8.2} | ratio {:.2} tput, p99 x{:.1}",
        ours.per_second(),
        ms(ours.percentile(50.0)),
        ms(ours_p99),
        raw.per_second(),
        ms(raw.percentile(50.0)),
        ms(raw_p99),
        ours.per_second() / raw.per_second(),
        ours_p99.as_secs_f64() / raw_p99.as_secs_f64().max(1e-9),
    )
}

/// Each shape's statements with their time in the recorded request (alone on the
/// server, so without queueing).
fn print_statements(recorded: &[(String, Vec<Recorded>)]) {
    println!("\nstatements per request, in the order they finished, with their time alone:");
    for (label, statements) in recorded {
        println!("{label} ({} statements)", statements.len());
        for r in statements {
            println!(
                "  {:>8.2} ms  {}",
                ms(r.elapsed),
                record::compact(&r.statement.sql)
            );
        }
    }
}

/// A `/proc/self/status` memory figure in KiB (0 where there is no procfs).
fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)?
                    .trim_start_matches(':')
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

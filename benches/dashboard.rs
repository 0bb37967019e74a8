//! The demo's dashboard query (totals, allocation, a year of weekly value, returns, income
//! by month) over HTTP, cold (first request after the data changed) and warm (cached), on
//! `BENCH_ITEMS` items (4 unless set) of `BENCH_TRANSACTIONS` transactions each (5,000)
//! with a year of daily snapshots, in PostgreSQL when `BENCH_DATABASE_URL` is set, else
//! SQLite.
//!
//! `cargo bench --bench dashboard`

mod common;

use std::time::{Duration, Instant};

use investments::db::unscoped::Unscoped;
use investments::demo::{DASHBOARD_QUERY, HISTORY_DAYS, backfill_history};

const COLD_RUNS: usize = 5;
const WARM_RUNS: usize = 50;

/// The dashboard's parts, each timed cold on its own.
const PARTS: [(&str, &str); 4] = [
    (
        "totals + bySecurityType",
        "{ portfolio { totals { marketValue } bySecurityType { marketValue weight } } }",
    ),
    (
        "valueHistory (a year, weekly)",
        "{ portfolio { valueHistory(interval: WEEK) { date marketValue } } }",
    ),
    (
        "returns (a year)",
        "{ portfolio { returns { timeWeightedReturn } } }",
    ),
    (
        "incomeAndCosts (a year)",
        "{ portfolio { incomeAndCosts { month dividends } } }",
    ),
];

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn timed_query(client: &reqwest::Client, url: &str, token: &str, query: &str) -> Duration {
    let started = Instant::now();
    let response: serde_json::Value = client
        .post(url)
        .bearer_auth(token)
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(response.get("errors").is_none(), "{response}");
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let items = common::env_or("BENCH_ITEMS", 4);
    let transactions = common::env_or("BENCH_TRANSACTIONS", 5_000);
    let bench_db = common::BenchDatabase::open().await;
    let conn = bench_db.conn.clone();
    let (_simulator, sync, owner) = common::plaid(&conn, transactions).await;
    let user_id = owner.user_id();
    for i in 0..items {
        let institution = investments::demo::DEMO_INSTITUTIONS[i % 2];
        let linked = sync
            .sandbox_link(&owner, institution, None)
            .await
            .expect("link");
        assert!(linked.error.is_none(), "sync failed");
    }
    backfill_history(&conn, user_id, 42, HISTORY_DAYS)
        .await
        .expect("history");
    let (address, token) = common::serve(&conn, &owner).await;
    let client = reqwest::Client::new();
    let url = format!("http://{address}/graphql");
    let dashboard = |query: &'static str| timed_query(&client, &url, &token, query);

    let mut cold = Vec::new();
    for _ in 0..COLD_RUNS {
        // What a sync does to the cache: the user's data version moves on.
        Unscoped::new(&conn)
            .users()
            .bump_data_version(user_id)
            .await
            .expect("bump");
        cold.push(dashboard(DASHBOARD_QUERY).await);
    }
    let mut warm = Vec::new();
    for _ in 0..WARM_RUNS {
        warm.push(dashboard(DASHBOARD_QUERY).await);
    }
    let mut parts = Vec::new();
    for (name, query) in PARTS {
        let mut samples = Vec::new();
        for _ in 0..COLD_RUNS {
            Unscoped::new(&conn)
                .users()
                .bump_data_version(user_id)
                .await
                .expect("bump");
            samples.push(dashboard(query).await);
        }
        parts.push((name, median(samples)));
    }
    let (cold, warm) = (median(cold), median(warm));
    println!(
        "dashboard query over HTTP, {}, {items} items x {transactions} transactions, {HISTORY_DAYS} days of snapshots:",
        bench_db.label
    );
    println!(
        "  cold (after a sync), median of {COLD_RUNS}: {:>8.2} ms",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "  warm (cached), median of {WARM_RUNS}:      {:>8.2} ms",
        warm.as_secs_f64() * 1e3
    );
    println!(
        "  cold / warm: {:.0}x",
        cold.as_secs_f64() / warm.as_secs_f64()
    );
    for (name, time) in parts {
        println!("    cold, {name:<36} {:>8.2} ms", time.as_secs_f64() * 1e3);
    }
    bench_db.close().await;
}

//! CSV export throughput and memory: `BENCH_TRANSACTIONS` transactions (100,000 unless
//! set) synced from the simulator, then `GET /export/investment_transactions.csv` read to
//! the end over loopback. Memory is the process's peak resident size during the export
//! (Linux: the peak is reset through `/proc/self/clear_refs` before it starts), to show
//! the rows are streamed, not held. PostgreSQL when `BENCH_DATABASE_URL` is set.
//!
//! `cargo bench --bench export`

mod common;

use std::sync::Arc;
use std::time::Instant;

use investments::auth::{self, Scope};
use investments::crypto::TokenCipher;
use investments::db;
use investments::http::{self, AppState, HttpOptions};
use investments::plaid::client::PlaidClient;
use investments::plaid::simulator::{Simulator, SimulatorConfig};
use investments::sync::{SyncOptions, SyncService};

/// A field of `/proc/self/status` in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() {
    let transactions: usize = std::env::var("BENCH_TRANSACTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let simulator = Simulator::start(SimulatorConfig {
        transactions_per_item: transactions,
        ..Default::default()
    })
    .await
    .expect("simulator");
    let bench_db = common::BenchDatabase::open().await;
    let conn = bench_db.conn.clone();
    let sync = SyncService::new(
        conn.clone(),
        Arc::new(PlaidClient::new(simulator.client_config()).expect("client")),
        Arc::new(TokenCipher::ephemeral()),
        SyncOptions::default(),
    );
    let user = db::users::find_or_create(&conn, "bench")
        .await
        .expect("user");
    let linked = sync
        .sandbox_link(user.id, "ins_109508")
        .await
        .expect("link");
    assert!(linked.error.is_none(), "sync failed");
    let token = auth::issue_token(&conn, user.id, "bench", Scope::Read)
        .await
        .expect("token")
        .token;
    let router = http::router(AppState::new(conn.clone(), None), &HttpOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });

    let before = status_kib("VmRSS:");
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(format!(
            "http://{address}/export/investment_transactions.csv"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success());
    let mut response = response;
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let elapsed = started.elapsed();
    let rows = lines - 1;
    assert!(
        rows >= transactions,
        "{rows} rows for {transactions} transactions"
    );

    println!(
        "CSV export of {rows} transactions, {}, over loopback:",
        bench_db.label
    );
    println!(
        "  {:.2} s, {:.0} rows/s, {:.1} MiB",
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    match (peak_reset, before, status_kib("VmHWM:")) {
        (true, Some(before), Some(peak)) => println!(
            "  peak resident memory during the export: {:.1} MiB above the {:.1} MiB before it (the body is {:.1} MiB)",
            peak.saturating_sub(before) as f64 / 1024.0,
            before as f64 / 1024.0,
            bytes as f64 / (1024.0 * 1024.0)
        ),
        _ => println!("  (peak memory not measured: needs Linux /proc/self/clear_refs)"),
    }
    bench_db.close().await;
}

//! CSV export throughput and memory: `BENCH_TRANSACTIONS` transactions (100,000 unless
//! set) synced from the simulator, then `GET /export/investment_transactions.csv` read to
//! the end over loopback. Memory is the process's peak resident size during the export
//! (Linux: the peak is reset through `/proc/self/clear_refs` before it starts), to show
//! the rows are streamed, not held. PostgreSQL when `BENCH_DATABASE_URL` is set.
//!
//! `cargo bench --bench export`

mod common;

use std::time::Instant;

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
    let transactions = common::env_or("BENCH_TRANSACTIONS", 100_000);
    let bench_db = common::BenchDatabase::open().await;
    let (_simulator, sync, owner) = common::plaid(&bench_db.conn, transactions).await;
    let linked = sync
        .sandbox_link(&owner, "ins_109508", None)
        .await
        .expect("link");
    assert!(linked.error.is_none(), "sync failed");
    let (address, token) = common::serve(&bench_db.conn, &owner).await;

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

//! Sync throughput: one item with N transactions (100,000 unless `BENCH_TRANSACTIONS`),
//! linked and synced from the simulator over loopback, into PostgreSQL when
//! `BENCH_DATABASE_URL` is set (a fresh schema there), else a temporary SQLite file.
//!
//! `cargo bench --bench sync`

mod common;

use std::time::{Duration, Instant};

use investments::sync::Trigger;

#[tokio::main]
async fn main() {
    let transactions = common::env_or("BENCH_TRANSACTIONS", 100_000);
    let bench_db = common::BenchDatabase::open().await;
    let label = bench_db.label;
    let (_simulator, sync, user_id) = common::plaid(&bench_db.conn, transactions).await;

    let started = Instant::now();
    let linked = sync
        .sandbox_link(user_id, "ins_109508", None)
        .await
        .expect("link");
    let first = started.elapsed();
    assert!(linked.error.is_none(), "first sync failed");
    let run = linked.run.expect("run");
    assert_eq!(run.transactions_upserted as usize, transactions);

    let item = linked.item;
    let started = Instant::now();
    let incremental = sync
        .sync_item(item.clone(), Trigger::Manual, None, None)
        .await;
    let second = started.elapsed();
    assert!(incremental.error.is_none());

    let two_years_ago = chrono::Utc::now().date_naive() - chrono::Days::new(730);
    let started = Instant::now();
    let full = sync
        .sync_item(item, Trigger::Manual, Some(two_years_ago), None)
        .await;
    let third = started.elapsed();
    assert!(full.error.is_none());

    let per_second = |d: Duration, n: usize| n as f64 / d.as_secs_f64();
    println!("sync of one item, {transactions} transactions, {label}, simulator over loopback:");
    println!(
        "  first sync (link, 24 months):   {:>8.2} s  ({:.0} transactions/s)",
        first.as_secs_f64(),
        per_second(first, transactions)
    );
    println!(
        "  next sync (30-day overlap):     {:>8.2} s  ({} transactions in the window)",
        second.as_secs_f64(),
        incremental
            .run
            .as_ref()
            .map(|r| r.transactions_upserted)
            .unwrap_or(0)
    );
    println!(
        "  full re-sync (all unchanged):   {:>8.2} s  ({:.0} transactions/s)",
        third.as_secs_f64(),
        per_second(third, transactions)
    );
    bench_db.close().await;
}

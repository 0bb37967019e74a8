//! Sync throughput and memory: one item with N transactions (100,000 unless
//! `BENCH_TRANSACTIONS`), linked and synced from the simulator over loopback, into
//! PostgreSQL when `BENCH_DATABASE_URL` is set (a fresh schema there), else a temporary
//! SQLite file. With `BENCH_ITEMS` above 1, that many items of `BENCH_TRANSACTIONS` each
//! are linked, then synced again by `refresh_all` with the default concurrency (the
//! `refreshAll` mutation's path).
//!
//! Every run ends with the process's peak RSS (`VmHWM`) and its RSS once the syncs are over
//! (`VmRSS`), from `/proc/self/status` (Linux only).
//!
//! `cargo bench --bench sync`
//! `BENCH_TRANSACTIONS=1000000 cargo bench --bench sync`
//! `BENCH_ITEMS=1000 BENCH_TRANSACTIONS=300 cargo bench --bench sync`

mod common;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use investments::db::scope::UserScope;
use investments::sync::{SyncOptions, SyncService, Trigger};

#[tokio::main]
async fn main() {
    let items = common::env_or("BENCH_ITEMS", 1);
    let transactions = common::env_or("BENCH_TRANSACTIONS", 100_000);
    let bench_db = common::BenchDatabase::open().await;
    let label = bench_db.label;
    let (_simulator, sync, owner) = common::plaid(&bench_db.conn, transactions).await;

    if items > 1 {
        refresh_all(&sync, &owner, items, transactions, label).await;
    } else {
        one_item(&sync, &owner, transactions, label).await;
    }
    print_memory();
    bench_db.close().await;
}

async fn one_item(sync: &SyncService, owner: &UserScope, transactions: usize, label: &str) {
    let started = Instant::now();
    let linked = sync
        .sandbox_link(owner, "ins_109508", None)
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
}

/// Links `items` items (as many at once as a refresh runs), then times `refresh_all`.
async fn refresh_all(
    sync: &SyncService,
    owner: &UserScope,
    items: usize,
    transactions: usize,
    label: &str,
) {
    let concurrency = SyncOptions::default().concurrency;
    let started = Instant::now();
    futures_util::stream::iter(0..items)
        .map(|_| async {
            let linked = sync
                .sandbox_link(owner, "ins_109508", None)
                .await
                .expect("link");
            assert!(linked.error.is_none(), "first sync failed");
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    let linking = started.elapsed();

    let started = Instant::now();
    let outcomes = sync
        .refresh_all(Some(owner), Trigger::Manual, None, None, None)
        .await
        .expect("refresh all");
    let refresh = started.elapsed();
    assert_eq!(outcomes.len(), items);
    assert!(outcomes.iter().all(|o| o.error.is_none()), "a sync failed");

    println!(
        "refresh of {items} items, {transactions} transactions each, {label}, concurrency {concurrency}, simulator over loopback:"
    );
    println!(
        "  linking (first syncs):          {:>8.2} s  ({:.1} items/s)",
        linking.as_secs_f64(),
        items as f64 / linking.as_secs_f64()
    );
    println!(
        "  refresh_all (30-day overlap):   {:>8.2} s  ({:.1} items/s)",
        refresh.as_secs_f64(),
        items as f64 / refresh.as_secs_f64()
    );
}

/// Peak and current RSS of the process, once the syncs are over.
fn print_memory() {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    println!("  peak RSS (VmHWM):               {:>11}", field("VmHWM:"));
    println!("  RSS when idle after (VmRSS):    {:>11}", field("VmRSS:"));
}

//! A closed-loop load generator: `clients` tasks, each starting its next operation when
//! the previous one finished, until a time limit or a total operation count is reached.
//!
//! Closed loop (rather than a fixed arrival rate) measures what the server sustains at a
//! given concurrency, and never queues more work than `clients` operations at a time, so
//! a slow query cannot snowball into minutes of backlog.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

/// One operation: returns the time to count as its latency (usually all of it; a cold
/// request leaves out the write that made it cold).
pub type Operation = Arc<dyn Fn() -> BoxFuture<'static, Duration> + Send + Sync>;

/// When a measurement stops: whichever limit comes first.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub duration: Duration,
    pub max_operations: usize,
}

/// The outcome of one measurement.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
}

impl Measurement {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile (0..=100) latency, nearest rank.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Runs `operation` in a closed loop from `clients` tasks within `limits`.
pub async fn closed_loop(clients: usize, limits: Limits, operation: Operation) -> Measurement {
    let started = Instant::now();
    let issued = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let operation = operation.clone();
            let issued = issued.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while started.elapsed() < limits.duration
                    && issued.fetch_add(1, Ordering::Relaxed) < limits.max_operations
                {
                    latencies.push(operation().await);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("load task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Measurement { elapsed, latencies }
}

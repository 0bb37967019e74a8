//! The statements a request runs, recorded from the server's own connection, and their
//! raw replay through the driver.
//!
//! The server and the bench share one `DatabaseConnection` (clones share its pool and its
//! metric callback). The callback installed here keeps every statement executed while
//! recording is on; the bench turns it on around one request at a time, so what it keeps
//! is exactly that request's SQL with its bound values. Replaying those statements in the
//! same order, with nothing around them (no HTTP, no GraphQL, no decoding into models),
//! is the floor of what the request can cost on that database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

#[derive(Default)]
pub struct Recorder {
    on: AtomicBool,
    statements: Mutex<Vec<Statement>>,
}

impl Recorder {
    /// Installs the recorder on `conn`; clone `conn` only after this, so the clones (the
    /// server's) carry the callback.
    pub fn install(conn: &mut DatabaseConnection) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder::default());
        let hook = recorder.clone();
        conn.set_metric_callback(move |info| {
            if hook.on.load(Ordering::Relaxed) {
                hook.statements
                    .lock()
                    .expect("not poisoned")
                    .push(info.statement.clone());
            }
        });
        recorder
    }

    /// Runs `work` with recording on and returns its output and the statements it ran,
    /// in the order they finished. Nothing else may use the connection meanwhile.
    pub async fn record<T>(&self, work: impl Future<Output = T>) -> (T, Vec<Statement>) {
        self.statements.lock().expect("not poisoned").clear();
        self.on.store(true, Ordering::SeqCst);
        let output = work.await;
        self.on.store(false, Ordering::SeqCst);
        let statements = std::mem::take(&mut *self.statements.lock().expect("not poisoned"));
        (output, statements)
    }
}

/// Runs `statements` one after the other, reading every row; returns the time taken.
pub async fn replay(conn: &DatabaseConnection, statements: &[Statement]) -> Duration {
    let started = Instant::now();
    for statement in statements {
        conn.query_all_raw(statement.clone())
            .await
            .unwrap_or_else(|e| panic!("replaying {}: {e}", statement.sql));
    }
    started.elapsed()
}

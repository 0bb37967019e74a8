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

/// A statement a request ran, and how long it took inside the driver (rows read).
#[derive(Clone, Debug)]
pub struct Recorded {
    pub statement: Statement,
    pub elapsed: Duration,
}

#[derive(Default)]
pub struct Recorder {
    on: AtomicBool,
    statements: Mutex<Vec<Recorded>>,
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
                    .push(Recorded {
                        statement: info.statement.clone(),
                        elapsed: info.elapsed,
                    });
            }
        });
        recorder
    }

    /// Runs `work` with recording on and returns its output and the statements it ran,
    /// in the order they finished. Nothing else may use the connection meanwhile.
    pub async fn record<T>(&self, work: impl Future<Output = T>) -> (T, Vec<Recorded>) {
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

/// `sql` shortened for reading: a run of plain columns of one table becomes
/// `"table".<N columns>`, and a list of four or more placeholders (`?` or `$n`) becomes `(<N values>)`.
pub fn compact(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    // Column lists: between `SELECT ` and the next ` FROM `.
    while let Some(start) = rest.find("SELECT ") {
        let (head, tail) = rest.split_at(start + "SELECT ".len());
        out.push_str(head);
        let Some(end) = tail.find(" FROM ") else {
            rest = tail;
            break;
        };
        out.push_str(&compact_columns(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    compact_placeholders(&out)
}

fn plain_column(item: &str) -> Option<&str> {
    let (table, column) = item.split_once("\".\"")?;
    let ok = table.starts_with('"') && column.ends_with('"') && !column.contains(' ');
    ok.then_some(&table[1..])
}

fn compact_columns(list: &str) -> String {
    let items: Vec<&str> = list.split(", ").collect();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let table = plain_column(items[i]);
        let run = items[i..]
            .iter()
            .take_while(|item| table.is_some() && plain_column(item) == table)
            .count();
        if run >= 4 {
            parts.push(format!("\"{}\".<{run} columns>", table.unwrap_or_default()));
            i += run;
        } else {
            parts.push(items[i].to_owned());
            i += 1;
        }
    }
    parts.join(", ")
}

fn placeholder(item: &str) -> bool {
    item == "?"
        || item
            .strip_prefix('$')
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

fn compact_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(open) = rest.find('(') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(')') else {
            continue;
        };
        let items: Vec<&str> = rest[..close].split(", ").collect();
        if items.len() >= 4 && items.iter().all(|i| placeholder(i)) {
            out.push_str(&format!("<{} values>", items.len()));
            rest = &rest[close..];
        }
    }
    out.push_str(rest);
    out
}

//! Computed analytics, kept per (user, data version, query) so that repeated dashboard
//! queries do not recompute. The data version (`users.data_version`) is bumped in the same
//! transaction as every change to the user's synced data, so an entry can never outlive
//! the data it was computed from, on any replica; old versions age out of the LRU.

use std::any::Any;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lru::LruCache;

type Entry = Arc<dyn Any + Send + Sync>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub user_id: i64,
    pub data_version: i64,
    /// The figure and its arguments, e.g. `allocation AccountScope { .. }`.
    pub query: String,
}

pub struct AnalyticsCache {
    entries: Mutex<LruCache<CacheKey, Entry>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl AnalyticsCache {
    pub fn new(capacity: usize) -> Self {
        AnalyticsCache {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn get<T: Send + Sync + 'static>(&self, key: &CacheKey) -> Option<Arc<T>> {
        let found = self
            .entries
            .lock()
            .expect("not poisoned")
            .get(key)
            .cloned()
            .and_then(|entry| entry.downcast::<T>().ok());
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub fn put<T: Send + Sync + 'static>(&self, key: CacheKey, value: Arc<T>) {
        self.entries.lock().expect("not poisoned").put(key, value);
    }

    /// (hits, misses) since start, for logs and benchmarks.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

impl Default for AnalyticsCache {
    fn default() -> Self {
        AnalyticsCache::new(1024)
    }
}

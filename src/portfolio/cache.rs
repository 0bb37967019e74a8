//! Computed analytics, kept per (user, data version, query) so that repeated dashboard
//! queries do not recompute. The data version (`users.data_version`) is bumped in the same
//! transaction as every change to the user's synced data, so an entry can never outlive
//! the data it was computed from, on any replica; old versions age out of the LRU.

use std::any::Any;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use tokio::sync::OnceCell;

use crate::error::ApiResult;

type Value = Arc<dyn Any + Send + Sync>;
/// Filled once; concurrent readers of an entry being computed wait for it instead of
/// computing it again (a dashboard's fields resolve concurrently and share inputs).
type Entry = Arc<OnceCell<Value>>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub user_id: i64,
    pub data_version: i64,
    /// The figure and its arguments, e.g. `allocation AccountScope { .. }`.
    pub query: String,
}

pub struct AnalyticsCache {
    entries: Mutex<LruCache<CacheKey, Entry>>,
}

impl AnalyticsCache {
    pub fn new(capacity: usize) -> Self {
        AnalyticsCache {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The value under `key`, computed by `compute` if no one has yet (a failed
    /// computation is not kept: the next caller tries again). A lookup that computed counts
    /// as a miss, one that found the value (or waited for another caller's) as a hit.
    pub async fn get_or_compute<T, F>(&self, key: CacheKey, compute: F) -> ApiResult<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: Future<Output = ApiResult<T>>,
    {
        let cell = self
            .entries
            .lock()
            .expect("not poisoned")
            .get_or_insert(key, Entry::default)
            .clone();
        let mut computed = false;
        let value = cell
            .get_or_try_init(|| async {
                computed = true;
                ApiResult::<Value>::Ok(Arc::new(compute.await?))
            })
            .await
            .cloned();
        crate::metrics::analytics_cache(!computed);
        let value = value?;
        Ok(value
            .downcast::<T>()
            .expect("a cache key names one type of value"))
    }
}

impl Default for AnalyticsCache {
    fn default() -> Self {
        AnalyticsCache::new(1024)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error::ApiError;

    fn key(query: &str) -> CacheKey {
        CacheKey {
            user_id: 1,
            data_version: 1,
            query: query.to_owned(),
        }
    }

    #[tokio::test]
    async fn concurrent_readers_compute_once() {
        let cache = AnalyticsCache::new(8);
        let computed = AtomicUsize::new(0);
        let (release, released) = tokio::sync::watch::channel(false);
        let compute = || {
            let mut released = released.clone();
            let computed = &computed;
            async move {
                computed.fetch_add(1, Ordering::SeqCst);
                released.wait_for(|r| *r).await.expect("sender alive");
                ApiResult::Ok(42u32)
            }
        };
        let (a, b, ()) = tokio::join!(
            cache.get_or_compute(key("x"), compute()),
            cache.get_or_compute(key("x"), compute()),
            async { release.send(true).expect("receivers alive") },
        );
        assert_eq!((*a.unwrap(), *b.unwrap()), (42, 42));
        assert_eq!(computed.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failure_is_not_kept() {
        let cache = AnalyticsCache::new(8);
        let failed = cache
            .get_or_compute::<u32, _>(key("y"), async {
                Err(ApiError::internal("test", "failed"))
            })
            .await;
        assert!(failed.is_err());
        let value = cache
            .get_or_compute(key("y"), async { ApiResult::Ok(7u32) })
            .await
            .unwrap();
        assert_eq!(*value, 7);
    }
}

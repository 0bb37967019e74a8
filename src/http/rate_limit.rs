//! Per-token fairness: each API token may send so many requests a second, with bursts, so
//! that one runaway script or leaked token cannot starve the others. Checked once per
//! request, after the token is known ([`super::auth::viewer`]); a request without a valid
//! token is refused before it is counted, so it is counted against no one.

use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};

/// Requests a second a token may send, sustained (`INVESTMENTS_RATE_LIMIT`).
pub const DEFAULT_PER_SECOND: u32 = 20;
/// Requests a token may send at once before the rate applies (`INVESTMENTS_RATE_LIMIT_BURST`).
pub const DEFAULT_BURST: NonZeroU32 = NonZeroU32::new(100).expect("non-zero");

/// A rate per token: `burst` requests at once, then `per_second` sustained (GCRA: one
/// request's allowance comes back every `1 / per_second` seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    /// 20 a second with bursts of 100: a dashboard opening sends about ten requests at
    /// once and a person at GraphiQL a few a minute, so neither meets it; a script paging
    /// 500 rows a request still reads 10,000 rows a second.
    fn default() -> Self {
        RateLimit {
            per_second: NonZeroU32::new(DEFAULT_PER_SECOND).expect("non-zero"),
            burst: DEFAULT_BURST,
        }
    }
}

/// Checks examined between two sweeps of tokens that have been quiet long enough to be
/// back at a full burst (so the state holds only recently active tokens).
const SWEEP_EVERY: u64 = 1024;

/// The limiter of every token, on the app's clock (tests move a manual one).
pub struct TokenLimiter {
    limiter: RateLimiter<i64, DefaultKeyedStateStore<i64>, Clock, NoOpMiddleware<Nanos>>,
    checks: AtomicU64,
}

impl TokenLimiter {
    pub fn new(limit: RateLimit, clock: Clock) -> Self {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        TokenLimiter {
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request of `token_id`; `RATE_LIMITED`, with the wait, when it is over.
    pub fn check(&self, token_id: i64) -> ApiResult<()> {
        let outcome = self.limiter.check_key(&token_id);
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        outcome.map_err(|not_until| ApiError::RateLimited {
            retry_after: not_until.wait_time_from(GovernorClock::now(self.limiter.clock())),
        })
    }

    /// Tokens the limiter holds state for.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

/// governor reads the app's clock: a manual clock's time as it is set, the system clock
/// through a monotonic instant (a wall-clock step must not refill or drain a bucket).
impl GovernorClock for Clock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        if self.is_manual() {
            let since_epoch = Clock::now(self).timestamp_nanos_opt().unwrap_or(0);
            return Nanos::from(u64::try_from(since_epoch).unwrap_or(0));
        }
        static START: OnceLock<Instant> = OnceLock::new();
        Nanos::from(START.get_or_init(Instant::now).elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    #[test]
    fn quiet_tokens_are_swept() {
        let clock = Clock::manual(chrono::Utc::now());
        let limiter = TokenLimiter::new(limit(10, 1), clock.clone());
        for token in 0..SWEEP_EVERY as i64 - 1 {
            limiter.check(token).unwrap();
        }
        assert_eq!(limiter.tracked(), SWEEP_EVERY as usize - 1);
        // At 10/s a request's allowance comes back after 100 ms; a token is forgotten once
        // it has been back for another interval: 200 ms after its request.
        clock.set(clock.now() + chrono::Duration::milliseconds(200));
        limiter.check(-1).unwrap();
        assert_eq!(limiter.tracked(), 1, "only the token just seen is kept");
    }
}

//! The one assembly of the server, from a database connection to a router: `serve`, the
//! demo, the tests and the benchmarks all build it here, so that what they run is the
//! same app (schema, limits, token cache, HTTP layers).

use std::time::Duration;

use axum::Router;
use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::graphql::Limits;
use crate::http::{self, AppState, HttpOptions};
use crate::sync::SyncService;

/// What an app is made of; each part has the default `serve` would use without flags,
/// except Plaid (none) and the rate limit (off unless [`AppBuilder::http`] sets it).
pub struct AppBuilder {
    db: DatabaseConnection,
    clock: Clock,
    sync: Option<SyncService>,
    limits: Limits,
    token_cache_ttl: Option<Duration>,
    http: HttpOptions,
}

impl AppBuilder {
    pub fn new(db: DatabaseConnection) -> Self {
        AppBuilder {
            db,
            clock: Clock::default(),
            sync: None,
            limits: Limits::default(),
            token_cache_ttl: None,
            http: HttpOptions::default(),
        }
    }

    /// Every "now" and "today" the API reads (the simulator's clock in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The sync engine; without one the item mutations answer `PLAID_UNAVAILABLE`.
    pub fn sync(mut self, sync: Option<SyncService>) -> Self {
        self.sync = sync;
        self
    }

    /// The GraphQL deadline and cost limit.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How long a verified token is trusted; default 5 s.
    pub fn token_cache_ttl(mut self, ttl: Duration) -> Self {
        self.token_cache_ttl = Some(ttl);
        self
    }

    /// CORS, timeouts, rate limit, persisted-only manifest, metrics token.
    pub fn http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// The shared state the handlers see.
    pub fn state(&self) -> AppState {
        let mut state = AppState::new(
            self.db.clone(),
            self.sync.clone(),
            self.clock.clone(),
            &self.limits,
        );
        if let Some(ttl) = self.token_cache_ttl {
            state.tokens = crate::auth::TokenCache::new(ttl);
        }
        state
    }

    /// The router of the whole HTTP API.
    pub fn router(self) -> Router {
        http::router(self.state(), &self.http)
    }
}

//! `investments`: a GraphQL API over brokerage and retirement accounts linked through Plaid.
//!
//! Layers, top down: `http` (axum router, auth, health) -> `graphql` (schema, types,
//! loaders) -> services (`portfolio`, `auth`) -> `db` (queries, entities) -> SQLite or
//! PostgreSQL.

pub mod auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod exact;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod plaid;
pub mod portfolio;
pub mod sync;
pub mod vocabulary;

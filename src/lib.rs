//! `investments`: a GraphQL API over brokerage and retirement accounts linked through Plaid.
//!
//! Layers, top down (see `docs/architecture.md`): `http` (router, GraphQL over HTTP,
//! CSV export, webhooks, metrics) -> `graphql` (schema, types, inputs, loaders, cost) ->
//! services (`portfolio` figures, `auth` tokens, `sync` from Plaid) -> `db` (entities,
//! queries) -> SQLite or PostgreSQL. `plaid` (client, wire types, simulator) sits under
//! `sync`; `domain` holds the filters, sort keys and page requests `graphql`, the export
//! and `db` share; `error` is the one error type every layer returns, with no transport
//! in it.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod exact;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod plaid;
pub mod portfolio;
pub mod sync;
pub mod vocabulary;

//! Integration tests: real HTTP against the real router, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL.

mod common;
mod concurrency;
mod fixtures;
mod plaid_support;

mod analytics;
mod auth;
mod bounds;
mod cli;
mod clients;
mod cors;
mod cost;
mod decimals;
mod export;
mod fairness;
mod faults;
mod filters;
mod graphql_over_http;
mod isolation;
mod loaders;
mod metrics;
mod over_http;
mod pagination;
mod portfolio;
mod replicas;
mod returns;
mod scenarios;
mod schema;
mod secrets;
mod seek;
mod simulator;
mod subscriptions;
mod supervisor;
mod sync;
mod webhooks;

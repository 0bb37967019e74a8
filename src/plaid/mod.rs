//! Plaid: the wire format, the HTTP client, its errors, and a simulator that speaks the
//! same wire format for tests and the offline demo.

pub mod client;
pub mod error;
pub mod simulator;
pub mod types;

//! GraphQL object types. Each wraps a row of the data layer (never derives on the ORM
//! model itself), so the API's shape is chosen here, field by field.

mod account;
mod api_token;
mod holding;
mod item;
mod node;
pub(crate) mod portfolio;
mod security;
mod summary;
mod sync_run;
mod transaction;
mod user;

pub use account::Account;
pub use api_token::{ApiToken, TokenScope};
pub use holding::Holding;
pub use item::{ItemStatus, PlaidItem};
pub use node::Node;
pub use portfolio::Portfolio;
pub use security::Security;
pub use summary::TransactionSummaryRow;
pub use sync_run::SyncRun;
pub use transaction::InvestmentTransaction;
pub use user::User;

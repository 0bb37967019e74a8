use async_graphql::{ID, Interface};

use super::{
    Account, ApiToken, Holding, InvestmentTransaction, PlaidItem, Security, SyncRun, User,
};

/// An object with a global id, which `Query.node(id:)` resolves.
#[derive(Interface)]
#[allow(clippy::large_enum_variant)] // one short-lived value per `node(id:)` call
#[graphql(field(name = "id", ty = "ID", desc = "Global, opaque id of the object."))]
pub enum Node {
    User(User),
    ApiToken(ApiToken),
    PlaidItem(PlaidItem),
    Account(Account),
    Security(Security),
    Holding(Holding),
    InvestmentTransaction(InvestmentTransaction),
    SyncRun(SyncRun),
}

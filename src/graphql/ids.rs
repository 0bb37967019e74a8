//! Global object ids: opaque, stable, and resolvable by `node(id:)`.
//!
//! An id is base64url of `<Type>:<row id>`. Clients must treat it as opaque; the server
//! checks the type of every id it is given, so an account id passed as a security id is a
//! `BAD_USER_INPUT`, not a silent miss.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    User,
    ApiToken,
    PlaidItem,
    Account,
    Security,
    Holding,
    InvestmentTransaction,
    SyncRun,
}

const KINDS: [NodeKind; 8] = [
    NodeKind::User,
    NodeKind::ApiToken,
    NodeKind::PlaidItem,
    NodeKind::Account,
    NodeKind::Security,
    NodeKind::Holding,
    NodeKind::InvestmentTransaction,
    NodeKind::SyncRun,
];

impl NodeKind {
    /// The GraphQL type name.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::User => "User",
            NodeKind::ApiToken => "ApiToken",
            NodeKind::PlaidItem => "PlaidItem",
            NodeKind::Account => "Account",
            NodeKind::Security => "Security",
            NodeKind::Holding => "Holding",
            NodeKind::InvestmentTransaction => "InvestmentTransaction",
            NodeKind::SyncRun => "SyncRun",
        }
    }
}

pub fn encode(kind: NodeKind, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// The kind and row id of a global id, or `BAD_USER_INPUT` if it is not one of ours.
pub fn decode(id: &ID) -> ApiResult<(NodeKind, i64)> {
    let invalid = || ApiError::bad_input(format!("{:?} is not a valid id", id.as_str()));
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (name, row) = text.split_once(':').ok_or_else(invalid)?;
    let kind = KINDS
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(invalid)?;
    let row = row.parse::<i64>().map_err(|_| invalid())?;
    Ok((kind, row))
}

/// The row id of `id`, which must be a `kind` id.
pub fn decode_as(kind: NodeKind, id: &ID, argument: &str) -> ApiResult<i64> {
    match decode(id)? {
        (k, row) if k == kind => Ok(row),
        (k, _) => Err(ApiError::bad_input(format!(
            "`{argument}` expects {} ids; {:?} is a {} id",
            kind.name(),
            id.as_str(),
            k.name()
        ))),
    }
}

pub fn decode_all(kind: NodeKind, ids: &[ID], argument: &str) -> ApiResult<Vec<i64>> {
    ids.iter().map(|id| decode_as(kind, id, argument)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_type_check() {
        let id = encode(NodeKind::Holding, 42);
        assert_eq!(decode(&id).unwrap(), (NodeKind::Holding, 42));
        assert_eq!(decode_as(NodeKind::Holding, &id, "id").unwrap(), 42);
        assert!(decode_as(NodeKind::Account, &id, "accountIds").is_err());
        assert!(decode(&ID("not-an-id".into())).is_err());
    }
}

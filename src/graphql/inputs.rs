//! Filter and ordering inputs. Each converts into its `domain` filter (ids decoded and
//! type-checked here), which `db` turns into SQL.

use crate::domain::{
    AccountScope, HoldingOrderField, ItemFilter, OrderBy, Range, SecurityOrderField, TextMatch,
    TransactionFilter, TransactionOrderField,
};
use async_graphql::{Enum, ID, InputObject};

use super::ids::{self, NodeKind};
use super::scalars::{Date, DecimalScalar};
use super::types::ItemStatus;
use crate::domain::{
    AccountFilter as AccountQuery, HoldingFilter as HoldingQuery, SecurityFilter as SecurityQuery,
};
use crate::error::ApiResult;

/// Conditions on a text field; all given conditions must hold.
#[derive(InputObject, Clone, Default)]
pub struct StringFilter {
    /// Exactly this value (case-sensitive; at most 200 characters).
    #[graphql(validator(max_length = 200))]
    eq: Option<String>,
    /// Any of these values (case-sensitive; at most 500 values of 200 characters).
    #[graphql(name = "in", validator(max_items = 500, list, max_length = 200))]
    any_of: Option<Vec<String>>,
    /// Contains this text, ignoring case (at most 200 characters).
    #[graphql(validator(max_length = 200))]
    contains: Option<String>,
}

impl From<StringFilter> for TextMatch {
    fn from(f: StringFilter) -> Self {
        TextMatch {
            eq: f.eq,
            any_of: f.any_of,
            contains: f.contains,
        }
    }
}

/// Bounds on a date; all given bounds must hold.
#[derive(InputObject, Clone, Default)]
pub struct DateFilter {
    /// On this day.
    eq: Option<Date>,
    /// After this day.
    gt: Option<Date>,
    /// On or after this day.
    gte: Option<Date>,
    /// Before this day.
    lt: Option<Date>,
    /// On or before this day.
    lte: Option<Date>,
}

/// A bounds input (`eq`, `gt`, `gte`, `lt`, `lte` of a scalar) as the domain's `Range`.
macro_rules! range_from {
    ($input:ty => $value:ty) => {
        impl From<$input> for Range<$value> {
            fn from(f: $input) -> Self {
                Range {
                    eq: f.eq.map(|v| v.0),
                    gt: f.gt.map(|v| v.0),
                    gte: f.gte.map(|v| v.0),
                    lt: f.lt.map(|v| v.0),
                    lte: f.lte.map(|v| v.0),
                }
            }
        }
    };
}

range_from!(DateFilter => chrono::NaiveDate);

/// Bounds on a decimal, compared as numbers; all given bounds must hold.
#[derive(InputObject, Clone, Default)]
pub struct DecimalFilter {
    /// Equal to this number.
    eq: Option<DecimalScalar>,
    /// Greater than this number.
    gt: Option<DecimalScalar>,
    /// Greater than or equal to this number.
    gte: Option<DecimalScalar>,
    /// Less than this number.
    lt: Option<DecimalScalar>,
    /// Less than or equal to this number.
    lte: Option<DecimalScalar>,
}

range_from!(DecimalFilter => rust_decimal::Decimal);

/// Sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    /// Smallest (or earliest, or A) first.
    Asc,
    /// Largest (or latest, or Z) first.
    Desc,
}

/// An `orderBy` element: one sort key of a list (`field`, an enum with the domain's
/// sort keys as its `remote`) and its direction; ties are broken by id.
macro_rules! order_input {
    ($(#[$doc:meta])* $name:ident($field:ty => $domain:ty)) => {
        $(#[$doc])*
        #[derive(InputObject, Clone, Copy)]
        pub struct $name {
            /// What to sort by.
            field: $field,
            /// Which way.
            direction: OrderDirection,
        }

        impl From<$name> for OrderBy<$domain> {
            fn from(o: $name) -> Self {
                OrderBy {
                    field: o.field.into(),
                    descending: o.direction == OrderDirection::Desc,
                }
            }
        }
    };
}

fn decode(kind: NodeKind, ids: Option<Vec<ID>>, argument: &str) -> ApiResult<Option<Vec<i64>>> {
    ids.map(|ids| ids::decode_all(kind, &ids, argument))
        .transpose()
}

fn scope(
    account_ids: Option<Vec<ID>>,
    item_ids: Option<Vec<ID>>,
    institution_ids: Option<Vec<String>>,
) -> ApiResult<AccountScope> {
    Ok(AccountScope {
        account_ids: decode(NodeKind::Account, account_ids, "accountIds")?,
        item_ids: decode(NodeKind::PlaidItem, item_ids, "itemIds")?,
        institution_ids,
    })
}

/// Which part of the portfolio to total.
#[derive(InputObject, Clone, Default)]
pub struct PortfolioFilter {
    /// Only these accounts.
    #[graphql(validator(max_items = 500))]
    account_ids: Option<Vec<ID>>,
    /// Only accounts of these items.
    #[graphql(validator(max_items = 500))]
    item_ids: Option<Vec<ID>>,
    /// Only accounts at these institutions (Plaid institution ids, e.g. `ins_109508`).
    #[graphql(validator(max_items = 500))]
    institution_ids: Option<Vec<String>>,
}

impl PortfolioFilter {
    pub fn into_scope(self) -> ApiResult<AccountScope> {
        scope(self.account_ids, self.item_ids, self.institution_ids)
    }
}

/// Filters investment transactions; all given conditions must hold.
#[derive(InputObject, Clone, Default)]
pub struct InvestmentTransactionFilter {
    /// Only in these accounts.
    #[graphql(validator(max_items = 500))]
    account_ids: Option<Vec<ID>>,
    /// Only in accounts of these items.
    #[graphql(validator(max_items = 500))]
    item_ids: Option<Vec<ID>>,
    /// Only at these institutions (Plaid institution ids).
    #[graphql(validator(max_items = 500))]
    institution_ids: Option<Vec<String>>,
    /// Only of these securities.
    #[graphql(validator(max_items = 500))]
    security_ids: Option<Vec<ID>>,
    /// On the ticker symbol of the transaction's security.
    ticker_symbol: Option<StringFilter>,
    /// On the transaction type (`buy`, `sell`, `cancel`, `cash`, `fee`, `transfer`).
    #[graphql(name = "type")]
    transaction_type: Option<StringFilter>,
    /// On the transaction subtype (`dividend`, `contribution`, ...).
    subtype: Option<StringFilter>,
    /// On the posting date.
    date: Option<DateFilter>,
    /// On the amount (Plaid's sign: positive when cash leaves the account).
    amount: Option<DecimalFilter>,
    /// On the institution's description.
    name: Option<StringFilter>,
    /// `false`: leave cancelled transactions out; `true`: only those; absent: both.
    cancelled: Option<bool>,
}

impl InvestmentTransactionFilter {
    pub fn into_query(self) -> ApiResult<TransactionFilter> {
        Ok(TransactionFilter {
            scope: scope(self.account_ids, self.item_ids, self.institution_ids)?,
            security_ids: decode(NodeKind::Security, self.security_ids, "securityIds")?,
            ticker_symbol: self.ticker_symbol.map(Into::into),
            transaction_type: self.transaction_type.map(Into::into),
            subtype: self.subtype.map(Into::into),
            date: self.date.map(Into::into),
            amount: self.amount.map(Into::into),
            name: self.name.map(Into::into),
            cancelled: self.cancelled,
        })
    }
}

/// Fields investment transactions can be ordered by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "TransactionOrderField")]
pub enum InvestmentTransactionOrderField {
    /// Posting date.
    Date,
    /// Amount, as a number.
    Amount,
}

order_input!(
    /// One key of an investment transaction ordering (ties are broken by id).
    InvestmentTransactionOrder(InvestmentTransactionOrderField => TransactionOrderField)
);

/// Filters holdings; all given conditions must hold.
#[derive(InputObject, Clone, Default)]
pub struct HoldingFilter {
    /// Only in these accounts.
    #[graphql(validator(max_items = 500))]
    account_ids: Option<Vec<ID>>,
    /// Only in accounts of these items.
    #[graphql(validator(max_items = 500))]
    item_ids: Option<Vec<ID>>,
    /// Only at these institutions (Plaid institution ids).
    #[graphql(validator(max_items = 500))]
    institution_ids: Option<Vec<String>>,
    /// Only of these securities.
    #[graphql(validator(max_items = 500))]
    security_ids: Option<Vec<ID>>,
    /// On the type of the security held (`equity`, `etf`, `cash`...).
    security_type: Option<StringFilter>,
    /// On the holding's currency (ISO code, else unofficial code, else `XXX`).
    currency: Option<StringFilter>,
}

impl HoldingFilter {
    pub fn into_query(self) -> ApiResult<HoldingQuery> {
        Ok(HoldingQuery {
            scope: scope(self.account_ids, self.item_ids, self.institution_ids)?,
            security_ids: decode(NodeKind::Security, self.security_ids, "securityIds")?,
            security_type: self.security_type.map(Into::into),
            currency: self.currency.map(Into::into),
        })
    }
}

/// Fields holdings can be ordered by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "HoldingOrderField", remote = "HoldingOrderField")]
pub enum HoldingOrderFieldInput {
    /// Market value (the institution's value), as a number.
    MarketValue,
    /// Quantity, as a number.
    Quantity,
    /// Name of the security held.
    SecurityName,
}

order_input!(
    /// One key of a holding ordering (ties are broken by id).
    HoldingOrder(HoldingOrderFieldInput => HoldingOrderField)
);

/// Filters securities; all given conditions must hold.
#[derive(InputObject, Clone, Default)]
pub struct SecurityFilter {
    /// Only these securities.
    #[graphql(validator(max_items = 500))]
    ids: Option<Vec<ID>>,
    /// On the security type (`equity`, `etf`, `mutual fund`, `cash`...).
    #[graphql(name = "type")]
    security_type: Option<StringFilter>,
    /// On the ticker symbol.
    ticker_symbol: Option<StringFilter>,
    /// On the name.
    name: Option<StringFilter>,
}

impl SecurityFilter {
    pub fn into_query(self) -> ApiResult<SecurityQuery> {
        Ok(SecurityQuery {
            ids: decode(NodeKind::Security, self.ids, "ids")?,
            security_type: self.security_type.map(Into::into),
            ticker_symbol: self.ticker_symbol.map(Into::into),
            name: self.name.map(Into::into),
        })
    }
}

/// Fields securities can be ordered by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SecurityOrderField", remote = "SecurityOrderField")]
pub enum SecurityOrderFieldInput {
    /// Name (securities without a name first).
    Name,
    /// Ticker symbol (securities without a ticker first).
    TickerSymbol,
}

order_input!(
    /// One key of a security ordering (ties are broken by id).
    SecurityOrder(SecurityOrderFieldInput => SecurityOrderField)
);

/// Filters accounts; all given conditions must hold.
#[derive(InputObject, Clone, Default)]
pub struct AccountFilter {
    /// Only accounts of these items.
    #[graphql(validator(max_items = 500))]
    item_ids: Option<Vec<ID>>,
    /// Only accounts at these institutions (Plaid institution ids).
    #[graphql(validator(max_items = 500))]
    institution_ids: Option<Vec<String>>,
    /// On the account type (`investment`, `depository`...).
    #[graphql(name = "type")]
    account_type: Option<StringFilter>,
    /// On the account subtype (`brokerage`, `ira`, `401k`...).
    subtype: Option<StringFilter>,
}

impl AccountFilter {
    pub fn into_query(self) -> ApiResult<AccountQuery> {
        Ok(AccountQuery {
            item_ids: decode(NodeKind::PlaidItem, self.item_ids, "itemIds")?,
            institution_ids: self.institution_ids,
            account_type: self.account_type.map(Into::into),
            subtype: self.subtype.map(Into::into),
        })
    }
}

/// Filters items; all given conditions must hold.
#[derive(InputObject, Clone, Default)]
pub struct PlaidItemFilter {
    /// Only items at these institutions (Plaid institution ids).
    #[graphql(validator(max_items = 500))]
    institution_ids: Option<Vec<String>>,
    /// Only items in one of these states.
    status: Option<Vec<ItemStatus>>,
}

impl PlaidItemFilter {
    pub fn into_query(self) -> ItemFilter {
        ItemFilter {
            institution_ids: self.institution_ids,
            status: self.status.map(|statuses| TextMatch {
                any_of: Some(statuses.into_iter().map(|s| s.as_db().to_owned()).collect()),
                ..Default::default()
            }),
        }
    }
}

/// A grouping of `investmentTransactionSummary`.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::portfolio::SummaryGroup")]
pub enum TransactionGroupBy {
    /// Calendar month of the date (`month: "2026-03"`).
    Month,
    /// Calendar year of the date.
    Year,
    /// Transaction type.
    Type,
    /// Transaction subtype.
    Subtype,
    /// Security (null for cash-only transactions).
    Security,
    /// Account.
    Account,
    /// Institution of the account's item.
    Institution,
}

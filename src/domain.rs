//! The questions the API asks of the data, in its own words: filters, sort keys and page
//! requests. `graphql` and the CSV export build them from their inputs; `db` answers
//! them with SQL; neither owns them.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A match on a text column: exact value, one of several, or a case-insensitive substring.
/// All given parts must hold.
#[derive(Clone, Debug, Default)]
pub struct TextMatch {
    pub eq: Option<String>,
    pub any_of: Option<Vec<String>>,
    pub contains: Option<String>,
}

/// Bounds on an ordered column; all given bounds must hold.
#[derive(Clone, Debug)]
pub struct Range<T> {
    pub eq: Option<T>,
    pub gt: Option<T>,
    pub gte: Option<T>,
    pub lt: Option<T>,
    pub lte: Option<T>,
}

impl<T> Default for Range<T> {
    fn default() -> Self {
        Range {
            eq: None,
            gt: None,
            gte: None,
            lt: None,
            lte: None,
        }
    }
}

/// One entry of a listing's `orderBy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderBy<F> {
    pub field: F,
    pub descending: bool,
}

/// The Relay arguments of a connection field, and whether `totalCount` is asked (then
/// it is counted alongside the page instead of after it).
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub with_count: bool,
}

/// Which accounts a query covers: all given lists must match (each list is an "any of").
#[derive(Clone, Debug, Default)]
pub struct AccountScope {
    pub account_ids: Option<Vec<i64>>,
    pub item_ids: Option<Vec<i64>>,
    pub institution_ids: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct AccountFilter {
    pub item_ids: Option<Vec<i64>>,
    pub institution_ids: Option<Vec<String>>,
    pub account_type: Option<TextMatch>,
    pub subtype: Option<TextMatch>,
}

#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub institution_ids: Option<Vec<String>>,
    pub status: Option<TextMatch>,
}

#[derive(Clone, Debug, Default)]
pub struct SecurityFilter {
    pub ids: Option<Vec<i64>>,
    pub security_type: Option<TextMatch>,
    pub ticker_symbol: Option<TextMatch>,
    pub name: Option<TextMatch>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityOrderField {
    Name,
    TickerSymbol,
}

#[derive(Clone, Debug, Default)]
pub struct HoldingFilter {
    pub scope: AccountScope,
    pub security_ids: Option<Vec<i64>>,
    pub security_type: Option<TextMatch>,
    /// Matches the ISO code, or the unofficial code when there is no ISO code.
    pub currency: Option<TextMatch>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldingOrderField {
    MarketValue,
    Quantity,
    SecurityName,
}

#[derive(Clone, Debug, Default)]
pub struct TransactionFilter {
    pub scope: AccountScope,
    pub security_ids: Option<Vec<i64>>,
    /// On the transaction's security.
    pub ticker_symbol: Option<TextMatch>,
    pub transaction_type: Option<TextMatch>,
    pub subtype: Option<TextMatch>,
    pub date: Option<Range<NaiveDate>>,
    pub amount: Option<Range<Decimal>>,
    pub name: Option<TextMatch>,
    /// `Some(false)`: only live transactions; `Some(true)`: only cancelled ones.
    pub cancelled: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionOrderField {
    Date,
    Amount,
}

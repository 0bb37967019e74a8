//! The cost model: what each field costs against [`MAX_COMPLEXITY`], and the other limits
//! of a request (root fields, aliases, execution deadline). docs/api-limits.md explains
//! them to clients; the numbers live here only.
//!
//! A cost is counted in rows: rows a field reads plus values it returns. It is computed
//! from the document before anything runs, so it cannot know how many accounts or
//! transactions the caller has: figures are priced for a typical household portfolio
//! ([`ACCOUNTS`], [`HOLDINGS`], [`TRANSACTIONS`]), and a period costs the days it covers,
//! read from the `from` / `to` arguments with the resolvers' own defaults (a year up to
//! today). Every occurrence of a field counts, each alias and each use of a fragment
//! included, so 500 aliased copies of a figure cost 500 times one.

use std::time::Duration;

use chrono::NaiveDate;

use super::scalars::Date;
use crate::db::page::DEFAULT_PAGE_SIZE;
use crate::portfolio::{Interval, MAX_HISTORY_DAYS};

/// Most a request may cost. A dashboard (allocation, a year of weekly value history,
/// returns, income by month) costs about a tenth of it; 50 uncached realized-gains
/// figures (about 150 ms on 600 transactions) reach it.
pub const MAX_COMPLEXITY: usize = 100_000;

/// Most root fields in the selected operation (fragments and aliases included): a screen
/// needs a handful; more is a batch that belongs in several requests.
pub const MAX_ROOT_FIELDS: usize = 20;

/// Most aliased fields in the selected operation, at any depth: a client aliases to ask
/// for the same field with different arguments a few times (this year, last year); 500
/// aliases is a way around the cache and the cost of one field.
pub const MAX_ALIASES: usize = 50;

/// Default longest a query or mutation may run (`INVESTMENTS_GRAPHQL_DEADLINE`): well
/// under the HTTP layer's 60 s timeout, so that the client gets a GraphQL error with a
/// code instead of a bare 408.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// Accounts a portfolio figure is assumed to span (a household: brokerage, IRAs, 401k,
/// HSA, crypto, for two people).
pub const ACCOUNTS: usize = 10;

/// Holdings an allocation figure is assumed to read (20 positions in each account).
pub const HOLDINGS: usize = 200;

/// Transactions a figure replaying or summing the transactions is assumed to read (the
/// 24 months a sync keeps, about 80 a month).
pub const TRANSACTIONS: usize = 2_000;

/// Rows a grouped figure is assumed to return (currencies, groups, positions).
pub const ROWS: usize = 10;

/// Days of a period given by optional `from` / `to`, as the resolvers default them
/// (`to` today, `from` a year before `to`; see [`crate::portfolio::period`]), at least 1
/// and at most the longest history answered. "Today" is the server's date: an estimate.
fn days(from: Option<Date>, to: Option<Date>) -> usize {
    let to = to.map(|d| d.0).unwrap_or_else(today);
    let from = from
        .map(|d| d.0)
        .unwrap_or_else(|| to - chrono::Months::new(12));
    ((to - from).num_days() + 1).clamp(1, MAX_HISTORY_DAYS + 1) as usize
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Points a history of `days` has at `interval`.
fn points(days: usize, interval: Interval) -> usize {
    match interval {
        Interval::Day => days,
        Interval::Week => days.div_ceil(7),
        Interval::Month => days.div_ceil(30),
    }
}

/// Value history of `accounts` accounts: the days times the accounts pictured each day,
/// plus the points returned. `Portfolio.valueHistory` counts [`ACCOUNTS`],
/// `Account.valueHistory` one.
pub fn value_history(
    accounts: usize,
    from: Option<Date>,
    to: Option<Date>,
    interval: Interval,
    child: usize,
) -> usize {
    let days = days(from, to);
    days * accounts + points(days, interval) * child
}

/// Price history of one security (`Security.priceHistory`): its snapshots (a security is
/// held in an account or two) and up to two points a day (institution and close price).
pub fn price_history(from: Option<Date>, to: Option<Date>, child: usize) -> usize {
    2 * days(from, to) * (1 + child)
}

/// Returns (`Portfolio.returns`): the value history they are drawn from, one row per
/// currency.
pub fn returns(from: Option<Date>, to: Option<Date>, child: usize) -> usize {
    days(from, to) * ACCOUNTS + ROWS * child
}

/// A figure over the transactions (`realizedGains`, `investmentTransactionSummary`):
/// realized gains replay every trade up to `to`, whatever the period.
pub fn transactions(child: usize) -> usize {
    TRANSACTIONS + ROWS * child
}

/// Income and costs by month (`Portfolio.incomeAndCosts`): the transactions, one row per
/// month and currency.
pub fn income_and_costs(from: Option<Date>, to: Option<Date>, child: usize) -> usize {
    TRANSACTIONS + points(days(from, to), Interval::Month) * child
}

/// An allocation figure (`totals`, `cash`, `byAccount`, `bySector`...): every holding in
/// scope, one row per group and currency.
pub fn allocation(child: usize) -> usize {
    HOLDINGS + ROWS * child
}

/// A connection: its page size times one node's selection.
pub fn connection(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let size = first
        .or(last)
        .map(|n| n.max(0) as usize)
        .unwrap_or(DEFAULT_PAGE_SIZE as usize);
    1 + size.max(1) * child
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Option<Date> {
        Some(Date(s.parse().unwrap()))
    }

    #[test]
    fn a_period_costs_its_days_with_the_resolvers_defaults() {
        // 2024-01-01 through 2024-12-31: 366 days (a leap year).
        assert_eq!(days(date("2024-01-01"), date("2024-12-31")), 366);
        // `from` defaults to a year before `to`: 2024-03-01 ..= 2025-03-01, 366 days.
        assert_eq!(days(None, date("2025-03-01")), 366);
        // Reversed (refused by the resolver) costs a day; three centuries cost the most
        // history answered.
        assert_eq!(days(date("2024-02-01"), date("2024-01-01")), 1);
        assert_eq!(
            days(date("1900-01-01"), date("2200-12-31")),
            MAX_HISTORY_DAYS as usize + 1
        );
    }

    #[test]
    fn history_costs_days_times_accounts_plus_points() {
        // 366 days x 10 accounts + 53 weekly points (366 / 7 rounded up) x 4.
        let year = value_history(
            ACCOUNTS,
            date("2024-01-01"),
            date("2024-12-31"),
            Interval::Week,
            4,
        );
        assert_eq!(year, 3_660 + 53 * 4);
        // One account: 366 days + 13 monthly points (366 / 30 rounded up) x 2.
        let account = value_history(
            1,
            date("2024-01-01"),
            date("2024-12-31"),
            Interval::Month,
            2,
        );
        assert_eq!(account, 366 + 13 * 2);
    }
}

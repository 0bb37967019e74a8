//! Value history from `holding_snapshots`.
//!
//! Every successful sync writes one snapshot per holding for the day and marks the day in
//! `account_snapshots` for each account it pictured in full, so a marked day (or a day
//! with snapshots) is a full picture of that account, an empty one when it held nothing.
//! For any date, an account's value is its picture of that day if it has one (observed),
//! else its latest earlier picture carried forward (carried); accounts never pictured by
//! then count nothing. A currency once seen stays in the series, at zero when nothing is
//! held in it.

use crate::db::scope::UserScope;
use crate::domain::AccountScope;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::db::aggregate::{self, Aggregation, KeyKind};
use crate::db::entities::{account_snapshots, accounts, holding_snapshots as snapshots};
use crate::db::holdings::currency_of_row;
use crate::error::{ApiError, ApiResult};
use crate::exact::{Exact, check_bound};

/// Spacing of history points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interval {
    Day,
    Week,
    Month,
}

/// Longest history answered in one request, in days (ten years of daily points).
pub const MAX_DAYS: i64 = 3660;

/// The portfolio's value on one date in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuePoint {
    pub date: NaiveDate,
    pub currency: String,
    pub market_value: Decimal,
    /// Sum of the cost basis of the holdings that report one.
    pub cost_basis: Decimal,
    /// True when every account in scope pictured by this date was pictured on it; false
    /// when some account's value is carried from an earlier date.
    pub observed: bool,
}

/// An account's figures on one snapshot day, per currency: (value, cost basis).
pub type DayFigures = BTreeMap<String, (Decimal, Decimal)>;

/// One account's pictures (snapshot days, summed per currency) and the day it was found
/// closed, if it was.
#[derive(Clone, Debug, Default)]
pub struct AccountHistory {
    pub days: BTreeMap<NaiveDate, DayFigures>,
    pub closed_on: Option<NaiveDate>,
}

impl AccountHistory {
    /// The latest picture on or before `date`: its day and figures.
    pub fn at(&self, date: NaiveDate) -> Option<(NaiveDate, &DayFigures)> {
        self.days.range(..=date).next_back().map(|(d, f)| (*d, f))
    }

    /// True when the account's value on `date` is known, not carried: pictured that day,
    /// or closed before it (a closed account holds nothing).
    pub fn known_on(&self, date: NaiveDate) -> bool {
        self.days.contains_key(&date) || self.closed_on.is_some_and(|c| c < date)
    }

    pub fn first_day(&self) -> Option<NaiveDate> {
        self.days.keys().next().copied()
    }
}

/// Every account's history in scope: what every value history and return is drawn from.
pub type AccountDays = HashMap<i64, AccountHistory>;

/// The dates of the points: every day, or the last day of each week (Sunday) or month,
/// the last one cut at `to`.
pub fn point_dates(from: NaiveDate, to: NaiveDate, interval: Interval) -> Vec<NaiveDate> {
    let mut dates = Vec::new();
    let mut day = from;
    while day <= to {
        let end = match interval {
            Interval::Day => day,
            Interval::Week => day + Days::new(6 - u64::from(day.weekday().num_days_from_monday())),
            Interval::Month => {
                let first_of_next = if day.month() == 12 {
                    NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
                };
                first_of_next.and_then(|d| d.pred_opt()).unwrap_or(day)
            }
        };
        let point = Ord::min(end, to);
        dates.push(point);
        match point.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    dates
}

/// Refuses a history longer than [`MAX_DAYS`] before any of it is computed.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> ApiResult<()> {
    if (to - from).num_days() > MAX_DAYS {
        return Err(ApiError::bad_input(format!(
            "at most {MAX_DAYS} days of history per request"
        )));
    }
    Ok(())
}

/// Each account's snapshot days up to `to`, summed per currency.
pub async fn account_days(
    user: &UserScope,
    scope: &AccountScope,
    to: NaiveDate,
) -> ApiResult<AccountDays> {
    let col = |c| Expr::col((snapshots::Entity, c));
    let source = user
        .select::<snapshots::Entity>()
        .filter(snapshots::Column::AsOf.lte(to))
        .filter(user.within(scope, col(snapshots::Column::AccountId)))
        .into_query();
    let currency = currency_of_row(
        col(snapshots::Column::IsoCurrencyCode),
        col(snapshots::Column::UnofficialCurrencyCode),
    );
    let groups = aggregate::run(
        user.connection(),
        Aggregation {
            source,
            keys: vec![
                (col(snapshots::Column::AccountId), KeyKind::Int),
                (col(snapshots::Column::AsOf), KeyKind::Date),
                (currency, KeyKind::Text),
            ],
            sums: vec![
                col(snapshots::Column::InstitutionValue),
                col(snapshots::Column::CostBasis),
            ],
        },
    )
    .await?;
    let mut accounts = AccountDays::new();
    let pictured = user
        .select::<account_snapshots::Entity>()
        .select_only()
        .column(account_snapshots::Column::AccountId)
        .column(account_snapshots::Column::AsOf)
        .filter(account_snapshots::Column::AsOf.lte(to))
        .filter(user.within(
            scope,
            Expr::col((
                account_snapshots::Entity,
                account_snapshots::Column::AccountId,
            )),
        ))
        .into_tuple::<(i64, NaiveDate)>()
        .all(user.connection())
        .await?;
    for (account, day) in pictured {
        accounts
            .entry(account)
            .or_default()
            .days
            .entry(day)
            .or_default();
    }
    let closed = user
        .select::<accounts::Entity>()
        .select_only()
        .column(accounts::Column::Id)
        .column(accounts::Column::ClosedOn)
        .filter(accounts::Column::ClosedOn.is_not_null())
        .filter(user.within(scope, Expr::col((accounts::Entity, accounts::Column::Id))))
        .into_tuple::<(i64, Option<NaiveDate>)>()
        .all(user.connection())
        .await?;
    for (account, closed_on) in closed {
        if let Some(history) = accounts.get_mut(&account) {
            history.closed_on = closed_on;
        }
    }
    for g in groups {
        let (Some(account), Some(day), Some(currency)) =
            (g.keys[0].as_int(), g.keys[1].as_date(), g.keys[2].as_text())
        else {
            continue;
        };
        let entry = accounts
            .entry(account)
            .or_default()
            .days
            .entry(day)
            .or_default()
            .entry(currency.to_owned())
            .or_default();
        entry.0.add_exact(g.sums[0], "an account's value")?;
        entry.1.add_exact(g.sums[1], "an account's cost basis")?;
    }
    // Any day's total, of any currency, is bounded by the sum of each account's largest
    // figures: checked once here, the sums of the history need no check of their own.
    check_bound(
        accounts.values().map(|h| {
            h.days
                .values()
                .flat_map(|f| f.values().map(|(v, b)| v.abs().max(b.abs())))
                .max()
                .unwrap_or_default()
        }),
        Decimal::ONE,
        "the portfolio's value",
    )?;
    Ok(accounts)
}

/// Points between `from` and `to` (both included), per currency, sorted by date then
/// currency, from the snapshot days of the accounts in scope (loaded through `to`).
pub fn value_history(
    accounts: &AccountDays,
    from: NaiveDate,
    to: NaiveDate,
    interval: Interval,
) -> Vec<ValuePoint> {
    let mut points = Vec::new();
    let mut currencies: BTreeSet<String> = BTreeSet::new();
    for date in point_dates(from, to, interval) {
        // currency -> (value, basis)
        let mut day: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        let mut observed = true;
        for history in accounts.values() {
            let Some((_, figures)) = history.at(date) else {
                continue;
            };
            observed &= history.known_on(date);
            for (currency, (value, basis)) in figures {
                let entry = day.entry(currency.clone()).or_default();
                entry.0 += *value;
                entry.1 += *basis;
            }
        }
        currencies.extend(day.keys().cloned());
        points.extend(currencies.iter().map(|currency| {
            let (market_value, cost_basis) = day.get(currency).copied().unwrap_or_default();
            ValuePoint {
                date,
                currency: currency.clone(),
                market_value,
                cost_basis,
                observed,
            }
        }));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn points_fall_on_period_ends() {
        assert_eq!(
            point_dates(d("2026-01-30"), d("2026-02-02"), Interval::Day),
            vec![
                d("2026-01-30"),
                d("2026-01-31"),
                d("2026-02-01"),
                d("2026-02-02")
            ]
        );
        // 2026-01-30 is a Friday: weeks end on Sundays, the last one cut at `to`.
        assert_eq!(
            point_dates(d("2026-01-30"), d("2026-02-10"), Interval::Week),
            vec![d("2026-02-01"), d("2026-02-08"), d("2026-02-10")]
        );
        assert_eq!(
            point_dates(d("2025-12-15"), d("2026-02-10"), Interval::Month),
            vec![d("2025-12-31"), d("2026-01-31"), d("2026-02-10")]
        );
    }
}

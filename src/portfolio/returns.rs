//! Returns over a period: simple, time-weighted (linked Modified Dietz) and money-weighted
//! (Modified Dietz), per currency. The method, the flow classification and worked examples
//! are in `docs/features/analytics.md`.
//!
//! Values are known only on valuation days: days on which every account in scope that
//! holds the currency was pictured by a sync (or was already closed). A day between two
//! syncs is unknown, not equal to the day before. The time-weighted return chains the
//! sub-periods between consecutive valuation days, each a Modified Dietz return with the
//! flows that fall inside it, so a deposit between two syncs is never a gain or a loss;
//! with a valuation every day it is the daily-chained return.
//!
//! External flows are contributions, deposits, withdrawals and transfers (see
//! `vocabulary::external_flow`), signed as money into the portfolio, at the end of their
//! day. The scope can change within a period: an account that enters it (an item linked
//! later, an account first seen later) enters with its first pictured value as an inflow
//! on that day; one that leaves (closed at the institution) leaves as an outflow of its
//! last pictured value plus the flows it had since. Neither is a gain.

use crate::db::scope::UserScope;
use crate::domain::{AccountScope, Range, TransactionFilter};
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, QueryFilter};

use super::history::{AccountDays, AccountHistory};
use super::percent;

use crate::db::entities::investment_transactions as transactions;

use crate::db::holdings::currency_of_codes;
use crate::error::ApiResult;
use crate::exact::{self, Exact};
use crate::vocabulary::{FLOW_SUBTYPES, FLOW_TYPES, external_flow};

/// Returns of one currency's holdings over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodReturn {
    pub currency: String,
    /// The first valuation day on or after the requested start.
    pub from: NaiveDate,
    /// The last valuation day on or before the requested end.
    pub to: NaiveDate,
    /// Value at the end of `from`.
    pub start_value: Decimal,
    /// Value at the end of `to`.
    pub end_value: Decimal,
    /// External flows after `from` up to `to` (positive = money in), accounts entering
    /// and leaving the scope included.
    pub net_flows: Decimal,
    /// `end - start - flows`: what the investments earned.
    pub gain: Decimal,
    /// `gain / start`, in percent.
    pub simple_return: Option<Decimal>,
    /// Modified Dietz returns of the sub-periods between valuation days, chained, in
    /// percent.
    pub time_weighted_return: Option<Decimal>,
    /// Modified Dietz over the whole period, in percent.
    pub money_weighted_return: Option<Decimal>,
}

/// One external flow of one account.
#[derive(Clone, Debug)]
struct Flow {
    account_id: i64,
    currency: String,
    date: NaiveDate,
    value: Decimal,
}

/// External flows dated after `from` up to `to`.
async fn flows(
    user: &UserScope,
    scope: &AccountScope,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<Flow>> {
    let filter = TransactionFilter {
        scope: scope.clone(),
        date: Some(Range {
            gt: Some(from),
            lte: Some(to),
            ..Default::default()
        }),
        ..Default::default()
    };
    let rows = user
        .live_transactions(&filter)
        .filter(transactions::Column::TransactionType.is_in(FLOW_TYPES))
        .filter(transactions::Column::Subtype.is_in(FLOW_SUBTYPES))
        .all(user.connection())
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|t| {
            Some(Flow {
                account_id: t.account_id,
                currency: currency_of_codes(
                    t.iso_currency_code.as_deref(),
                    t.unofficial_currency_code.as_deref(),
                ),
                date: t.date,
                value: external_flow(
                    &t.transaction_type,
                    &t.subtype,
                    t.amount.0,
                    t.quantity.0,
                    t.price.0,
                )?,
            })
        })
        .collect())
}

/// The portfolio's value on a valuation day.
#[derive(Clone, Copy)]
struct Valuation {
    date: NaiveDate,
    value: Decimal,
}

/// The value of a sub-period or period: `(end - start - flows) / (start + weighted flows)`
/// where a flow on day `t` of a period `(b0, b1]` weighs `(b1 - t) / (b1 - b0)` (flows
/// happen at the end of their day). `None` when the denominator is zero.
fn modified_dietz(
    start: Valuation,
    end: Valuation,
    flows: &BTreeMap<NaiveDate, Decimal>,
) -> ApiResult<Option<Decimal>> {
    let length = Decimal::from((end.date - start.date).num_days());
    let mut net = Decimal::ZERO;
    let mut weighted = Decimal::ZERO;
    let after_start = start.date.succ_opt().unwrap_or(start.date);
    for (day, flow) in flows.range(after_start..=end.date) {
        net.add_exact(*flow, "a net flow")?;
        let weight = if length.is_zero() {
            Decimal::ZERO
        } else {
            Decimal::from((end.date - *day).num_days()).over(length, "a flow weight")?
        };
        weighted.add_exact(flow.times(weight, "a weighted flow")?, "a weighted flow")?;
    }
    let gain = end
        .value
        .minus(start.value, "a gain")?
        .minus(net, "a gain")?;
    let base = start.value.plus(weighted, "an invested capital")?;
    if base.is_zero() {
        return Ok(None);
    }
    Ok(Some(gain.over(base, "a return")?))
}

/// One currency's figures of an account on a day: its latest picture's, carried.
fn value_on(history: &AccountHistory, currency: &str, date: NaiveDate) -> Decimal {
    history
        .at(date)
        .and_then(|(_, f)| f.get(currency))
        .map_or(Decimal::ZERO, |(value, _)| *value)
}

/// The returns of one currency over `[from, to]`, or `None` when no valuation day falls in
/// the period.
fn currency_return(
    currency: &str,
    accounts: &[(i64, &AccountHistory)],
    account_flows: &[&Flow],
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Option<PeriodReturn>> {
    // Valuation days: some account is pictured by then and each one is known that day.
    let valuations: Vec<NaiveDate> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| {
            let present: Vec<&AccountHistory> = accounts
                .iter()
                .map(|(_, h)| *h)
                .filter(|h| h.first_day().is_some_and(|f| f <= *d))
                .collect();
            !present.is_empty() && present.iter().all(|h| h.known_on(*d))
        })
        .collect();
    let (Some(&start), Some(&end)) = (valuations.first(), valuations.last()) else {
        return Ok(None);
    };
    let valuation = |date: NaiveDate| -> ApiResult<Valuation> {
        let value = exact::sum(
            accounts.iter().map(|(_, h)| value_on(h, currency, date)),
            "a value",
        )?;
        Ok(Valuation { date, value })
    };

    // Flows by day: transactions of accounts in the portfolio that day, and accounts
    // entering (at their first pictured value) or leaving (at their last value plus the
    // flows they had since).
    let mut by_day: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    let mut add = |day: NaiveDate, value: Decimal| -> ApiResult<()> {
        by_day.entry(day).or_default().add_exact(value, "a flow")
    };
    for (id, history) in accounts {
        let Some(first) = history.first_day() else {
            continue;
        };
        let closed = history.closed_on;
        let mine = account_flows.iter().filter(|f| f.account_id == *id);
        for flow in mine.clone() {
            let inside = flow.date > first.max(start)
                && flow.date <= end
                && closed.is_none_or(|c| flow.date <= c);
            if inside {
                add(flow.date, flow.value)?;
            }
        }
        if first > start && first <= end {
            add(first, value_on(history, currency, first))?;
        }
        if let Some(closed) = closed.filter(|c| *c > start.max(first) && *c <= end) {
            let (last, _) = history
                .at(closed.pred_opt().unwrap_or(closed))
                .expect("pictured before it closed");
            let since = exact::sum(
                mine.filter(|f| f.date > last && f.date <= closed)
                    .map(|f| f.value),
                "a leaving value",
            )?;
            let leaving = value_on(history, currency, last).plus(since, "a leaving value")?;
            add(closed, -leaving)?;
        }
    }

    let (first, last) = (valuation(start)?, valuation(end)?);
    let (start_value, end_value) = (first.value, last.value);
    let net_flows = exact::sum(by_day.values().copied(), "the net flows")?;
    let gain = end_value
        .minus(start_value, "a gain")?
        .minus(net_flows, "a gain")?;
    let mut growth = Decimal::ONE;
    let mut chained = false;
    for pair in valuations.windows(2) {
        let (b0, b1) = (pair[0], pair[1]);
        if let Some(r) = modified_dietz(valuation(b0)?, valuation(b1)?, &by_day)? {
            growth = growth.times(
                r.plus(Decimal::ONE, "a time-weighted return")?,
                "a time-weighted return",
            )?;
            chained = true;
        }
    }
    let money_weighted = if start == end {
        None
    } else {
        modified_dietz(first, last, &by_day)?
    };
    Ok(Some(PeriodReturn {
        currency: currency.to_owned(),
        from: start,
        to: end,
        start_value,
        end_value,
        net_flows,
        gain,
        simple_return: percent(gain, start_value),
        time_weighted_return: if chained {
            percent(growth - Decimal::ONE, Decimal::ONE)
        } else {
            None
        },
        money_weighted_return: money_weighted.and_then(|r| percent(r, Decimal::ONE)),
    }))
}

/// Returns per currency over `[from, to]`, measured from the first valuation day on or
/// after `from` to the last one on or before `to`: before an account's first picture its
/// value is unknown (Plaid has no historical holdings), not zero.
pub async fn returns(
    user: &UserScope,
    scope: &AccountScope,
    account_days: &AccountDays,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<PeriodReturn>> {
    let flows = flows(user, scope, from, to).await?;
    let currencies: BTreeSet<&str> = account_days
        .values()
        .flat_map(|h| h.days.values())
        .flat_map(|figures| figures.keys().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for currency in currencies {
        // The accounts that ever held the currency: only they decide its valuation days.
        let accounts: Vec<(i64, &AccountHistory)> = account_days
            .iter()
            .filter(|(_, h)| h.days.values().any(|f| f.contains_key(currency)))
            .map(|(id, h)| (*id, h))
            .collect();
        let account_flows: Vec<&Flow> = flows.iter().filter(|f| f.currency == currency).collect();
        if let Some(r) = currency_return(currency, &accounts, &account_flows, from, to)? {
            out.push(r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, n).unwrap()
    }

    fn history(points: &[(u32, &str)], closed_on: Option<u32>) -> AccountHistory {
        let mut h = AccountHistory {
            closed_on: closed_on.map(day),
            ..Default::default()
        };
        for (n, value) in points {
            let figures = h.days.entry(day(*n)).or_default();
            if !value.is_empty() {
                figures.insert("USD".to_owned(), (d(value), Decimal::ZERO));
            }
        }
        h
    }

    fn flow(account_id: i64, n: u32, value: &str) -> Flow {
        Flow {
            account_id,
            currency: "USD".to_owned(),
            date: day(n),
            value: d(value),
        }
    }

    fn run(accounts: &[(i64, AccountHistory)], flows: &[Flow], from: u32, to: u32) -> PeriodReturn {
        let refs: Vec<(i64, &AccountHistory)> = accounts.iter().map(|(i, h)| (*i, h)).collect();
        let flows: Vec<&Flow> = flows.iter().collect();
        currency_return("USD", &refs, &flows, day(from), day(to))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_deposit_between_two_syncs_is_not_a_gain() {
        // Synced on days 1, 3, 10 and 20; 500 deposited on day 5; nothing moved.
        // Sub-period (3, 10]: (1500 - 1000 - 500) / (1000 + 500 × 5/7) = 0.
        let a = history(
            &[(1, "1000"), (3, "1000"), (10, "1500"), (20, "1500")],
            None,
        );
        let r = run(&[(1, a)], &[flow(1, 5, "500")], 1, 20);
        assert_eq!(r.gain, Decimal::ZERO);
        assert_eq!(r.time_weighted_return, Some(d("0.0000")));
        assert_eq!(r.money_weighted_return, Some(d("0.0000")));
    }

    #[test]
    fn an_account_linked_later_enters_as_an_inflow() {
        // Account 1 flat at 1000 from day 1; account 2 first seen on day 10 at 500.
        // Inflow 500 on day 10: gain 1500 - 1000 - 500 = 0, every return 0.
        let a = history(&[(1, "1000"), (10, "1000"), (20, "1000")], None);
        let b = history(&[(10, "500"), (20, "500")], None);
        let r = run(&[(1, a), (2, b)], &[], 1, 20);
        assert_eq!((r.start_value, r.end_value), (d("1000"), d("1500")));
        assert_eq!(r.net_flows, d("500"));
        assert_eq!(r.gain, Decimal::ZERO);
        assert_eq!(r.simple_return, Some(d("0.0000")));
        assert_eq!(r.time_weighted_return, Some(d("0.0000")));
        assert_eq!(r.money_weighted_return, Some(d("0.0000")));
    }

    #[test]
    fn a_closed_account_leaves_as_an_outflow_at_its_last_value() {
        // Account 2 worth 400 on day 5, closed on day 12 (pictured empty that day).
        // Account 1 grows 1000 -> 1100. Outflow 400 on day 12.
        // Gain: 1100 - 1400 - (-400) = 100; simple 100 / 1400 = 7.1429 %.
        let a = history(
            &[(1, "1000"), (5, "1000"), (12, "1050"), (20, "1100")],
            None,
        );
        let b = history(&[(1, "400"), (5, "400"), (12, "")], Some(12));
        let r = run(&[(1, a), (2, b)], &[], 1, 20);
        assert_eq!(r.net_flows, d("-400"));
        assert_eq!(r.gain, d("100"));
        assert_eq!(r.simple_return, Some(d("7.1429")));
        // Sub-periods: (1,5] 0; (5,12]: (1050 - 1400 + 400) / 1400 = 3.5714 %;
        // (12,20]: 50 / 1050 = 4.7619 %; chained 1.0357142857 × 1.0476190476 - 1 = 8.5034 %.
        assert_eq!(r.time_weighted_return, Some(d("8.5034")));
    }
}

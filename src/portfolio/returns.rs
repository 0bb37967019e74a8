//! Returns over a period: simple, time-weighted (daily chained) and money-weighted
//! (Modified Dietz), per currency. The method, the flow classification and a worked
//! example are in `docs/features/analytics.md`.
//!
//! Daily values come from the value history (carried forward where no snapshot was taken).
//! External flows are contributions, deposits, withdrawals and transfers, signed as money
//! into the portfolio, and happen at the end of their day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{DatabaseConnection, QueryTrait};

use super::history::{self, AccountDays, Interval};
use super::percent;
use crate::db::accounts::AccountScope;
use crate::db::aggregate::{self, Aggregation, KeyKind};
use crate::db::entities::investment_transactions as transactions;
use crate::db::filter::Range;
use crate::db::transactions::{TransactionFilter, currency_expr, live};
use crate::error::ApiResult;

/// The money a transaction brings into the portfolio from outside (negative when it takes
/// money out), or `None` when it is not an external flow.
///
/// Plaid's `amount` is positive when cash leaves the account, so a deposit (negative
/// amount) is an inflow of `-amount`; a combined contribution and purchase (`buy` /
/// `contribution`) is reported positive and is an inflow of `amount`.
pub fn external_flow(kind: &str, subtype: &str, amount: Decimal) -> Option<Decimal> {
    match (kind, subtype) {
        ("cash", "contribution" | "deposit" | "withdrawal") => Some(-amount),
        ("buy", "contribution") => Some(amount),
        ("transfer", "transfer" | "send" | "request") => Some(-amount),
        _ => None,
    }
}

/// Returns of one currency's holdings over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodReturn {
    pub currency: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Value at the end of `from`.
    pub start_value: Decimal,
    /// Value at the end of `to`.
    pub end_value: Decimal,
    /// External flows after `from` up to `to` (positive = money in).
    pub net_flows: Decimal,
    /// `end - start - flows`: what the investments earned.
    pub gain: Decimal,
    /// `gain / start`, in percent.
    pub simple_return: Option<Decimal>,
    /// Daily returns `(V_d - F_d) / V_(d-1)` chained, in percent.
    pub time_weighted_return: Option<Decimal>,
    /// Modified Dietz, in percent.
    pub money_weighted_return: Option<Decimal>,
}

/// External flows per (currency, day) after `from` up to `to`.
async fn flows(
    db: &DatabaseConnection,
    user_id: i64,
    scope: &AccountScope,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<BTreeMap<String, BTreeMap<NaiveDate, Decimal>>> {
    let filter = TransactionFilter {
        scope: scope.clone(),
        date: Some(Range {
            gt: Some(from),
            lte: Some(to),
            ..Default::default()
        }),
        ..Default::default()
    };
    let col = |c| sea_orm::sea_query::Expr::col((transactions::Entity, c));
    let groups = aggregate::run(
        db,
        Aggregation {
            source: live(db.get_database_backend(), user_id, &filter).into_query(),
            keys: vec![
                (currency_expr(), KeyKind::Text),
                (col(transactions::Column::Date), KeyKind::Date),
                (col(transactions::Column::TransactionType), KeyKind::Text),
                (col(transactions::Column::Subtype), KeyKind::Text),
            ],
            sums: vec![col(transactions::Column::Amount)],
        },
    )
    .await?;
    let mut out: BTreeMap<String, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
    for g in groups {
        let (Some(currency), Some(day), Some(kind), Some(subtype)) = (
            g.keys[0].as_text(),
            g.keys[1].as_date(),
            g.keys[2].as_text(),
            g.keys[3].as_text(),
        ) else {
            continue;
        };
        if let Some(flow) = external_flow(kind, subtype, g.sums[0]) {
            *out.entry(currency.to_owned())
                .or_default()
                .entry(day)
                .or_default() += flow;
        }
    }
    Ok(out)
}

/// The three returns from daily values and flows (`values[0]` is the end of `from`, one
/// value per day through `to`; `flows` by day offset from `from`).
pub fn compute(
    values: &[Decimal],
    flows: &BTreeMap<i64, Decimal>,
) -> (Decimal, Option<Decimal>, Option<Decimal>, Option<Decimal>) {
    let start = values.first().copied().unwrap_or_default();
    let end = values.last().copied().unwrap_or_default();
    let net_flows: Decimal = flows.values().copied().sum();
    let gain = end - start - net_flows;
    let simple = percent(gain, start);

    let mut growth = Decimal::ONE;
    let mut chained = false;
    for day in 1..values.len() {
        let before = values[day - 1];
        if before.is_zero() {
            continue;
        }
        let flow = flows.get(&(day as i64)).copied().unwrap_or_default();
        growth = growth * (values[day] - flow) / before;
        chained = true;
    }
    let time_weighted = if chained {
        percent(growth - Decimal::ONE, Decimal::ONE)
    } else {
        None
    };

    let days = Decimal::from(values.len().saturating_sub(1) as i64);
    let money_weighted = if days.is_zero() {
        None
    } else {
        let weighted: Decimal = flows
            .iter()
            .map(|(day, flow)| *flow * (days - Decimal::from(*day)) / days)
            .sum();
        percent(gain, start + weighted)
    };
    (gain, simple, time_weighted, money_weighted)
}

/// Returns per currency over `[from, to]`, or from the currency's first snapshot when that
/// is later: before it the value is unknown (Plaid has no historical holdings), not zero,
/// and a return from an unknown start would be meaningless.
pub async fn returns(
    db: &DatabaseConnection,
    user_id: i64,
    scope: &AccountScope,
    account_days: &AccountDays,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<PeriodReturn>> {
    let points = history::value_history(account_days, from, to, Interval::Day);
    let flows = flows(db, user_id, scope, from, to).await?;
    let mut values: BTreeMap<String, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
    for p in points {
        values
            .entry(p.currency.clone())
            .or_default()
            .insert(p.date, p.market_value);
    }
    Ok(values
        .into_iter()
        .filter_map(|(currency, by_day)| {
            let start = *by_day.keys().next()?;
            let series: Vec<Decimal> = start
                .iter_days()
                .take_while(|d| *d <= to)
                .map(|d| by_day.get(&d).copied().unwrap_or_default())
                .collect();
            let by_offset: BTreeMap<i64, Decimal> = flows
                .get(&currency)
                .into_iter()
                .flatten()
                .filter(|(d, _)| **d > start)
                .map(|(d, v)| ((*d - start).num_days(), *v))
                .collect();
            let (gain, simple, twr, mwr) = compute(&series, &by_offset);
            Some(PeriodReturn {
                currency,
                from: start,
                to,
                start_value: series.first().copied().unwrap_or_default(),
                end_value: series.last().copied().unwrap_or_default(),
                net_flows: by_offset.values().copied().sum(),
                gain,
                simple_return: simple,
                time_weighted_return: twr,
                money_weighted_return: mwr,
            })
        })
        .collect())
}

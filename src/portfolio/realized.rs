//! Realized gains by the average-cost method.
//!
//! For each (account, security), buys and sells are replayed in date order from the first
//! transaction on record, as a signed position: long after buys, short after `sell short`.
//! A trade in the position's direction (or opening one) adds its units and its cash to the
//! position's open value: a buy's `amount` (price plus fees), a short sale's proceeds. A
//! trade against the position closes units at the position's average: a sell's proceeds
//! `-amount` against the average cost of the units sold; a buy to cover's cost `amount`
//! against the average proceeds of the units covered. Units closed that the record has no
//! opening for (history older than Plaid's 24 months) are left out of the gain and reported
//! as `quantity_without_basis`; a buy beyond a short opens a long with the rest. When a
//! position reaches zero it is closed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder};

use crate::db::accounts::AccountScope;
use crate::db::entities::investment_transactions as transactions;
use crate::db::filter::{Range, TextMatch};
use crate::db::transactions::{TransactionFilter, live};
use crate::error::ApiResult;

/// Decimal places kept by the average-cost division.
pub const COST_SCALE: u32 = 10;

/// Realized figures of one (account, security, currency) over a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RealizedGain {
    pub account_id: i64,
    pub security_id: i64,
    pub currency: String,
    pub sells: u32,
    pub quantity_sold: Decimal,
    pub proceeds: Decimal,
    pub cost_basis: Decimal,
    pub realized_gain: Decimal,
    /// Units sold that the record has no purchase for (left out of the gain).
    pub quantity_without_basis: Decimal,
}

/// A position that went to zero within the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedPosition {
    pub account_id: i64,
    pub security_id: i64,
    pub currency: String,
    pub opened_on: NaiveDate,
    pub closed_on: NaiveDate,
    /// Units opened (bought, or sold short) from opening to closing.
    pub quantity: Decimal,
    pub proceeds: Decimal,
    pub cost_basis: Decimal,
    pub realized_gain: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RealizedGains {
    pub positions: Vec<RealizedGain>,
    pub closed: Vec<ClosedPosition>,
}

/// The realized figures of one currency, over all positions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RealizedTotal {
    pub currency: String,
    pub proceeds: Decimal,
    pub cost_basis: Decimal,
    pub realized_gain: Decimal,
}

impl RealizedGains {
    /// One entry per currency, sorted by currency.
    pub fn totals(&self) -> Vec<RealizedTotal> {
        let mut totals: BTreeMap<&str, RealizedTotal> = BTreeMap::new();
        for p in &self.positions {
            let t = totals.entry(&p.currency).or_insert_with(|| RealizedTotal {
                currency: p.currency.clone(),
                ..Default::default()
            });
            t.proceeds += p.proceeds;
            t.cost_basis += p.cost_basis;
            t.realized_gain += p.realized_gain;
        }
        totals.into_values().collect()
    }
}

/// A position being replayed: `quantity` is signed (negative when short); `open_value` is
/// the cash of its opening trades not yet closed (cost of a long, proceeds of a short).
#[derive(Default)]
struct Position {
    quantity: Decimal,
    open_value: Decimal,
    opened_on: Option<NaiveDate>,
    cycle_opened: Decimal,
    cycle_proceeds: Decimal,
    cycle_cost: Decimal,
}

/// One buy or sell, as the replay needs it.
#[derive(Clone, Debug)]
pub struct Trade {
    pub account_id: i64,
    pub security_id: i64,
    pub currency: String,
    pub date: NaiveDate,
    pub is_buy: bool,
    /// `sell short`: a sale that may open or extend a short position.
    pub opens_short: bool,
    /// `buy to cover`: a purchase that only closes a short position.
    pub closes_short: bool,
    pub quantity: Decimal,
    pub amount: Decimal,
}

/// Cash scaled to the part `part / whole` of a trade or position.
fn share(value: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if part == whole {
        value
    } else {
        (value * part / whole).round_dp(COST_SCALE)
    }
}

/// Replays `trades` (in date order) and reports the closing trades within `[from, to]`.
pub fn replay(trades: &[Trade], from: NaiveDate, to: NaiveDate) -> RealizedGains {
    let mut positions: BTreeMap<(i64, i64, String), Position> = BTreeMap::new();
    let mut realized: BTreeMap<(i64, i64, String), RealizedGain> = BTreeMap::new();
    let mut closed = Vec::new();
    for t in trades.iter().filter(|t| t.date <= to) {
        let key = (t.account_id, t.security_id, t.currency.clone());
        let position = positions.entry(key.clone()).or_default();
        let units = t.quantity.abs();
        if units.is_zero() {
            continue;
        }
        // Units this trade closes (those of a position the other way), units it should
        // have closed but the record has no opening for, and units that open or extend.
        let closing = if (t.is_buy && position.quantity < Decimal::ZERO)
            || (!t.is_buy && position.quantity > Decimal::ZERO)
        {
            units.min(position.quantity.abs())
        } else {
            Decimal::ZERO
        };
        let closes_only = if t.is_buy {
            t.closes_short
        } else {
            !t.opens_short
        };
        let without_basis = if closes_only {
            units - closing
        } else {
            Decimal::ZERO
        };
        let opening = units - closing - without_basis;
        if t.date >= from && !(closing + without_basis).is_zero() {
            let entry = realized.entry(key.clone()).or_insert_with(|| RealizedGain {
                account_id: t.account_id,
                security_id: t.security_id,
                currency: t.currency.clone(),
                ..Default::default()
            });
            entry.sells += 1;
            entry.quantity_sold += closing + without_basis;
            entry.quantity_without_basis += without_basis;
        }

        if !closing.is_zero() {
            let trade_cash = share(t.amount, closing, units);
            let released = share(position.open_value, closing, position.quantity.abs());
            // A long's sale brings `-amount` against its cost; a short's cover costs
            // `amount` against the proceeds it opened with.
            let (proceeds, cost) = if t.is_buy {
                (released, trade_cash)
            } else {
                (-trade_cash, released)
            };
            position.open_value -= released;
            position.quantity += if t.is_buy { closing } else { -closing };
            position.cycle_proceeds += proceeds;
            position.cycle_cost += cost;
            let closes = position.quantity.is_zero();
            if t.date >= from {
                let entry = realized.get_mut(&key).expect("entered above");
                entry.proceeds += proceeds;
                entry.cost_basis += cost;
                entry.realized_gain += proceeds - cost;
                if closes {
                    closed.push(ClosedPosition {
                        account_id: t.account_id,
                        security_id: t.security_id,
                        currency: t.currency.clone(),
                        opened_on: position.opened_on.unwrap_or(t.date),
                        closed_on: t.date,
                        quantity: position.cycle_opened,
                        proceeds: position.cycle_proceeds,
                        cost_basis: position.cycle_cost,
                        realized_gain: position.cycle_proceeds - position.cycle_cost,
                    });
                }
            }
            if closes {
                position.opened_on = None;
            }
        }
        if !opening.is_zero() {
            if position.quantity.is_zero() {
                position.opened_on = Some(t.date);
                position.cycle_opened = Decimal::ZERO;
                position.cycle_proceeds = Decimal::ZERO;
                position.cycle_cost = Decimal::ZERO;
            }
            // The opening part's cash: what a long cost, what a short brought in.
            let cash = share(t.amount, opening, units);
            position.open_value += if t.is_buy { cash } else { -cash };
            position.quantity += if t.is_buy { opening } else { -opening };
            position.cycle_opened += opening;
        }
    }
    RealizedGains {
        positions: realized.into_values().collect(),
        closed,
    }
}

/// The caller's buys and sells in scope through `to`, oldest first.
async fn trades(
    db: &DatabaseConnection,
    user_id: i64,
    scope: &AccountScope,
    to: NaiveDate,
) -> ApiResult<Vec<Trade>> {
    let filter = TransactionFilter {
        scope: scope.clone(),
        transaction_type: Some(TextMatch {
            any_of: Some(vec!["buy".to_owned(), "sell".to_owned()]),
            ..Default::default()
        }),
        date: Some(Range {
            lte: Some(to),
            ..Default::default()
        }),
        ..Default::default()
    };
    let rows = live(db.get_database_backend(), user_id, &filter)
        .filter(transactions::Column::SecurityId.is_not_null())
        .order_by_asc(transactions::Column::Date)
        .order_by_asc(transactions::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|t| {
            Some(Trade {
                account_id: t.account_id,
                security_id: t.security_id?,
                currency: crate::db::holdings::currency_of_codes(
                    t.iso_currency_code.as_deref(),
                    t.unofficial_currency_code.as_deref(),
                ),
                date: t.date,
                is_buy: t.transaction_type == "buy",
                opens_short: t.subtype == "sell short",
                closes_short: t.subtype == "buy to cover",
                quantity: t.quantity.0,
                amount: t.amount.0,
            })
        })
        .collect())
}

pub async fn realized_gains(
    db: &DatabaseConnection,
    user_id: i64,
    scope: &AccountScope,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<RealizedGains> {
    Ok(replay(&trades(db, user_id, scope, to).await?, from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn trade(day: u32, subtype: &str, quantity: &str, amount: &str) -> Trade {
        Trade {
            account_id: 1,
            security_id: 2,
            currency: "USD".to_owned(),
            date: NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
            is_buy: subtype.starts_with("buy"),
            opens_short: subtype == "sell short",
            closes_short: subtype == "buy to cover",
            quantity: d(quantity),
            amount: d(amount),
        }
    }

    fn year() -> (NaiveDate, NaiveDate) {
        (
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        )
    }

    #[test]
    fn a_short_is_covered_at_its_average_proceeds() {
        let (from, to) = year();
        let r = replay(
            &[
                trade(1, "sell short", "-10", "-1000"),
                trade(2, "buy to cover", "4", "360"),
                trade(3, "buy to cover", "6", "660"),
            ],
            from,
            to,
        );
        let p = &r.positions[0];
        assert_eq!((p.sells, p.quantity_sold), (2, d("10")));
        assert_eq!((p.proceeds, p.cost_basis), (d("1000"), d("1020")));
        assert_eq!(p.realized_gain, d("-20"));
        assert_eq!(r.closed.len(), 1);
        assert_eq!(r.closed[0].quantity, d("10"));
        assert_eq!(r.closed[0].realized_gain, d("-20"));
    }

    #[test]
    fn a_cover_without_a_short_on_record_has_no_basis_and_opens_nothing() {
        let (from, to) = year();
        let r = replay(
            &[
                trade(1, "buy to cover", "3", "300"),
                trade(2, "sell", "-2", "-250"),
            ],
            from,
            to,
        );
        let p = &r.positions[0];
        assert_eq!(p.quantity_without_basis, d("5"));
        assert_eq!(p.realized_gain, Decimal::ZERO);
        assert!(r.closed.is_empty());
    }

    #[test]
    fn a_short_sale_beyond_a_long_closes_it_then_opens_a_short() {
        let (from, to) = year();
        let r = replay(
            &[
                trade(1, "buy", "5", "500"),
                trade(2, "sell short", "-8", "-960"),
                trade(3, "buy to cover", "3", "300"),
            ],
            from,
            to,
        );
        let p = &r.positions[0];
        // 5 long closed: 600 against 500; 3 short covered: 360 against 300.
        assert_eq!((p.proceeds, p.cost_basis), (d("960"), d("800")));
        assert_eq!(p.realized_gain, d("160"));
        assert_eq!(p.quantity_without_basis, Decimal::ZERO);
        assert_eq!(r.closed.len(), 2);
    }
}

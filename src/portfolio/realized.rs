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

use crate::db::scope::UserScope;
use crate::domain::{AccountScope, Range, TransactionFilter};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, QueryFilter};

use crate::db::entities::investment_transactions as transactions;

use crate::error::ApiResult;
use crate::exact::check_bound;
use crate::vocabulary::{TradeSide, UnitChange, trade_side, unit_change};

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
/// the cash of its opening trades not yet closed (cost of a long, proceeds of a short);
/// `without_basis` is the part of a long's units that came in with no cost on record
/// (transfers in, units split off a position the record never saw opened).
#[derive(Default)]
struct Position {
    quantity: Decimal,
    open_value: Decimal,
    without_basis: Decimal,
    opened_on: Option<NaiveDate>,
    cycle_opened: Decimal,
    cycle_proceeds: Decimal,
    cycle_cost: Decimal,
}

/// What an event does to a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Trade(TradeSide),
    Units(UnitChange),
}

/// One event of a position's history, as the replay needs it.
#[derive(Clone, Debug)]
pub struct Trade {
    /// The row id: the last tie-break of the true order, so that a replay is repeatable.
    pub id: i64,
    pub account_id: i64,
    pub security_id: i64,
    pub currency: String,
    pub date: NaiveDate,
    pub datetime: Option<DateTime<Utc>>,
    pub action: Action,
    pub quantity: Decimal,
    pub amount: Decimal,
}

impl Trade {
    /// Order within a day when times are not all known: units reshaped first (a split is
    /// effective at the open), then acquisitions, then disposals.
    fn rank(&self) -> u8 {
        match self.action {
            Action::Units(UnitChange::Reshape) => 0,
            Action::Trade(side) if side.acquires() => 1,
            Action::Units(UnitChange::Transfer) if self.quantity > Decimal::ZERO => 1,
            _ => 2,
        }
    }
}

/// Sorts events into their true order: by position, date, then `transaction_datetime` when
/// every event of that position and day has one, then acquisitions before disposals, then
/// row id. Never the order Plaid's pages came in.
pub fn sort_true_order(trades: &mut [Trade]) {
    let mut timed: HashMap<(i64, i64, NaiveDate), bool> = HashMap::new();
    for t in trades.iter() {
        *timed
            .entry((t.account_id, t.security_id, t.date))
            .or_insert(true) &= t.datetime.is_some();
    }
    trades.sort_by(|a, b| {
        let day = (a.account_id, a.security_id, a.date);
        day.cmp(&(b.account_id, b.security_id, b.date))
            .then_with(|| {
                if timed[&day] {
                    a.datetime.cmp(&b.datetime)
                } else {
                    Ordering::Equal
                }
            })
            .then_with(|| a.rank().cmp(&b.rank()))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Cash scaled to the part `part / whole` of a trade or position. When `value × part`
/// would not fit, the ratio is taken first (`part ≤ whole`, so it cannot overflow).
fn share(value: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if part == whole {
        value
    } else if whole.is_zero() {
        Decimal::ZERO
    } else {
        value
            .checked_mul(part)
            .and_then(|v| v.checked_div(whole))
            .unwrap_or_else(|| value * (part / whole))
            .round_dp(COST_SCALE)
    }
}

impl Position {
    /// Units change without cash: a split carries the cost over the new units, and the
    /// units without basis keep their share of the position.
    fn reshape(&mut self, delta: Decimal) {
        let before = self.quantity;
        self.quantity += delta;
        if before.is_zero() || (before > Decimal::ZERO) != (self.quantity > Decimal::ZERO) {
            // Units the record never saw opened: they carry no basis.
            self.without_basis = self.quantity.max(Decimal::ZERO);
            if self.quantity <= Decimal::ZERO {
                self.open_value = Decimal::ZERO;
            }
        } else if before > Decimal::ZERO {
            self.without_basis = share(self.without_basis, self.quantity, before);
        }
    }

    /// Units moved in (without basis) or out (at the average cost, no gain).
    fn transfer(&mut self, delta: Decimal) {
        if delta > Decimal::ZERO {
            if self.quantity.is_zero() {
                self.opened_on = None;
            }
            self.quantity += delta;
            self.without_basis += delta;
            return;
        }
        let out = (-delta).min(self.quantity.max(Decimal::ZERO));
        if out.is_zero() {
            return;
        }
        let out_without_basis = share(self.without_basis, out, self.quantity);
        let known = self.quantity - self.without_basis;
        self.open_value -= share(self.open_value, out - out_without_basis, known);
        self.without_basis -= out_without_basis;
        self.quantity -= out;
    }
}

/// Replays `trades` (sorted into their true order here) and reports the closing trades
/// within `[from, to]`.
pub fn replay(trades: &[Trade], from: NaiveDate, to: NaiveDate) -> RealizedGains {
    let mut trades: Vec<Trade> = trades.iter().filter(|t| t.date <= to).cloned().collect();
    sort_true_order(&mut trades);
    let mut positions: BTreeMap<(i64, i64, String), Position> = BTreeMap::new();
    let mut realized: BTreeMap<(i64, i64, String), RealizedGain> = BTreeMap::new();
    let mut closed = Vec::new();
    for t in &trades {
        let key = (t.account_id, t.security_id, t.currency.clone());
        let position = positions.entry(key.clone()).or_default();
        let side = match t.action {
            Action::Trade(side) => side,
            Action::Units(UnitChange::Reshape) => {
                position.reshape(t.quantity);
                continue;
            }
            Action::Units(UnitChange::Transfer) => {
                position.transfer(t.quantity);
                continue;
            }
        };
        let is_buy = side.acquires();
        let units = t.quantity.abs();
        if units.is_zero() {
            continue;
        }
        // Units this trade closes (those of a position the other way), units it should
        // have closed but the record has no opening for, and units that open or extend.
        let closing = if (is_buy && position.quantity < Decimal::ZERO)
            || (!is_buy && position.quantity > Decimal::ZERO)
        {
            units.min(position.quantity.abs())
        } else {
            Decimal::ZERO
        };
        let closes_only = matches!(side, TradeSide::BuyToCover | TradeSide::Sell);
        let beyond = if closes_only {
            units - closing
        } else {
            Decimal::ZERO
        };
        // Of the long units closed, those that came in without a cost on record.
        let closing_without_basis = if is_buy {
            Decimal::ZERO
        } else {
            share(position.without_basis, closing, position.quantity.abs())
        };
        let without_basis = beyond + closing_without_basis;
        let opening = units - closing - beyond;
        if t.date >= from && !(closing + beyond).is_zero() {
            let entry = realized.entry(key.clone()).or_insert_with(|| RealizedGain {
                account_id: t.account_id,
                security_id: t.security_id,
                currency: t.currency.clone(),
                ..Default::default()
            });
            entry.sells += 1;
            entry.quantity_sold += closing + beyond;
            entry.quantity_without_basis += without_basis;
        }

        if !closing.is_zero() {
            let known = closing - closing_without_basis;
            let trade_cash = share(t.amount, known, units);
            let released = share(
                position.open_value,
                known,
                position.quantity.abs() - position.without_basis,
            );
            // A long's sale brings `-amount` against its cost; a short's cover costs
            // `amount` against the proceeds it opened with.
            let (proceeds, cost) = if is_buy {
                (released, trade_cash)
            } else {
                (-trade_cash, released)
            };
            position.open_value -= released;
            position.without_basis -= closing_without_basis;
            position.quantity += if is_buy { closing } else { -closing };
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
                position.without_basis = Decimal::ZERO;
            }
        }
        if !opening.is_zero() {
            if position.quantity.is_zero() || position.opened_on.is_none() {
                position.opened_on = Some(t.date);
                position.cycle_opened = Decimal::ZERO;
                position.cycle_proceeds = Decimal::ZERO;
                position.cycle_cost = Decimal::ZERO;
            }
            // The opening part's cash: what a long cost, what a short brought in.
            let cash = share(t.amount, opening, units);
            position.open_value += if is_buy { cash } else { -cash };
            position.quantity += if is_buy { opening } else { -opening };
            position.cycle_opened += opening;
        }
    }
    closed.sort_by_key(|c| (c.closed_on, c.account_id, c.security_id));
    RealizedGains {
        positions: realized.into_values().collect(),
        closed,
    }
}

/// The caller's trades and unit changes in scope through `to`.
async fn trades(user: &UserScope, scope: &AccountScope, to: NaiveDate) -> ApiResult<Vec<Trade>> {
    let filter = TransactionFilter {
        scope: scope.clone(),
        date: Some(Range {
            lte: Some(to),
            ..Default::default()
        }),
        ..Default::default()
    };
    let rows = user
        .live_transactions(&filter)
        .filter(transactions::Column::SecurityId.is_not_null())
        .all(user.connection())
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|t| {
            let (kind, subtype) = (t.transaction_type.as_str(), t.subtype.as_str());
            let action = match trade_side(kind, subtype) {
                Some(side) => Action::Trade(side),
                None => Action::Units(unit_change(kind, subtype, true, t.quantity.0, t.amount.0)?),
            };
            Some(Trade {
                id: t.id,
                account_id: t.account_id,
                security_id: t.security_id?,
                currency: crate::db::holdings::currency_of_codes(
                    t.iso_currency_code.as_deref(),
                    t.unofficial_currency_code.as_deref(),
                ),
                date: t.date,
                datetime: t.transaction_datetime,
                action,
                quantity: t.quantity.0,
                amount: t.amount.0,
            })
        })
        .collect())
}

pub async fn realized_gains(
    user: &UserScope,
    scope: &AccountScope,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<RealizedGains> {
    let trades = trades(user, scope, to).await?;
    // Every position, proceeds, cost and total of the replay is bounded by these sums.
    check_bound(
        trades.iter().map(|t| t.amount),
        Decimal::TWO,
        "the trades' amounts",
    )?;
    check_bound(
        trades.iter().map(|t| t.quantity),
        Decimal::TWO,
        "the trades' units",
    )?;
    Ok(replay(&trades, from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A row of (type from the subtype) on March `day`; ids follow the call order.
    fn trade(day: u32, subtype: &str, quantity: &str, amount: &str) -> Trade {
        use std::sync::atomic::{AtomicI64, Ordering};
        static NEXT_ID: AtomicI64 = AtomicI64::new(1);
        let kind = if subtype.starts_with("buy") {
            "buy"
        } else if subtype.starts_with("sell") {
            "sell"
        } else {
            "transfer"
        };
        let (q, a) = (d(quantity), d(amount));
        let action = match trade_side(kind, subtype) {
            Some(side) => Action::Trade(side),
            None => Action::Units(unit_change(kind, subtype, true, q, a).expect("a unit change")),
        };
        Trade {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            account_id: 1,
            security_id: 2,
            currency: "USD".to_owned(),
            date: NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
            datetime: None,
            action,
            quantity: q,
            amount: a,
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

    #[test]
    fn a_sale_listed_before_its_purchase_on_the_same_day_still_realizes() {
        let (from, to) = year();
        // Plaid's page order, newest first: the sale, then the purchase of that morning.
        let r = replay(
            &[
                trade(5, "sell", "-10", "-1100"),
                trade(5, "buy", "10", "1000"),
            ],
            from,
            to,
        );
        // Bought 10 for 1000, sold 10 for 1100: gain 100, nothing without basis.
        let p = &r.positions[0];
        assert_eq!(p.realized_gain, d("100"));
        assert_eq!(p.quantity_without_basis, Decimal::ZERO);
        assert_eq!(r.closed.len(), 1);
    }

    #[test]
    fn times_decide_the_order_within_a_day_when_every_row_has_one() {
        let (from, to) = year();
        let at = |t: &mut Trade, time: &str| {
            t.datetime = Some(format!("2026-03-05T{time}Z").parse().unwrap());
        };
        // 09:30 short 5 at 100, 15:00 cover 5 at 90: a short round trip, gain 50.
        let mut short = trade(5, "sell short", "-5", "-500");
        let mut cover = trade(5, "buy to cover", "5", "450");
        at(&mut short, "09:30:00");
        at(&mut cover, "15:00:00");
        let r = replay(&[cover, short], from, to);
        assert_eq!(r.positions[0].realized_gain, d("50"));
        assert_eq!(r.positions[0].quantity_without_basis, Decimal::ZERO);
    }

    #[test]
    fn a_split_carries_the_cost_over_the_new_units() {
        let (from, to) = year();
        // 10 bought for 1000; a 2:1 split adds 10 units; 20 sold for 1200.
        // Cost 1000 against 1200: a gain of 200, not a loss on 10 units without basis.
        let r = replay(
            &[
                trade(1, "buy", "10", "1000"),
                trade(2, "split", "10", "0"),
                trade(3, "sell", "-20", "-1200"),
            ],
            from,
            to,
        );
        let p = &r.positions[0];
        assert_eq!((p.proceeds, p.cost_basis), (d("1200"), d("1000")));
        assert_eq!(p.realized_gain, d("200"));
        assert_eq!(p.quantity_without_basis, Decimal::ZERO);
        assert_eq!(r.closed[0].quantity, d("10"));
    }

    #[test]
    fn a_reverse_split_keeps_the_cost_on_fewer_units() {
        let (from, to) = year();
        // 10 bought for 1000; 1-for-2 reverse split removes 5; 5 sold for 1100: gain 100.
        let r = replay(
            &[
                trade(1, "buy", "10", "1000"),
                trade(2, "split", "-5", "0"),
                trade(3, "sell", "-5", "-1100"),
            ],
            from,
            to,
        );
        assert_eq!(r.positions[0].realized_gain, d("100"));
    }

    #[test]
    fn units_transferred_in_have_no_basis_and_a_sale_splits_them_pro_rata() {
        let (from, to) = year();
        // 6 bought for 600, 4 transferred in (no cost on record), 5 sold for 650.
        // Of the 5 sold, 5 × 4/10 = 2 have no basis; 3 sold for 650 × 3/5 = 390 against
        // 600 × 3/6 = 300: a gain of 90.
        let r = replay(
            &[
                trade(1, "buy", "6", "600"),
                trade(2, "transfer", "4", "0"),
                trade(3, "sell", "-5", "-650"),
            ],
            from,
            to,
        );
        let p = &r.positions[0];
        assert_eq!(p.quantity_without_basis, d("2"));
        assert_eq!((p.proceeds, p.cost_basis), (d("390"), d("300")));
        assert_eq!(p.realized_gain, d("90"));
    }
}

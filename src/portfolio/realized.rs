//! Realized gains by the average-cost method.
//!
//! For each (account, security), buys and sells are replayed in date order from the first
//! transaction on record. A buy adds its units and its `amount` (price plus fees) to the
//! position's cost. A sell's proceeds are `-amount` (after fees); its cost is the average
//! cost of the units sold, taken out of the position. A sell of more units than the record
//! shows (history older than Plaid's 24 months) gains only on the known units; the rest is
//! reported as `quantity_without_basis`. When a position reaches zero it is closed.

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
    /// Units bought from opening to closing.
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

/// A position being replayed.
#[derive(Default)]
struct Position {
    quantity: Decimal,
    cost: Decimal,
    opened_on: Option<NaiveDate>,
    cycle_bought: Decimal,
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
    pub quantity: Decimal,
    pub amount: Decimal,
}

/// Replays `trades` (in date order) and reports the sells within `[from, to]`.
pub fn replay(trades: &[Trade], from: NaiveDate, to: NaiveDate) -> RealizedGains {
    let mut positions: BTreeMap<(i64, i64, String), Position> = BTreeMap::new();
    let mut realized: BTreeMap<(i64, i64, String), RealizedGain> = BTreeMap::new();
    let mut closed = Vec::new();
    for t in trades.iter().filter(|t| t.date <= to) {
        let key = (t.account_id, t.security_id, t.currency.clone());
        let position = positions.entry(key.clone()).or_default();
        let units = t.quantity.abs();
        if t.is_buy {
            if position.quantity.is_zero() {
                position.opened_on = Some(t.date);
                position.cycle_bought = Decimal::ZERO;
                position.cycle_proceeds = Decimal::ZERO;
                position.cycle_cost = Decimal::ZERO;
            }
            position.quantity += units;
            position.cost += t.amount;
            position.cycle_bought += units;
            continue;
        }
        if units.is_zero() {
            continue;
        }
        let known = units.min(position.quantity.max(Decimal::ZERO));
        let cost = if known == position.quantity {
            position.cost
        } else {
            (position.cost * known / position.quantity).round_dp(COST_SCALE)
        };
        let proceeds = -t.amount;
        let proceeds_known = if known == units {
            proceeds
        } else {
            (proceeds * known / units).round_dp(COST_SCALE)
        };
        position.quantity -= known;
        position.cost -= cost;
        position.cycle_proceeds += proceeds_known;
        position.cycle_cost += cost;
        let closes = position.quantity.is_zero() && !known.is_zero();
        if t.date < from {
            if closes {
                position.opened_on = None;
            }
            continue;
        }
        let entry = realized.entry(key.clone()).or_insert_with(|| RealizedGain {
            account_id: t.account_id,
            security_id: t.security_id,
            currency: t.currency.clone(),
            ..Default::default()
        });
        entry.sells += 1;
        entry.quantity_sold += units;
        entry.proceeds += proceeds_known;
        entry.cost_basis += cost;
        entry.realized_gain += proceeds_known - cost;
        entry.quantity_without_basis += units - known;
        if closes {
            closed.push(ClosedPosition {
                account_id: t.account_id,
                security_id: t.security_id,
                currency: t.currency.clone(),
                opened_on: position.opened_on.unwrap_or(t.date),
                closed_on: t.date,
                quantity: position.cycle_bought,
                proceeds: position.cycle_proceeds,
                cost_basis: position.cycle_cost,
                realized_gain: position.cycle_proceeds - position.cycle_cost,
            });
            position.opened_on = None;
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
                currency: t
                    .iso_currency_code
                    .or(t.unofficial_currency_code)
                    .unwrap_or_else(|| crate::db::holdings::NO_CURRENCY.to_owned()),
                date: t.date,
                is_buy: t.transaction_type == "buy",
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
    if from > to {
        return Err(crate::error::ApiError::bad_input(format!(
            "`from` {from} is after `to` {to}"
        )));
    }
    Ok(replay(&trades(db, user_id, scope, to).await?, from, to))
}

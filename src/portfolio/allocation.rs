//! Value, cost and unrealized gain of the holdings in scope, per currency, grouped by
//! account, institution, asset class (security type, with cash as its own line), sector
//! and currency, with each group's weight in its currency's total.
//!
//! The database sums the holdings by (currency, account, asset class, sector, has cost
//! basis, has price) in one statement; the groupings are exact roll-ups of those few lines.

use crate::db::scope::UserScope;
use crate::domain::{AccountScope, HoldingFilter};
use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ExprTrait, JoinType, QuerySelect, QueryTrait, RelationTrait};

use super::{CASH, percent};

use crate::db::Numeric;
use crate::db::aggregate::{self, Aggregation, KeyKind, flag};
use crate::db::decimal::comparable;
use crate::db::entities::{accounts, investment_holdings as holdings, plaid_items, securities};
use crate::db::holdings::currency_expr;
use crate::error::ApiResult;
use crate::exact::check_bound;

/// Value, cost and gain of a set of holdings in one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub market_value: Decimal,
    /// Sum of the cost basis of the holdings that report one.
    pub cost_basis: Decimal,
    /// Value minus cost basis, over the holdings that report a cost basis.
    pub unrealized_gain: Decimal,
    pub holdings_count: u32,
    pub holdings_without_cost_basis: u32,
    /// Holdings whose institution price is zero (Plaid had no price).
    pub holdings_without_price: u32,
    /// Percent of the currency's total market value (4 places; a grouping's weights add up
    /// to exactly 100 by largest remainder); `None` when that total is zero.
    pub weight: Option<Decimal>,
}

impl Figures {
    fn add(&mut self, line: &Line) {
        self.market_value += line.value;
        self.holdings_count += line.count as u32;
        if line.has_basis {
            self.cost_basis += line.basis;
            self.unrealized_gain += line.value - line.basis;
        } else {
            self.holdings_without_cost_basis += line.count as u32;
        }
        if !line.priced {
            self.holdings_without_price += line.count as u32;
        }
    }

    pub fn unrealized_gain_percent(&self) -> Option<Decimal> {
        percent(self.unrealized_gain, self.cost_basis)
    }
}

/// Figures of one group in one currency.
#[derive(Clone, Debug)]
pub struct GroupFigures<G> {
    pub group: G,
    pub currency: String,
    pub figures: Figures,
}

/// An institution as the portfolio groups it (from its items).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Institution {
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Institution {
    /// The institution of an account's item (both unknown without one).
    pub fn of(item: Option<&plaid_items::Model>) -> Institution {
        Institution {
            id: item.and_then(|i| i.institution_id.clone()),
            name: item.and_then(|i| i.institution_name.clone()),
        }
    }
}

/// Holdings summed by everything a grouping needs.
#[derive(Clone, Debug)]
struct Line {
    currency: String,
    account_id: i64,
    /// `cash` for cash and cash equivalents, else the security type.
    asset_class: Option<String>,
    sector: Option<String>,
    has_basis: bool,
    priced: bool,
    count: i64,
    value: Decimal,
    basis: Decimal,
}

/// The holdings in scope, summed, with the accounts and items they belong to.
pub struct Allocation {
    lines: Vec<Line>,
    accounts: HashMap<i64, accounts::Model>,
    items: HashMap<i64, plaid_items::Model>,
}

/// True for cash securities (`type = cash`, `CUR:` tickers) and cash equivalents.
pub fn is_cash() -> Expr {
    let security = |c| Expr::col((securities::Entity, c));
    security(securities::Column::SecurityType)
        .eq(CASH)
        .or(security(securities::Column::TickerSymbol).like("CUR:%"))
        .or(security(securities::Column::IsCashEquivalent).eq(true))
}

/// Weights in percent of `total`, rounded to 4 places so that they add up to exactly 100:
/// each is truncated, and the units left over go to the largest remainders.
fn weights(values: &[Decimal], total: Decimal) -> Vec<Option<Decimal>> {
    if total.is_zero() {
        return vec![None; values.len()];
    }
    let unit = Decimal::new(1, super::PERCENT_SCALE);
    let exact: Vec<Decimal> = values
        .iter()
        .map(|v| *v * Decimal::ONE_HUNDRED / total)
        .collect();
    let mut rounded: Vec<Decimal> = exact
        .iter()
        .map(|w| {
            w.round_dp_with_strategy(
                super::PERCENT_SCALE,
                rust_decimal::RoundingStrategy::ToNegativeInfinity,
            )
        })
        .collect();
    let left = Decimal::ONE_HUNDRED - rounded.iter().copied().sum::<Decimal>();
    let mut units = (left / unit)
        .round()
        .to_string()
        .parse::<i64>()
        .unwrap_or(0);
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - rounded[b])
            .cmp(&(exact[a] - rounded[a]))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(values.len().max(1) * 4) {
        if units == 0 {
            break;
        }
        if units > 0 {
            rounded[i] += unit;
            units -= 1;
        } else {
            rounded[i] -= unit;
            units += 1;
        }
    }
    rounded
        .into_iter()
        .map(|mut w| {
            w.rescale(super::PERCENT_SCALE);
            Some(w)
        })
        .collect()
}

/// Adds each line to its (currency, group) figures, sets the weights, and sorts by
/// currency, then largest market value first.
fn grouped<G: Ord + Clone>(lines: &[Line], group_of: impl Fn(&Line) -> G) -> Vec<GroupFigures<G>> {
    let mut map: BTreeMap<(String, G), Figures> = BTreeMap::new();
    for line in lines {
        map.entry((line.currency.clone(), group_of(line)))
            .or_default()
            .add(line);
    }
    let mut out: Vec<GroupFigures<G>> = map
        .into_iter()
        .map(|((currency, group), figures)| GroupFigures {
            group,
            currency,
            figures,
        })
        .collect();
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for g in &out {
        *totals.entry(g.currency.clone()).or_default() += g.figures.market_value;
    }
    for (currency, total) in totals {
        let members: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].currency == currency)
            .collect();
        let values: Vec<Decimal> = members
            .iter()
            .map(|&i| out[i].figures.market_value)
            .collect();
        for (&i, weight) in members.iter().zip(weights(&values, total)) {
            out[i].figures.weight = weight;
        }
    }
    out.sort_by(|a, b| {
        a.currency
            .cmp(&b.currency)
            .then(b.figures.market_value.cmp(&a.figures.market_value))
            .then(a.group.cmp(&b.group))
    });
    out
}

impl Allocation {
    pub async fn load(user: &UserScope, scope: &AccountScope) -> ApiResult<Allocation> {
        let backend = user.connection().get_database_backend();
        let holding = |c| Expr::col((holdings::Entity, c));
        let source = user
            .holdings_matching(&HoldingFilter {
                scope: scope.clone(),
                ..Default::default()
            })
            .join(JoinType::InnerJoin, holdings::Relation::Security.def())
            .into_query();
        let asset_class: Expr = Expr::case(is_cash(), CASH)
            .finally(Expr::col((
                securities::Entity,
                securities::Column::SecurityType,
            )))
            .into();
        let sector: Expr = Expr::case(is_cash(), "Cash")
            .finally(Expr::col((securities::Entity, securities::Column::Sector)))
            .into();
        let groups = aggregate::run(
            user.connection(),
            Aggregation {
                source,
                keys: vec![
                    (currency_expr(), KeyKind::Text),
                    (holding(holdings::Column::AccountId), KeyKind::Int),
                    (asset_class, KeyKind::Text),
                    (sector, KeyKind::Text),
                    (
                        flag(holding(holdings::Column::CostBasis).is_not_null()),
                        KeyKind::Int,
                    ),
                    (
                        flag(
                            comparable(backend, holding(holdings::Column::InstitutionPrice))
                                .ne(Numeric(Decimal::ZERO)),
                        ),
                        KeyKind::Int,
                    ),
                ],
                sums: vec![
                    holding(holdings::Column::InstitutionValue),
                    holding(holdings::Column::CostBasis),
                ],
            },
        )
        .await?;
        let lines: Vec<Line> = groups
            .into_iter()
            .map(|g| {
                let mut keys = g.keys.into_iter();
                let mut next = || keys.next().unwrap_or(aggregate::Key::Null);
                Line {
                    currency: next().into_text().unwrap_or_default(),
                    account_id: next().as_int().unwrap_or_default(),
                    asset_class: next().into_text(),
                    sector: next().into_text(),
                    has_basis: next().as_int() == Some(1),
                    priced: next().as_int() == Some(1),
                    count: g.count,
                    value: g.sums[0],
                    basis: g.sums[1],
                }
            })
            .collect();
        // Every later figure (sums, gains, weights in percent) is bounded by this.
        check_bound(
            lines.iter().flat_map(|l| [l.value, l.basis]),
            Decimal::ONE_HUNDRED,
            "the holdings' value",
        )?;

        let accounts = user
            .by_id::<accounts::Entity>(lines.iter().map(|l| l.account_id))
            .await?;
        let items = user
            .by_id::<plaid_items::Entity>(accounts.values().map(|a| a.item_id))
            .await?;
        Ok(Allocation {
            lines,
            accounts,
            items,
        })
    }

    /// One entry per currency.
    pub fn totals(&self) -> Vec<GroupFigures<()>> {
        grouped(&self.lines, |_| ())
    }

    /// Cash and cash equivalents, one entry per currency (part of the totals, not added to
    /// them; account balances are never added).
    pub fn cash(&self) -> Vec<GroupFigures<()>> {
        let cash: Vec<Line> = self
            .lines
            .iter()
            .filter(|l| l.asset_class.as_deref() == Some(CASH))
            .cloned()
            .collect();
        let mut groups = grouped(&cash, |_| ());
        // Weight of cash in its currency's whole portfolio, not in the cash alone.
        let totals = self.totals();
        for g in &mut groups {
            let total = totals
                .iter()
                .find(|t| t.currency == g.currency)
                .map(|t| t.figures.market_value)
                .unwrap_or_default();
            g.figures.weight = percent(g.figures.market_value, total);
        }
        groups
    }

    pub fn by_account(&self) -> Vec<GroupFigures<accounts::Model>> {
        grouped(&self.lines, |l| l.account_id)
            .into_iter()
            .filter_map(|g| {
                Some(GroupFigures {
                    group: self.accounts.get(&g.group)?.clone(),
                    currency: g.currency,
                    figures: g.figures,
                })
            })
            .collect()
    }

    pub fn institution_of(&self, account_id: i64) -> Institution {
        Institution::of(
            self.accounts
                .get(&account_id)
                .and_then(|a| self.items.get(&a.item_id)),
        )
    }

    pub fn by_institution(&self) -> Vec<GroupFigures<Institution>> {
        grouped(&self.lines, |l| self.institution_of(l.account_id))
    }

    /// By asset class: the security type, with cash and cash equivalents as `cash`.
    pub fn by_security_type(&self) -> Vec<GroupFigures<Option<String>>> {
        grouped(&self.lines, |l| l.asset_class.clone())
    }

    /// By the security's sector (`Cash` for cash; `None` when Plaid gave none).
    pub fn by_sector(&self) -> Vec<GroupFigures<Option<String>>> {
        grouped(&self.lines, |l| l.sector.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn weights_add_up_to_exactly_one_hundred() {
        let w = weights(&[d("1"), d("1"), d("1")], d("3"));
        assert_eq!(
            w,
            vec![Some(d("33.3334")), Some(d("33.3333")), Some(d("33.3333"))]
        );
        let w = weights(&[d("2"), d("1"), d("-0.5")], d("2.5"));
        assert_eq!(w.iter().map(|w| w.unwrap()).sum::<Decimal>(), d("100"));
        assert_eq!(weights(&[d("0")], d("0")), vec![None]);
    }
}

//! Portfolio figures: value, cost basis and unrealized gain, per currency and per group.
//!
//! Amounts in different currencies are never added together: every figure is per currency.
//! Holdings without a cost basis count in value but are left out of cost basis and gain (and
//! counted, so the gap is visible). Sums are exact `Decimal` arithmetic.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::DatabaseConnection;

use crate::db::accounts::AccountScope;
use crate::db::entities::{accounts, investment_holdings as holdings, plaid_items, securities};
use crate::db::holdings::{HoldingFilter, NO_CURRENCY};
use crate::db::{self};
use crate::error::ApiResult;

/// Decimal places of percentages: always this many, rounded half away from zero.
pub const PERCENT_SCALE: u32 = 4;

/// The currency a holding is valued in.
pub fn currency_of(h: &holdings::Model) -> String {
    h.iso_currency_code
        .clone()
        .or_else(|| h.unofficial_currency_code.clone())
        .unwrap_or_else(|| NO_CURRENCY.to_owned())
}

/// `part / whole` in percent, or `None` when `whole` is zero.
pub fn percent(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    part.checked_div(whole)
        .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
        .map(|p| {
            let mut p =
                p.round_dp_with_strategy(PERCENT_SCALE, RoundingStrategy::MidpointAwayFromZero);
            p.rescale(PERCENT_SCALE);
            p
        })
}

/// Unrealized gain of one holding, when it has a cost basis.
pub fn holding_gain(h: &holdings::Model) -> Option<Decimal> {
    h.cost_basis.map(|basis| h.institution_value.0 - basis.0)
}

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
}

impl Figures {
    fn add(&mut self, h: &holdings::Model) {
        self.market_value += h.institution_value.0;
        self.holdings_count += 1;
        match h.cost_basis {
            Some(basis) => {
                self.cost_basis += basis.0;
                self.unrealized_gain += h.institution_value.0 - basis.0;
            }
            None => self.holdings_without_cost_basis += 1,
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

/// Holdings in scope, with the accounts, items and securities they refer to.
pub struct Portfolio {
    holdings: Vec<holdings::Model>,
    accounts: HashMap<i64, accounts::Model>,
    items: HashMap<i64, plaid_items::Model>,
    securities: HashMap<i64, securities::Model>,
}

/// Adds each holding to its (group, currency) figures; sorted by currency, then largest
/// market value first, so the output is stable.
fn grouped<G: Ord + Clone>(
    rows: &[holdings::Model],
    group_of: impl Fn(&holdings::Model) -> G,
) -> Vec<GroupFigures<G>> {
    let mut map: BTreeMap<(String, G), Figures> = BTreeMap::new();
    for h in rows {
        map.entry((currency_of(h), group_of(h))).or_default().add(h);
    }
    let mut out: Vec<GroupFigures<G>> = map
        .into_iter()
        .map(|((currency, group), figures)| GroupFigures {
            group,
            currency,
            figures,
        })
        .collect();
    out.sort_by(|a, b| {
        a.currency
            .cmp(&b.currency)
            .then(b.figures.market_value.cmp(&a.figures.market_value))
            .then(a.group.cmp(&b.group))
    });
    out
}

impl Portfolio {
    pub async fn load(
        db: &DatabaseConnection,
        user_id: i64,
        scope: &AccountScope,
    ) -> ApiResult<Portfolio> {
        let filter = HoldingFilter {
            scope: scope.clone(),
            ..Default::default()
        };
        let holdings = db::holdings::all(db, user_id, &filter).await?;
        let ids = |f: fn(&holdings::Model) -> i64| {
            let mut v: Vec<i64> = holdings.iter().map(f).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let accounts =
            db::find_owned::<accounts::Entity>(db, user_id, &ids(|h| h.account_id)).await?;
        let mut item_ids: Vec<i64> = accounts.iter().map(|a| a.item_id).collect();
        item_ids.sort_unstable();
        item_ids.dedup();
        let items = db::find_owned::<plaid_items::Entity>(db, user_id, &item_ids).await?;
        let securities =
            db::find_owned::<securities::Entity>(db, user_id, &ids(|h| h.security_id)).await?;
        Ok(Portfolio {
            holdings,
            accounts: accounts.into_iter().map(|a| (a.id, a)).collect(),
            items: items.into_iter().map(|i| (i.id, i)).collect(),
            securities: securities.into_iter().map(|s| (s.id, s)).collect(),
        })
    }

    /// One entry per currency.
    pub fn totals(&self) -> Vec<GroupFigures<()>> {
        grouped(&self.holdings, |_| ())
    }

    pub fn by_account(&self) -> Vec<GroupFigures<accounts::Model>> {
        grouped(&self.holdings, |h| h.account_id)
            .into_iter()
            .filter_map(|g| {
                let account = self.accounts.get(&g.group)?.clone();
                Some(GroupFigures {
                    group: account,
                    currency: g.currency,
                    figures: g.figures,
                })
            })
            .collect()
    }

    pub fn by_institution(&self) -> Vec<GroupFigures<Institution>> {
        grouped(&self.holdings, |h| {
            let item = self
                .accounts
                .get(&h.account_id)
                .and_then(|a| self.items.get(&a.item_id));
            Institution {
                id: item.and_then(|i| i.institution_id.clone()),
                name: item.and_then(|i| i.institution_name.clone()),
            }
        })
    }

    /// Grouped by Plaid's security `type` (`None` when Plaid gave none).
    pub fn by_security_type(&self) -> Vec<GroupFigures<Option<String>>> {
        grouped(&self.holdings, |h| {
            self.securities
                .get(&h.security_id)
                .and_then(|s| s.security_type.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_and_refuses_zero() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(percent(d("1"), d("3")), Some(d("33.3333")));
        assert_eq!(percent(d("2"), d("3")), Some(d("66.6667")));
        assert_eq!(percent(d("1"), Decimal::ZERO), None);
    }
}

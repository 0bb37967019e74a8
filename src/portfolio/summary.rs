//! Sums of investment transactions by month, year, type, subtype, security, account or
//! institution, and the named monthly series (dividends, interest, fees...). Cancelled
//! transactions and `cancel` rows are left out.

use crate::db::scope::UserScope;
use crate::domain::TransactionFilter;
use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use sea_orm::QueryTrait;
use sea_orm::sea_query::Expr;

use crate::db::aggregate::{self, Aggregation, Key, KeyKind, date_text};
use crate::db::entities::{accounts, investment_transactions as transactions, plaid_items};
use crate::db::transactions::currency_expr;
use crate::error::ApiResult;
use crate::exact::Exact;

use super::allocation::Institution;
use crate::vocabulary::{Series, series_of};

/// A grouping of the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SummaryGroup {
    Month,
    Year,
    Type,
    Subtype,
    Security,
    Account,
    Institution,
}

/// The key values of one summary row; only the requested groupings are set.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SummaryKeys {
    /// `YYYY-MM`.
    pub month: Option<String>,
    pub year: Option<i32>,
    pub transaction_type: Option<String>,
    pub subtype: Option<String>,
    pub security_id: Option<i64>,
    pub account_id: Option<i64>,
    pub institution: Option<Institution>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    pub keys: SummaryKeys,
    pub currency: String,
    pub count: i64,
    pub amount: Decimal,
    pub fees: Decimal,
    pub quantity: Decimal,
}

fn col(c: transactions::Column) -> Expr {
    Expr::col((transactions::Entity, c))
}

/// One row per (requested keys, currency), sorted by keys then currency.
pub async fn summary(
    user: &UserScope,
    filter: &TransactionFilter,
    group_by: &[SummaryGroup],
) -> ApiResult<Vec<SummaryRow>> {
    let mut group_by = group_by.to_vec();
    group_by.sort();
    group_by.dedup();
    // Institutions are summed by account in the database and rolled up here.
    let by_institution = group_by.contains(&SummaryGroup::Institution);
    let mut keys: Vec<(Expr, KeyKind)> = vec![(currency_expr(), KeyKind::Text)];
    let mut sql_groups = Vec::new();
    for g in &group_by {
        let key = match g {
            SummaryGroup::Month => (date_text(col(transactions::Column::Date), 7), KeyKind::Text),
            SummaryGroup::Year => (date_text(col(transactions::Column::Date), 4), KeyKind::Text),
            SummaryGroup::Type => (col(transactions::Column::TransactionType), KeyKind::Text),
            SummaryGroup::Subtype => (col(transactions::Column::Subtype), KeyKind::Text),
            SummaryGroup::Security => (col(transactions::Column::SecurityId), KeyKind::Int),
            SummaryGroup::Account | SummaryGroup::Institution => {
                if sql_groups.contains(&SummaryGroup::Account) {
                    continue;
                }
                sql_groups.push(SummaryGroup::Account);
                keys.push((col(transactions::Column::AccountId), KeyKind::Int));
                continue;
            }
        };
        sql_groups.push(*g);
        keys.push(key);
    }
    let groups = aggregate::run(
        user.connection(),
        Aggregation {
            source: user.live_transactions(filter).into_query(),
            keys,
            sums: vec![
                col(transactions::Column::Amount),
                col(transactions::Column::Fees),
                col(transactions::Column::Quantity),
            ],
        },
    )
    .await?;

    let institutions = if by_institution {
        let account_key = 1 + sql_groups
            .iter()
            .position(|g| *g == SummaryGroup::Account)
            .expect("grouped by account for institutions");
        let accounts = groups.iter().filter_map(|g| g.keys[account_key].as_int());
        institutions_of_accounts(user, accounts).await?
    } else {
        HashMap::new()
    };
    let mut rows: BTreeMap<(SummaryKeys, String), (i64, [Decimal; 3])> = BTreeMap::new();
    for g in groups {
        let mut values = g.keys.into_iter();
        let currency = values.next().and_then(Key::into_text).unwrap_or_default();
        let mut keys = SummaryKeys::default();
        for (group, value) in sql_groups.iter().zip(values) {
            match group {
                SummaryGroup::Month => keys.month = value.into_text(),
                SummaryGroup::Year => keys.year = value.as_text().and_then(|y| y.parse().ok()),
                SummaryGroup::Type => keys.transaction_type = value.into_text(),
                SummaryGroup::Subtype => keys.subtype = value.into_text(),
                SummaryGroup::Security => keys.security_id = value.as_int(),
                SummaryGroup::Account | SummaryGroup::Institution => {
                    let account = value.as_int();
                    if group_by.contains(&SummaryGroup::Account) {
                        keys.account_id = account;
                    }
                    if by_institution {
                        keys.institution = Some(
                            account
                                .and_then(|a| institutions.get(&a).cloned())
                                .unwrap_or_else(|| Institution::of(None)),
                        );
                    }
                }
            }
        }
        let entry = rows
            .entry((keys, currency))
            .or_insert((0, [Decimal::ZERO; 3]));
        entry.0 += g.count;
        for (total, sum) in entry.1.iter_mut().zip(g.sums) {
            total.add_exact(sum, "a summary total")?;
        }
    }
    Ok(rows
        .into_iter()
        .map(|((keys, currency), (count, sums))| SummaryRow {
            keys,
            currency,
            count,
            amount: sums[0],
            fees: sums[1],
            quantity: sums[2],
        })
        .collect())
}

/// The institution of each of these accounts.
async fn institutions_of_accounts(
    user: &UserScope,
    account_ids: impl IntoIterator<Item = i64>,
) -> ApiResult<HashMap<i64, Institution>> {
    let accounts = user.by_id::<accounts::Entity>(account_ids).await?;
    let items = user
        .by_id::<plaid_items::Entity>(accounts.values().map(|a| a.item_id))
        .await?;
    Ok(accounts
        .into_iter()
        .map(|(id, a)| (id, Institution::of(items.get(&a.item_id))))
        .collect())
}

/// One month of one currency: each series' total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthFlows {
    pub month: String,
    pub currency: String,
    pub dividends: Decimal,
    pub interest: Decimal,
    pub capital_gains: Decimal,
    pub fees: Decimal,
    pub taxes: Decimal,
    pub contributions: Decimal,
    pub withdrawals: Decimal,
}

/// The named series by month (and currency), from the summary by month, type and subtype.
pub async fn monthly_flows(
    user: &UserScope,
    filter: &TransactionFilter,
) -> ApiResult<Vec<MonthFlows>> {
    let rows = summary(
        user,
        filter,
        &[
            SummaryGroup::Month,
            SummaryGroup::Type,
            SummaryGroup::Subtype,
        ],
    )
    .await?;
    let mut months: BTreeMap<(String, String), MonthFlows> = BTreeMap::new();
    for row in rows {
        let (Some(month), Some(kind), Some(subtype)) = (
            row.keys.month.as_deref(),
            row.keys.transaction_type.as_deref(),
            row.keys.subtype.as_deref(),
        ) else {
            continue;
        };
        let entry = months
            .entry((month.to_owned(), row.currency.clone()))
            .or_insert_with(|| MonthFlows {
                month: month.to_owned(),
                currency: row.currency.clone(),
                ..Default::default()
            });
        let Some((series, sign)) = series_of(kind, subtype) else {
            continue;
        };
        let total = match series {
            Series::Dividends => &mut entry.dividends,
            Series::Interest => &mut entry.interest,
            Series::CapitalGains => &mut entry.capital_gains,
            Series::Fees => &mut entry.fees,
            Series::Taxes => &mut entry.taxes,
            Series::Contributions => &mut entry.contributions,
            Series::Withdrawals => &mut entry.withdrawals,
        };
        // The sign is ±1: the product cannot overflow.
        total.add_exact(row.amount * sign, "a monthly total")?;
    }
    Ok(months.into_values().collect())
}

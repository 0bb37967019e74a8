use crate::domain::AccountScope;
use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::NaiveDate;

use super::{Account, Security};

use crate::graphql::scalars::{Date, DecimalScalar};
use crate::portfolio::{self as service, Figures, GroupFigures, Interval};

/// The holdings and transactions of a set of accounts (all of yours, or a filter's).
pub struct Portfolio {
    scope: AccountScope,
}

impl Portfolio {
    pub fn new(scope: AccountScope) -> Self {
        Portfolio { scope }
    }
}

/// Spacing of history points.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum HistoryInterval {
    /// Every day.
    Day,
    /// The last day (Sunday) of each week; the last point is `to`.
    Week,
    /// The last day of each month; the last point is `to`.
    Month,
}

impl From<HistoryInterval> for Interval {
    fn from(value: HistoryInterval) -> Self {
        match value {
            HistoryInterval::Day => Interval::Day,
            HistoryInterval::Week => Interval::Week,
            HistoryInterval::Month => Interval::Month,
        }
    }
}

/// The period of `from` and `to` arguments (see [`service::period`]).
pub(crate) fn period(
    ctx: &Context<'_>,
    from: Option<Date>,
    to: Option<Date>,
) -> crate::error::ApiResult<(NaiveDate, NaiveDate)> {
    service::period(
        from.map(|d| d.0),
        to.map(|d| d.0),
        crate::graphql::clock(ctx).today(),
    )
}

pub(crate) fn analytics<'a>(ctx: &Context<'a>) -> &'a service::Analytics {
    ctx.data_unchecked::<service::Analytics>()
}

/// Figures of a set of holdings in one currency.
#[derive(SimpleObject)]
pub struct MoneyTotal {
    /// ISO 4217 code, an unofficial code (crypto), or `XXX` when the holdings have none.
    currency: String,
    /// Sum of the holdings' market values.
    market_value: DecimalScalar,
    /// Sum of the cost basis of the holdings that report one.
    cost_basis: DecimalScalar,
    /// Market value minus cost basis, over the holdings that report a cost basis.
    unrealized_gain: DecimalScalar,
    /// `unrealizedGain` in percent of `costBasis` (4 decimal places); null when the cost
    /// basis is zero.
    unrealized_gain_percent: Option<DecimalScalar>,
    /// Percent of the total market value of this currency (4 decimal places; the weights
    /// of a grouping add up to exactly 100, the rounding remainder going to the largest
    /// fractions); null when that total is zero.
    weight: Option<DecimalScalar>,
    /// Number of holdings.
    holdings_count: i32,
    /// Holdings without a cost basis: counted in `marketValue`, left out of `costBasis`
    /// and `unrealizedGain`.
    holdings_without_cost_basis: i32,
    /// Holdings whose institution price is zero (Plaid had no price): their value counts
    /// as Plaid reports it.
    holdings_without_price: i32,
}

impl MoneyTotal {
    fn new(currency: String, f: Figures) -> Self {
        MoneyTotal {
            currency,
            market_value: f.market_value.into(),
            cost_basis: f.cost_basis.into(),
            unrealized_gain: f.unrealized_gain.into(),
            unrealized_gain_percent: f.unrealized_gain_percent().map(DecimalScalar),
            weight: f.weight.map(DecimalScalar),
            holdings_count: f.holdings_count as i32,
            holdings_without_cost_basis: f.holdings_without_cost_basis as i32,
            holdings_without_price: f.holdings_without_price as i32,
        }
    }
}

/// Figures of one account in one currency.
#[derive(SimpleObject)]
pub struct AccountTotal {
    /// The account.
    account: Account,
    #[graphql(flatten)]
    total: MoneyTotal,
}

/// Figures of one institution in one currency.
#[derive(SimpleObject)]
pub struct InstitutionTotal {
    /// Plaid's institution id; null for items linked without one.
    institution_id: Option<String>,
    /// Display name of the institution.
    institution_name: Option<String>,
    #[graphql(flatten)]
    total: MoneyTotal,
}

/// Figures of one asset class in one currency.
#[derive(SimpleObject)]
pub struct SecurityTypeTotal {
    /// Plaid's security type (`equity`, `etf`, `mutual fund`...), with cash and cash
    /// equivalents together as `cash`; null when Plaid gave no type.
    security_type: Option<String>,
    #[graphql(flatten)]
    total: MoneyTotal,
}

/// Figures of one sector in one currency.
#[derive(SimpleObject)]
pub struct SectorTotal {
    /// The security's sector as Plaid reports it (`Technology Services`...), `Cash` for
    /// cash and cash equivalents; null when Plaid gave none.
    sector: Option<String>,
    #[graphql(flatten)]
    total: MoneyTotal,
}

fn rows<G, T>(groups: Vec<GroupFigures<G>>, make: impl Fn(G, MoneyTotal) -> T) -> Vec<T> {
    groups
        .into_iter()
        .map(|g| make(g.group, MoneyTotal::new(g.currency, g.figures)))
        .collect()
}

/// The portfolio's value on one date in one currency.
#[derive(SimpleObject)]
pub struct ValuePoint {
    /// The date (end of day).
    date: Date,
    /// Currency of the figures.
    currency: String,
    /// Market value of the holdings on that date.
    market_value: DecimalScalar,
    /// Cost basis of the holdings that report one.
    cost_basis: DecimalScalar,
    /// True when every account in scope that has history by this date was pictured
    /// (synced) on it; false when some account's positions are carried forward from its
    /// last earlier picture.
    observed: bool,
}

pub(crate) fn value_points(points: &[service::ValuePoint]) -> Vec<ValuePoint> {
    points
        .iter()
        .map(|p| ValuePoint {
            date: Date(p.date),
            currency: p.currency.clone(),
            market_value: p.market_value.into(),
            cost_basis: p.cost_basis.into(),
            observed: p.observed,
        })
        .collect()
}

/// Returns of one currency's holdings over a period (method in docs/features/analytics.md).
#[derive(SimpleObject)]
pub struct PeriodReturn {
    /// Currency of the figures.
    currency: String,
    /// First valuation day on or after the requested `from` (a day every account holding
    /// the currency was synced): values are taken at its end. Before an account's first
    /// sync its value is unknown, not zero.
    from: Date,
    /// Last valuation day on or before the requested `to` (a day between two syncs is
    /// unknown, not carried).
    to: Date,
    /// Market value at the end of `from`.
    start_value: DecimalScalar,
    /// Market value at the end of `to`.
    end_value: DecimalScalar,
    /// External flows after `from` through `to`: contributions, deposits and transfers in
    /// (positive), withdrawals and transfers out (negative), and accounts entering the
    /// scope (at their first value) or leaving it (closed, at their last value).
    net_flows: DecimalScalar,
    /// `endValue - startValue - netFlows`: what the investments earned.
    gain: DecimalScalar,
    /// `gain / startValue`, in percent; null when the start value is zero.
    simple_return: Option<DecimalScalar>,
    /// Time-weighted return in percent: the Modified Dietz returns of the sub-periods
    /// between consecutive valuation days, chained (daily when synced daily); independent
    /// of the timing of flows.
    time_weighted_return: Option<DecimalScalar>,
    /// Money-weighted return in percent (Modified Dietz): `gain / (startValue + sum of
    /// flows weighted by the share of the period they were invested)`.
    money_weighted_return: Option<DecimalScalar>,
}

/// Realized gain of one position (account and security) in one currency, over a period.
#[derive(SimpleObject)]
pub struct RealizedGain {
    /// The account.
    account: Option<Account>,
    /// The security.
    security: Option<Security>,
    /// Currency of the figures.
    currency: String,
    /// Closing trades in the period: sells of a long position, buys to cover a short.
    sells: i32,
    /// Units closed (sold, or bought to cover).
    quantity_sold: DecimalScalar,
    /// Cash received for the closed units with a known opening (after fees): a sale's
    /// proceeds, or a short's average proceeds.
    proceeds: DecimalScalar,
    /// Cash paid for them: a long's average cost, or what covering a short cost.
    cost_basis: DecimalScalar,
    /// `proceeds - costBasis`.
    realized_gain: DecimalScalar,
    /// Units closed with no opening on record (older than the synced history); left out
    /// of `proceeds`, `costBasis` and the gain.
    quantity_without_basis: DecimalScalar,
}

/// A position (long or short) that was closed down to zero in the period.
#[derive(SimpleObject)]
pub struct ClosedPosition {
    /// The account.
    account: Option<Account>,
    /// The security.
    security: Option<Security>,
    /// Currency of the figures.
    currency: String,
    /// Date of the first trade after the position was last empty.
    opened_on: Date,
    /// Date of the trade that emptied it.
    closed_on: Date,
    /// Units opened (bought, or sold short) from opening to closing.
    quantity: DecimalScalar,
    /// Cash received: its sales, or its short sales.
    proceeds: DecimalScalar,
    /// Cash paid: the cost of the units sold, or of covering the short.
    cost_basis: DecimalScalar,
    /// `proceeds - costBasis`.
    realized_gain: DecimalScalar,
}

/// Realized gains total of one currency.
#[derive(SimpleObject)]
pub struct RealizedTotal {
    /// Currency of the figures.
    currency: String,
    /// Cash received (after fees) for units with a known cost.
    proceeds: DecimalScalar,
    /// Average cost of those units.
    cost_basis: DecimalScalar,
    /// `proceeds - costBasis`.
    realized_gain: DecimalScalar,
}

/// Realized gains by the average-cost method over a period.
#[derive(SimpleObject)]
pub struct RealizedGains {
    /// One entry per currency.
    totals: Vec<RealizedTotal>,
    /// One entry per account, security and currency with a sell in the period.
    positions: Vec<RealizedGain>,
    /// Positions sold down to zero in the period, in order of closing.
    closed_positions: Vec<ClosedPosition>,
}

/// Income and costs of one month in one currency, each as a positive amount when it is
/// what its name says (dividends received, fees paid...).
#[derive(SimpleObject)]
pub struct MonthlyIncomeAndCosts {
    /// `YYYY-MM`.
    month: String,
    /// Currency of the figures.
    currency: String,
    /// Dividends (qualified, non-qualified and unclassified) received.
    dividends: DecimalScalar,
    /// Interest received.
    interest: DecimalScalar,
    /// Capital-gain distributions (long-term, short-term, unqualified) received.
    capital_gains: DecimalScalar,
    /// Account, management, legal, trust, transfer, fund and margin fees paid.
    fees: DecimalScalar,
    /// Taxes withheld or paid.
    taxes: DecimalScalar,
    /// Contributions and deposits.
    contributions: DecimalScalar,
    /// Withdrawals.
    withdrawals: DecimalScalar,
}

/// Portfolio figures of the holdings and transactions in scope. Every figure is per
/// currency: amounts in different currencies are never added together. Results are
/// cached until your next successful sync.
#[Object]
impl Portfolio {
    /// One entry per currency.
    ///
    /// Cost: 200 (the holdings read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::allocation(child_complexity)")]
    async fn totals(&self, ctx: &Context<'_>) -> Result<Vec<MoneyTotal>> {
        Ok(rows(
            analytics(ctx).allocation(&self.scope).await?.totals(),
            |_, t| t,
        ))
    }

    /// The same as `totals`: one entry per currency. (Weights across currencies would need
    /// exchange rates, which Plaid does not give; each currency is 100% of itself.)
    ///
    /// Cost: 200 (the holdings read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::allocation(child_complexity)")]
    async fn by_currency(&self, ctx: &Context<'_>) -> Result<Vec<MoneyTotal>> {
        self.totals(ctx).await
    }

    /// Cash and cash equivalents (cash securities, `CUR:` tickers, money-market funds
    /// Plaid marks as cash equivalents), one entry per currency; `weight` is cash's share
    /// of the currency's total. Already included in `totals`; account balances are never
    /// added on top.
    ///
    /// Cost: 200 (the holdings read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::allocation(child_complexity)")]
    async fn cash(&self, ctx: &Context<'_>) -> Result<Vec<MoneyTotal>> {
        Ok(rows(
            analytics(ctx).allocation(&self.scope).await?.cash(),
            |_, t| t,
        ))
    }

    /// One entry per account and currency.
    ///
    /// Cost: 200 (the holdings read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::allocation(child_complexity)")]
    async fn by_account(&self, ctx: &Context<'_>) -> Result<Vec<AccountTotal>> {
        let groups = analytics(ctx).allocation(&self.scope).await?.by_account();
        let selection = ctx.look_ahead().field("account");
        let accounts = groups.iter().map(|g| g.group.clone()).collect();
        crate::graphql::prefetch::accounts(ctx, &selection, accounts).await?;
        Ok(rows(groups, |a, total| AccountTotal {
            account: Account(a),
            total,
        }))
    }

    /// One entry per institution and currency.
    ///
    /// Cost: 200 (the holdings read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::allocation(child_complexity)")]
    async fn by_institution(&self, ctx: &Context<'_>) -> Result<Vec<InstitutionTotal>> {
        let allocation = analytics(ctx).allocation(&self.scope).await?;
        Ok(rows(allocation.by_institution(), |i, total| {
            InstitutionTotal {
                institution_id: i.id,
                institution_name: i.name,
                total,
            }
        }))
    }

    /// One entry per asset class and currency (security type, cash as `cash`).
    ///
    /// Cost: 200 (the holdings read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::allocation(child_complexity)")]
    async fn by_security_type(&self, ctx: &Context<'_>) -> Result<Vec<SecurityTypeTotal>> {
        let allocation = analytics(ctx).allocation(&self.scope).await?;
        Ok(rows(allocation.by_security_type(), |t, total| {
            SecurityTypeTotal {
                security_type: t,
                total,
            }
        }))
    }

    /// One entry per sector and currency.
    ///
    /// Cost: 200 (the holdings read) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::allocation(child_complexity)")]
    async fn by_sector(&self, ctx: &Context<'_>) -> Result<Vec<SectorTotal>> {
        let allocation = analytics(ctx).allocation(&self.scope).await?;
        Ok(rows(allocation.by_sector(), |sector, total| SectorTotal {
            sector,
            total,
        }))
    }

    /// Value and cost per date and currency from the daily holding snapshots that syncs
    /// write. A date without a snapshot of an account carries that account's last known
    /// positions forward (`observed: false`); dates before an account's first sync count
    /// nothing for it.
    ///
    /// Cost: 10 x the days of the period (the accounts pictured each day) + the points x
    /// the selection (a default year of daily points selecting 4 fields: about 3,660 +
    /// 366 x 4).
    #[graphql(
        complexity = "crate::graphql::cost::value_history(crate::graphql::cost::ACCOUNTS, from, to, interval.into(), child_complexity)"
    )]
    async fn value_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First date (default: a year before `to`).")] from: Option<Date>,
        #[graphql(desc = "Last date (default: today).")] to: Option<Date>,
        #[graphql(desc = "Spacing of the points.", default_with = "HistoryInterval::Day")]
        interval: HistoryInterval,
    ) -> Result<Vec<ValuePoint>> {
        let (from, to) = period(ctx, from, to)?;
        let points = analytics(ctx)
            .value_history(&self.scope, from, to, interval.into())
            .await?;
        Ok(value_points(&points))
    }

    /// Simple, time-weighted and money-weighted returns over a period, per currency,
    /// starting no earlier than the first snapshot of that currency's holdings.
    ///
    /// Cost: 10 x the days of the period + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::returns(from, to, child_complexity)")]
    async fn returns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (default: a year before `to`).")] from: Option<Date>,
        #[graphql(desc = "Last day (default: today).")] to: Option<Date>,
    ) -> Result<Vec<PeriodReturn>> {
        let (from, to) = period(ctx, from, to)?;
        let returns = analytics(ctx).returns(&self.scope, from, to).await?;
        Ok(returns
            .iter()
            .map(|r| PeriodReturn {
                currency: r.currency.clone(),
                from: Date(r.from),
                to: Date(r.to),
                start_value: r.start_value.into(),
                end_value: r.end_value.into(),
                net_flows: r.net_flows.into(),
                gain: r.gain.into(),
                simple_return: r.simple_return.map(DecimalScalar),
                time_weighted_return: r.time_weighted_return.map(DecimalScalar),
                money_weighted_return: r.money_weighted_return.map(DecimalScalar),
            })
            .collect())
    }

    /// Gains realized by sells in a period, by the average-cost method.
    ///
    /// Cost: 2,000 (every trade up to `to` is replayed) + 10 x the selection.
    #[graphql(complexity = "crate::graphql::cost::transactions(child_complexity)")]
    async fn realized_gains(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (default: a year before `to`).")] from: Option<Date>,
        #[graphql(desc = "Last day (default: today).")] to: Option<Date>,
    ) -> Result<RealizedGains> {
        let (from, to) = period(ctx, from, to)?;
        let gains = analytics(ctx).realized_gains(&self.scope, from, to).await?;
        let positions = gains
            .positions
            .iter()
            .map(|p| (p.account_id, p.security_id));
        let closed = gains.closed.iter().map(|c| (c.account_id, c.security_id));
        let (accounts, securities) = crate::graphql::loaders(ctx)
            .accounts_and_securities(
                positions.clone().chain(closed.clone()).map(|(a, _)| a),
                positions.chain(closed).map(|(_, s)| s),
            )
            .await?;
        let account = |id: i64| accounts.get(&id).cloned().map(Account);
        let security = |id: i64| securities.get(&id).cloned().map(Security);
        let mut positions = Vec::new();
        for p in &gains.positions {
            positions.push(RealizedGain {
                account: account(p.account_id),
                security: security(p.security_id),
                currency: p.currency.clone(),
                sells: p.sells as i32,
                quantity_sold: p.quantity_sold.into(),
                proceeds: p.proceeds.into(),
                cost_basis: p.cost_basis.into(),
                realized_gain: p.realized_gain.into(),
                quantity_without_basis: p.quantity_without_basis.into(),
            });
        }
        let mut closed_positions = Vec::new();
        for c in &gains.closed {
            closed_positions.push(ClosedPosition {
                account: account(c.account_id),
                security: security(c.security_id),
                currency: c.currency.clone(),
                opened_on: Date(c.opened_on),
                closed_on: Date(c.closed_on),
                quantity: c.quantity.into(),
                proceeds: c.proceeds.into(),
                cost_basis: c.cost_basis.into(),
                realized_gain: c.realized_gain.into(),
            });
        }
        Ok(RealizedGains {
            totals: gains
                .totals()
                .into_iter()
                .map(|t| RealizedTotal {
                    currency: t.currency,
                    proceeds: t.proceeds.into(),
                    cost_basis: t.cost_basis.into(),
                    realized_gain: t.realized_gain.into(),
                })
                .collect(),
            positions,
            closed_positions,
        })
    }

    /// Dividends, interest, capital gains, fees, taxes, contributions and withdrawals by
    /// month, from the transactions (cancelled ones left out).
    ///
    /// Cost: 2,000 (the transactions read) + the months of the period x the selection.
    #[graphql(complexity = "crate::graphql::cost::income_and_costs(from, to, child_complexity)")]
    async fn income_and_costs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (default: a year before `to`).")] from: Option<Date>,
        #[graphql(desc = "Last day (default: today).")] to: Option<Date>,
    ) -> Result<Vec<MonthlyIncomeAndCosts>> {
        let (from, to) = period(ctx, from, to)?;
        let months = analytics(ctx).monthly_flows(&self.scope, from, to).await?;
        Ok(months
            .iter()
            .map(|m| MonthlyIncomeAndCosts {
                month: m.month.clone(),
                currency: m.currency.clone(),
                dividends: m.dividends.into(),
                interest: m.interest.into(),
                capital_gains: m.capital_gains.into(),
                fees: m.fees.into(),
                taxes: m.taxes.into(),
                contributions: m.contributions.into(),
                withdrawals: m.withdrawals.into(),
            })
            .collect())
    }
}

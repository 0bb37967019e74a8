use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use super::{Holding, InvestmentTransaction};
use crate::db::entities::securities;
use crate::graphql::connection::{self, Connection};
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::inputs::{InvestmentTransactionFilter, InvestmentTransactionOrder};
use crate::graphql::loaders::HoldingsOfSecurity;
use crate::graphql::scalars::{self, Date, DateTime, DecimalScalar};
use crate::portfolio as service;

pub struct Security(pub securities::Model);

/// Where a price comes from.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// The institution's price of a holding, from a daily snapshot.
    Institution,
    /// Plaid's close price of the security.
    Close,
}

/// A security's price on one date.
#[derive(SimpleObject)]
pub struct PricePoint {
    /// The date.
    date: Date,
    /// Price per unit, in the security's currency.
    price: DecimalScalar,
    /// Where the price comes from.
    source: PriceSource,
}

/// Terms of an option contract.
#[derive(SimpleObject)]
pub struct OptionContract {
    /// `put` or `call`.
    contract_type: String,
    /// Expiration date of the contract.
    expiration_date: Option<Date>,
    /// Strike price per share.
    strike_price: Option<DecimalScalar>,
    /// Ticker of the underlying security.
    underlying_security_ticker: Option<String>,
}

/// Yield of a fixed-income security.
#[derive(SimpleObject)]
pub struct YieldRate {
    /// The rate, in percent.
    percentage: DecimalScalar,
    /// `coupon`, `coupon_equivalent`, `discount` or `yield`.
    #[graphql(name = "type")]
    rate_type: Option<String>,
}

/// Terms of a fixed-income security (bond, bill, CD).
#[derive(SimpleObject)]
pub struct FixedIncome {
    /// The yield, when known.
    yield_rate: Option<YieldRate>,
    /// When the principal is repaid.
    maturity_date: Option<Date>,
    /// When the security was issued.
    issue_date: Option<Date>,
    /// Amount paid per unit at maturity.
    face_value: Option<DecimalScalar>,
}

/// A security (stock, fund, bond, option, crypto, cash...) that the user holds or traded.
#[Object]
impl Security {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::Security, self.0.id)
    }

    /// Plaid's `security_id` (it can change on corporate actions).
    async fn plaid_security_id(&self) -> &str {
        &self.0.plaid_security_id
    }

    /// ISIN, where Plaid is licensed to send it.
    async fn isin(&self) -> Option<&str> {
        self.0.isin.as_deref()
    }

    /// CUSIP, where Plaid is licensed to send it.
    async fn cusip(&self) -> Option<&str> {
        self.0.cusip.as_deref()
    }

    /// SEDOL (deprecated by Plaid).
    async fn sedol(&self) -> Option<&str> {
        self.0.sedol.as_deref()
    }

    /// The institution's own identifier for the security.
    async fn institution_security_id(&self) -> Option<&str> {
        self.0.institution_security_id.as_deref()
    }

    /// Institution that issued `institutionSecurityId`.
    async fn institution_id(&self) -> Option<&str> {
        self.0.institution_id.as_deref()
    }

    /// Plaid id of a security with similar performance (for illiquid securities).
    async fn proxy_security_id(&self) -> Option<&str> {
        self.0.proxy_security_id.as_deref()
    }

    /// Display name.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// Ticker symbol; OCC symbol for options; `CUR:USD`-style for currencies.
    async fn ticker_symbol(&self) -> Option<&str> {
        self.0.ticker_symbol.as_deref()
    }

    /// Highly liquid and treated as cash.
    async fn is_cash_equivalent(&self) -> Option<bool> {
        self.0.is_cash_equivalent
    }

    /// Plaid's security `type`: `cash`, `cryptocurrency`, `derivative`, `equity`, `etf`,
    /// `fixed income`, `loan`, `mutual fund` or `other`.
    #[graphql(name = "type")]
    async fn security_type(&self) -> Option<&str> {
        self.0.security_type.as_deref()
    }

    /// Plaid's security `subtype`, e.g. `common stock`, `option`, `bill`.
    async fn subtype(&self) -> Option<&str> {
        self.0.subtype.as_deref()
    }

    /// Price at the previous market close, for public securities.
    async fn close_price(&self) -> Option<DecimalScalar> {
        scalars::dec(self.0.close_price)
    }

    /// Date `closePrice` applies to.
    async fn close_price_as_of(&self) -> Option<Date> {
        scalars::date(self.0.close_price_as_of)
    }

    /// Exact time `closePrice` was valid (useful for crypto).
    async fn update_datetime(&self) -> Option<DateTime> {
        scalars::time(self.0.update_datetime)
    }

    /// ISO 4217 currency of the prices.
    async fn iso_currency_code(&self) -> Option<&str> {
        self.0.iso_currency_code.as_deref()
    }

    /// Non-ISO currency code (e.g. crypto), when there is no ISO code.
    async fn unofficial_currency_code(&self) -> Option<&str> {
        self.0.unofficial_currency_code.as_deref()
    }

    /// ISO 10383 code of the trading venue.
    async fn market_identifier_code(&self) -> Option<&str> {
        self.0.market_identifier_code.as_deref()
    }

    /// Sector, e.g. `Finance`, `Health Technology`.
    async fn sector(&self) -> Option<&str> {
        self.0.sector.as_deref()
    }

    /// Industry, e.g. `Biotechnology`.
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }

    /// ISO 10962 CFI code.
    async fn cfi_code(&self) -> Option<&str> {
        self.0.cfi_code.as_deref()
    }

    /// Contract terms, for options.
    async fn option_contract(&self) -> Option<OptionContract> {
        let m = &self.0;
        m.option_contract_type.as_ref().map(|t| OptionContract {
            contract_type: t.clone(),
            expiration_date: scalars::date(m.option_expiration_date),
            strike_price: scalars::dec(m.option_strike_price),
            underlying_security_ticker: m.option_underlying_security_ticker.clone(),
        })
    }

    /// Terms, for fixed-income securities.
    async fn fixed_income(&self) -> Option<FixedIncome> {
        let m = &self.0;
        let any = m.fixed_income_yield_rate_percentage.is_some()
            || m.fixed_income_maturity_date.is_some()
            || m.fixed_income_issue_date.is_some()
            || m.fixed_income_face_value.is_some();
        any.then(|| FixedIncome {
            yield_rate: m.fixed_income_yield_rate_percentage.map(|p| YieldRate {
                percentage: p.into(),
                rate_type: m.fixed_income_yield_rate_type.clone(),
            }),
            maturity_date: scalars::date(m.fixed_income_maturity_date),
            issue_date: scalars::date(m.fixed_income_issue_date),
            face_value: scalars::dec(m.fixed_income_face_value),
        })
    }

    /// Its price by date: the institution's price from the daily holding snapshots
    /// (`INSTITUTION`), and Plaid's close price where it gave one (`CLOSE`).
    ///
    /// Cost: 2 x the days of the period x (1 + the selection): its snapshots, and up to two
    /// points a day.
    #[graphql(complexity = "crate::graphql::cost::price_history(from, to, child_complexity)")]
    async fn price_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First date (default: a year before `to`).")] from: Option<Date>,
        #[graphql(desc = "Last date (default: today).")] to: Option<Date>,
    ) -> Result<Vec<PricePoint>> {
        let (from, to) = super::portfolio::period(ctx, from, to)?;
        let points = super::portfolio::analytics(ctx)
            .price_history(&self.0, from, to)
            .await?;
        Ok(points
            .iter()
            .map(|p| PricePoint {
                date: Date(p.date),
                price: p.price.into(),
                source: match p.source {
                    service::PriceSource::Institution => PriceSource::Institution,
                    service::PriceSource::Close => PriceSource::Close,
                },
            })
            .collect())
    }

    /// Your transactions in this security; newest first unless `orderBy` says otherwise.
    ///
    /// Cost: 1 + the page size (`first` or `last`, default 50) x the selection.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which of its transactions (the security is fixed).")] filter: Option<
            InvestmentTransactionFilter,
        >,
        #[graphql(desc = "Sort keys, in order (default: date descending).")] order_by: Option<
            Vec<InvestmentTransactionOrder>,
        >,
        #[graphql(desc = "Page size from the start (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
        #[graphql(desc = "Page size from the end (at most 500).")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
    ) -> Result<Connection<InvestmentTransaction>> {
        let mut filter = filter.unwrap_or_default().into_query()?;
        filter.security_ids = Some(vec![self.0.id]);
        let request = connection::request(ctx, first, after, last, before);
        let order_by = crate::graphql::listing::order_by(order_by);
        crate::graphql::listing::list(ctx, filter, order_by, request).await
    }

    /// The user's positions in this security, across all their accounts.
    async fn holdings(&self, ctx: &Context<'_>) -> Result<Vec<Holding>> {
        let holdings = crate::graphql::loaders(ctx)
            .children
            .load_one(HoldingsOfSecurity(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(holdings.into_iter().map(Holding).collect())
    }
}

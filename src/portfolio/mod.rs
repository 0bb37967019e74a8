//! Portfolio analytics: allocation and gains, value history, returns, realized gains,
//! transaction summaries and price history. Every figure is an exact `Decimal`, per
//! currency (amounts in different currencies are never added), limited to the caller's
//! data. Sums run in the database where that is exact (PostgreSQL `NUMERIC`), as `Decimal`
//! here otherwise (`db::aggregate`). Results are cached per (user, data version, query).

mod allocation;
mod cache;
mod history;
mod prices;
mod realized;
mod returns;
mod summary;

use crate::domain::{AccountScope, Range, TransactionFilter};
use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use tokio::sync::OnceCell;

use crate::db::scope::UserScope;

use crate::db::entities::{investment_holdings as holdings, securities};

use crate::db::holdings::currency_of_codes;

use crate::error::ApiResult;

pub use allocation::{Allocation, Figures, GroupFigures, Institution};
pub use cache::AnalyticsCache;
use cache::CacheKey;
pub use history::{Interval, MAX_DAYS as MAX_HISTORY_DAYS, ValuePoint};
pub use prices::{PricePoint, PriceSource};
pub use realized::{ClosedPosition, RealizedGain, RealizedGains, RealizedTotal};
pub use returns::PeriodReturn;
pub use summary::{MonthFlows, SummaryGroup, SummaryRow};

/// Decimal places of percentages: always this many, rounded half away from zero.
pub const PERCENT_SCALE: u32 = 4;

/// The asset class of cash and cash equivalents.
pub const CASH: &str = "cash";

/// The currency a holding is valued in.
pub fn currency_of(h: &holdings::Model) -> String {
    currency_of_codes(
        h.iso_currency_code.as_deref(),
        h.unofficial_currency_code.as_deref(),
    )
}

/// The period `[from, to]` of a figure: `to` defaults to `today`, `from` to a year before
/// `to`; `from` after `to` is refused.
pub fn period(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> ApiResult<(NaiveDate, NaiveDate)> {
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to.checked_sub_months(chrono::Months::new(12)).unwrap_or(to));
    if from > to {
        return Err(crate::error::ApiError::bad_input(format!(
            "`from` {from} is after `to` {to}"
        )));
    }
    Ok((from, to))
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

/// The analytics of one user for one request: computes each figure, or takes it from the
/// cache when the user's data has not changed since it was computed.
pub struct Analytics {
    user: UserScope,
    cache: Arc<AnalyticsCache>,
    /// Read once per request.
    data_version: OnceCell<i64>,
}

impl Analytics {
    pub fn new(user: UserScope, cache: Arc<AnalyticsCache>) -> Self {
        Analytics {
            user,
            cache,
            data_version: OnceCell::new(),
        }
    }

    async fn cached<T, F>(&self, query: String, compute: F) -> ApiResult<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: Future<Output = ApiResult<T>>,
    {
        let data_version = *self
            .data_version
            .get_or_try_init(|| self.user.data_version())
            .await?;
        let key = CacheKey {
            user_id: self.user.user_id(),
            data_version,
            query,
        };
        self.cache.get_or_compute(key, compute).await
    }

    pub async fn allocation(&self, scope: &AccountScope) -> ApiResult<Arc<Allocation>> {
        self.cached(
            format!("allocation {scope:?}"),
            Allocation::load(&self.user, scope),
        )
        .await
    }

    pub async fn value_history(
        &self,
        scope: &AccountScope,
        from: NaiveDate,
        to: NaiveDate,
        interval: Interval,
    ) -> ApiResult<Arc<Vec<ValuePoint>>> {
        history::check_range(from, to)?;
        self.cached(
            format!("history {scope:?} {from} {to} {interval:?}"),
            async {
                let days = self.account_days(scope, to).await?;
                Ok(history::value_history(&days, from, to, interval))
            },
        )
        .await
    }

    /// Shared by the value history and the returns of one request and of later ones.
    async fn account_days(
        &self,
        scope: &AccountScope,
        to: NaiveDate,
    ) -> ApiResult<Arc<history::AccountDays>> {
        self.cached(
            format!("account days {scope:?} {to}"),
            history::account_days(&self.user, scope, to),
        )
        .await
    }

    pub async fn returns(
        &self,
        scope: &AccountScope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Arc<Vec<PeriodReturn>>> {
        self.cached(format!("returns {scope:?} {from} {to}"), async {
            history::check_range(from, to)?;
            let days = self.account_days(scope, to).await?;
            returns::returns(&self.user, scope, &days, from, to).await
        })
        .await
    }

    pub async fn realized_gains(
        &self,
        scope: &AccountScope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Arc<RealizedGains>> {
        self.cached(
            format!("realized {scope:?} {from} {to}"),
            realized::realized_gains(&self.user, scope, from, to),
        )
        .await
    }

    pub async fn transaction_summary(
        &self,
        filter: &TransactionFilter,
        group_by: &[SummaryGroup],
    ) -> ApiResult<Arc<Vec<SummaryRow>>> {
        self.cached(
            format!("summary {filter:?} {group_by:?}"),
            summary::summary(&self.user, filter, group_by),
        )
        .await
    }

    /// The named income and cost series by month over `[from, to]`.
    pub async fn monthly_flows(
        &self,
        scope: &AccountScope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Arc<Vec<MonthFlows>>> {
        let filter = TransactionFilter {
            scope: scope.clone(),
            date: Some(Range {
                gte: Some(from),
                lte: Some(to),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.cached(
            format!("monthly {filter:?}"),
            summary::monthly_flows(&self.user, &filter),
        )
        .await
    }

    pub async fn price_history(
        &self,
        security: &securities::Model,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<Arc<Vec<PricePoint>>> {
        self.cached(
            format!("prices {} {from} {to}", security.id),
            prices::price_history(&self.user, security, from, to),
        )
        .await
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

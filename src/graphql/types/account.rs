use crate::domain::AccountScope;
use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::{Holding, PlaidItem};

use crate::db::entities::accounts;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::HoldingsOfAccount;
use crate::graphql::scalars::{self, Date, DateTime, DecimalScalar};
use crate::graphql::types::portfolio::{self, HistoryInterval, ValuePoint};

pub struct Account(pub accounts::Model);

/// Balances as Plaid last reported them (cached by Plaid, not real time).
#[derive(SimpleObject)]
pub struct AccountBalances {
    /// Total value of the account's assets.
    current: Option<DecimalScalar>,
    /// Cash available to withdraw.
    available: Option<DecimalScalar>,
    /// Credit limit, for accounts that have one.
    limit: Option<DecimalScalar>,
    /// Amount borrowed on margin.
    margin_loan_amount: Option<DecimalScalar>,
    /// ISO 4217 currency of the balances.
    iso_currency_code: Option<String>,
    /// Non-ISO currency code (e.g. crypto), when there is no ISO code.
    unofficial_currency_code: Option<String>,
    /// When the institution last updated the balances, where it says.
    last_updated_datetime: Option<DateTime>,
}

/// An account at an institution (brokerage, IRA, 401k, crypto exchange...).
#[Object]
impl Account {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::Account, self.0.id)
    }

    /// Plaid's `account_id`.
    async fn plaid_account_id(&self) -> &str {
        &self.0.plaid_account_id
    }

    /// Plaid's `persistent_account_id`, stable across relinks at some institutions.
    async fn persistent_account_id(&self) -> Option<&str> {
        self.0.persistent_account_id.as_deref()
    }

    /// Name given by the user or the institution.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The institution's official name for the account.
    async fn official_name(&self) -> Option<&str> {
        self.0.official_name.as_deref()
    }

    /// Last 2-4 characters of the account number.
    async fn mask(&self) -> Option<&str> {
        self.0.mask.as_deref()
    }

    /// The day a sync found the account gone from its item (closed at the institution);
    /// null while Plaid returns it. A closed account holds nothing, its value history is
    /// zero from that day, and its transactions stay queryable.
    async fn closed_on(&self) -> Option<Date> {
        scalars::date(self.0.closed_on)
    }

    /// The last day Plaid re-issued the account under a new `plaidAccountId` (its old
    /// id was taken over: same account here, same history); null if never.
    async fn reissued_on(&self) -> Option<Date> {
        scalars::date(self.0.reissued_on)
    }

    /// Plaid's account `type`: `investment`, `depository`, `credit`, `loan`, `brokerage`
    /// or `other`.
    #[graphql(name = "type")]
    async fn account_type(&self) -> &str {
        &self.0.account_type
    }

    /// Plaid's account `subtype`, e.g. `brokerage`, `ira`, `roth`, `401k`,
    /// `crypto exchange`.
    async fn subtype(&self) -> Option<&str> {
        self.0.subtype.as_deref()
    }

    /// `business`, `personal` or `unrecognized`, where the institution says.
    async fn holder_category(&self) -> Option<&str> {
        self.0.holder_category.as_deref()
    }

    /// Balances as last reported.
    async fn balances(&self) -> AccountBalances {
        let m = &self.0;
        AccountBalances {
            current: scalars::dec(m.balance_current),
            available: scalars::dec(m.balance_available),
            limit: scalars::dec(m.balance_limit),
            margin_loan_amount: scalars::dec(m.balance_margin_loan_amount),
            iso_currency_code: m.balance_iso_currency_code.clone(),
            unofficial_currency_code: m.balance_unofficial_currency_code.clone(),
            last_updated_datetime: scalars::time(m.balance_last_updated_datetime),
        }
    }

    /// The item (login) the account belongs to.
    async fn item(&self, ctx: &Context<'_>) -> Result<Option<PlaidItem>> {
        Ok(crate::graphql::loaders(ctx)
            .item(self.0.item_id)
            .await?
            .map(PlaidItem))
    }

    /// Value and cost of this account per date and currency, from its daily holding
    /// snapshots (as `Portfolio.valueHistory`).
    ///
    /// Cost: the days of the period + the points x the selection.
    #[graphql(
        complexity = "crate::graphql::cost::value_history(1, from, to, interval.into(), child_complexity)"
    )]
    async fn value_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First date (default: a year before `to`).")] from: Option<Date>,
        #[graphql(desc = "Last date (default: today).")] to: Option<Date>,
        #[graphql(desc = "Spacing of the points.", default_with = "HistoryInterval::Day")]
        interval: HistoryInterval,
    ) -> Result<Vec<ValuePoint>> {
        let (from, to) = portfolio::period(ctx, from, to)?;
        let scope = AccountScope {
            account_ids: Some(vec![self.0.id]),
            ..Default::default()
        };
        let points = portfolio::analytics(ctx)
            .value_history(&scope, from, to, interval.into())
            .await?;
        Ok(portfolio::value_points(&points))
    }

    /// The account's positions.
    async fn holdings(&self, ctx: &Context<'_>) -> Result<Vec<Holding>> {
        let holdings = crate::graphql::loaders(ctx)
            .children
            .load_one(HoldingsOfAccount(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(holdings.into_iter().map(Holding).collect())
    }
}

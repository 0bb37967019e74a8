use async_graphql::{Context, Object, Result, SimpleObject};
use tokio::sync::OnceCell;

use super::Account;
use crate::db::accounts::AccountScope;
use crate::graphql::scalars::DecimalScalar;
use crate::portfolio::{self as service, Figures, GroupFigures};

pub struct Portfolio {
    scope: AccountScope,
    loaded: OnceCell<service::Portfolio>,
}

impl Portfolio {
    pub fn new(scope: AccountScope) -> Self {
        Portfolio {
            scope,
            loaded: OnceCell::new(),
        }
    }

    async fn data(&self, ctx: &Context<'_>) -> Result<&service::Portfolio> {
        let viewer = crate::graphql::viewer(ctx)?;
        let db = crate::graphql::db(ctx);
        Ok(self
            .loaded
            .get_or_try_init(|| service::Portfolio::load(db, viewer.user_id, &self.scope))
            .await?)
    }
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
    /// Number of holdings.
    holdings_count: i32,
    /// Holdings without a cost basis: counted in `marketValue`, left out of `costBasis`
    /// and `unrealizedGain`.
    holdings_without_cost_basis: i32,
}

impl MoneyTotal {
    fn new(currency: String, f: Figures) -> Self {
        MoneyTotal {
            currency,
            market_value: f.market_value.into(),
            cost_basis: f.cost_basis.into(),
            unrealized_gain: f.unrealized_gain.into(),
            unrealized_gain_percent: f.unrealized_gain_percent().map(DecimalScalar),
            holdings_count: f.holdings_count as i32,
            holdings_without_cost_basis: f.holdings_without_cost_basis as i32,
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

/// Figures of one security type in one currency.
#[derive(SimpleObject)]
pub struct SecurityTypeTotal {
    /// Plaid's security type (`equity`, `etf`, `cash`...); null when Plaid gave none.
    security_type: Option<String>,
    #[graphql(flatten)]
    total: MoneyTotal,
}

fn rows<G, T>(groups: Vec<GroupFigures<G>>, make: impl Fn(G, MoneyTotal) -> T) -> Vec<T> {
    groups
        .into_iter()
        .map(|g| make(g.group, MoneyTotal::new(g.currency, g.figures)))
        .collect()
}

/// Value, cost and gain of the holdings in scope. Every figure is per currency: amounts in
/// different currencies are never added together.
#[Object]
impl Portfolio {
    /// One entry per currency.
    async fn totals(&self, ctx: &Context<'_>) -> Result<Vec<MoneyTotal>> {
        Ok(rows(self.data(ctx).await?.totals(), |_, t| t))
    }

    /// One entry per account and currency.
    async fn by_account(&self, ctx: &Context<'_>) -> Result<Vec<AccountTotal>> {
        let groups = self.data(ctx).await?.by_account();
        let selection = ctx.look_ahead().field("account");
        let accounts = groups.iter().map(|g| g.group.clone()).collect();
        crate::graphql::prefetch::accounts(ctx, &selection, accounts).await?;
        Ok(rows(groups, |a, total| AccountTotal {
            account: Account(a),
            total,
        }))
    }

    /// One entry per institution and currency.
    async fn by_institution(&self, ctx: &Context<'_>) -> Result<Vec<InstitutionTotal>> {
        Ok(rows(self.data(ctx).await?.by_institution(), |i, total| {
            InstitutionTotal {
                institution_id: i.id,
                institution_name: i.name,
                total,
            }
        }))
    }

    /// One entry per security type and currency.
    async fn by_security_type(&self, ctx: &Context<'_>) -> Result<Vec<SecurityTypeTotal>> {
        Ok(rows(
            self.data(ctx).await?.by_security_type(),
            |t, total| SecurityTypeTotal {
                security_type: t,
                total,
            },
        ))
    }
}

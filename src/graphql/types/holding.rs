use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::{Account, Security};
use crate::db::entities::investment_holdings as holdings;
use crate::db::holdings::StoredTaxLot;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scalars::{self, Date, DateTime, DecimalScalar};
use crate::portfolio;

pub struct Holding(pub holdings::Model);

/// A tax lot of a holding, where the institution reports lots.
#[derive(SimpleObject)]
pub struct TaxLot {
    /// The institution's id for the lot.
    institution_lot_id: Option<String>,
    /// When the lot was bought.
    original_purchase_datetime: Option<DateTime>,
    /// Units in the lot.
    quantity: Option<DecimalScalar>,
    /// Price paid per unit.
    purchase_price: Option<DecimalScalar>,
    /// Total cost of the lot, fees included.
    cost_basis: Option<DecimalScalar>,
    /// Current value of the lot.
    current_value: Option<DecimalScalar>,
    /// `LONG` or `SHORT`.
    position_type: Option<String>,
}

impl From<StoredTaxLot> for TaxLot {
    fn from(lot: StoredTaxLot) -> Self {
        TaxLot {
            institution_lot_id: lot.institution_lot_id,
            original_purchase_datetime: scalars::time(lot.original_purchase_datetime),
            quantity: lot.quantity.map(DecimalScalar),
            purchase_price: lot.purchase_price.map(DecimalScalar),
            cost_basis: lot.cost_basis.map(DecimalScalar),
            current_value: lot.current_value.map(DecimalScalar),
            position_type: lot.position_type,
        }
    }
}

/// A position: a quantity of one security in one account.
#[Object]
impl Holding {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::Holding, self.0.id)
    }

    /// The account holding the position.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(crate::graphql::loaders(ctx)
            .account(self.0.account_id)
            .await?
            .map(Account))
    }

    /// The security held.
    async fn security(&self, ctx: &Context<'_>) -> Result<Option<Security>> {
        Ok(crate::graphql::loaders(ctx)
            .security(self.0.security_id)
            .await?
            .map(Security))
    }

    /// Units held; for options, contracts x 100 (units of the underlying).
    async fn quantity(&self) -> DecimalScalar {
        self.0.quantity.into()
    }

    /// Total cost of the position, when the institution reports it.
    async fn cost_basis(&self) -> Option<DecimalScalar> {
        scalars::dec(self.0.cost_basis)
    }

    /// Last price the institution reported.
    async fn institution_price(&self) -> DecimalScalar {
        self.0.institution_price.into()
    }

    /// Date `institutionPrice` applies to.
    async fn institution_price_as_of(&self) -> Option<Date> {
        scalars::date(self.0.institution_price_as_of)
    }

    /// Time of `institutionPrice`, where the institution gives one.
    async fn institution_price_datetime(&self) -> Option<DateTime> {
        scalars::time(self.0.institution_price_datetime)
    }

    /// Value of the position as the institution reports it (Plaid's `institution_value`).
    async fn institution_value(&self) -> DecimalScalar {
        self.0.institution_value.into()
    }

    /// Market value of the position: the institution's value.
    async fn market_value(&self) -> DecimalScalar {
        self.0.institution_value.into()
    }

    /// Market value minus cost basis; null without a cost basis.
    async fn unrealized_gain(&self) -> Option<DecimalScalar> {
        portfolio::holding_gain(&self.0).map(DecimalScalar)
    }

    /// `unrealizedGain` in percent of the cost basis (4 decimal places); null without a
    /// cost basis or when it is zero.
    async fn unrealized_gain_percent(&self) -> Option<DecimalScalar> {
        let gain = portfolio::holding_gain(&self.0)?;
        portfolio::percent(gain, self.0.cost_basis?.0).map(DecimalScalar)
    }

    /// ISO 4217 currency of the position.
    async fn iso_currency_code(&self) -> Option<&str> {
        self.0.iso_currency_code.as_deref()
    }

    /// Non-ISO currency code (e.g. crypto), when there is no ISO code.
    async fn unofficial_currency_code(&self) -> Option<&str> {
        self.0.unofficial_currency_code.as_deref()
    }

    /// The currency the position is valued in: the ISO code, else the unofficial code, else
    /// `XXX` (ISO 4217 for "no currency").
    async fn currency(&self) -> String {
        portfolio::currency_of(&self.0)
    }

    /// Vested units (equity compensation).
    async fn vested_quantity(&self) -> Option<DecimalScalar> {
        scalars::dec(self.0.vested_quantity)
    }

    /// Value of the vested units.
    async fn vested_value(&self) -> Option<DecimalScalar> {
        scalars::dec(self.0.vested_value)
    }

    /// Tax lots, where the institution reports them (null: not reported).
    async fn tax_lots(&self) -> Option<Vec<TaxLot>> {
        let lots = StoredTaxLot::parse_all(self.0.tax_lots.as_deref()?)?;
        Some(lots.into_iter().map(TaxLot::from).collect())
    }

    /// When the position was last written by a sync.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

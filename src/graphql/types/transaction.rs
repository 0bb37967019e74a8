use async_graphql::{Context, Enum, ID, Object, Result};

use super::{Account, Security};
use crate::db::entities::investment_transactions as transactions;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scalars::{self, Date, DateTime, DecimalScalar};
use crate::vocabulary::{Meaning, meaning};

/// What a transaction is to the analytics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum TransactionCategory {
    /// A buy or a sell (short sales and covers included).
    Trade,
    /// Money into or out of the portfolio from outside: deposits, contributions,
    /// withdrawals, transfers. Not part of the returns.
    ExternalFlow,
    /// Dividends, interest, capital gain distributions.
    Income,
    /// Fees and taxes.
    Cost,
    /// Units that change without a trade: splits, transfers of securities, stock
    /// distributions, mergers, spin-offs.
    UnitChange,
    /// A `cancel` row: it reverses another transaction.
    Cancel,
    /// Anything else (pending cash, adjustments).
    Other,
}

pub struct InvestmentTransaction(pub transactions::Model);

/// A buy, sell, dividend, fee, transfer or other movement in an investment account.
///
/// Sign convention (Plaid's): `amount` is positive when cash leaves the account (a purchase,
/// a fee) and negative when cash comes in (a sale, a dividend); `quantity` is positive for
/// units bought and negative for units sold.
#[Object]
impl InvestmentTransaction {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::InvestmentTransaction, self.0.id)
    }

    /// Plaid's `investment_transaction_id`.
    async fn plaid_investment_transaction_id(&self) -> &str {
        &self.0.plaid_investment_transaction_id
    }

    /// The account the transaction happened in.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(crate::graphql::loaders(ctx)
            .account(self.0.account_id)
            .await?
            .map(Account))
    }

    /// The security traded; null for pure cash movements.
    async fn security(&self, ctx: &Context<'_>) -> Result<Option<Security>> {
        let Some(security_id) = self.0.security_id else {
            return Ok(None);
        };
        Ok(crate::graphql::loaders(ctx)
            .security(security_id)
            .await?
            .map(Security))
    }

    /// Posting date (usually the settlement date).
    async fn date(&self) -> Date {
        Date(self.0.date)
    }

    /// When the order was placed, where the institution says.
    async fn transaction_datetime(&self) -> Option<DateTime> {
        scalars::time(self.0.transaction_datetime)
    }

    /// The institution's description.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Units: positive bought, negative sold.
    async fn quantity(&self) -> DecimalScalar {
        self.0.quantity.into()
    }

    /// Cash effect: positive when cash leaves the account, negative when it comes in.
    async fn amount(&self) -> DecimalScalar {
        self.0.amount.into()
    }

    /// Price per unit.
    async fn price(&self) -> DecimalScalar {
        self.0.price.into()
    }

    /// Sum of all fees.
    async fn fees(&self) -> Option<DecimalScalar> {
        scalars::dec(self.0.fees)
    }

    /// Plaid's transaction `type`: `buy`, `sell`, `cancel`, `cash`, `fee` or `transfer`.
    #[graphql(name = "type")]
    async fn transaction_type(&self) -> &str {
        &self.0.transaction_type
    }

    /// Plaid's transaction `subtype`, e.g. `dividend`, `contribution`, `buy`.
    async fn subtype(&self) -> &str {
        &self.0.subtype
    }

    /// ISO 4217 currency.
    async fn iso_currency_code(&self) -> Option<&str> {
        self.0.iso_currency_code.as_deref()
    }

    /// Non-ISO currency code (e.g. crypto), when there is no ISO code.
    async fn unofficial_currency_code(&self) -> Option<&str> {
        self.0.unofficial_currency_code.as_deref()
    }

    /// The ISO code, else the unofficial code, else `XXX` (ISO 4217 for "no currency").
    async fn currency(&self) -> String {
        crate::db::holdings::currency_of_codes(
            self.0.iso_currency_code.as_deref(),
            self.0.unofficial_currency_code.as_deref(),
        )
    }

    /// True when the transaction was cancelled: kept for the record, left out of totals.
    async fn cancelled(&self) -> bool {
        self.0.cancelled
    }

    /// The Plaid id of the `cancel` row that cancelled this transaction; null when it was
    /// not cancelled, or was flagged because it vanished from Plaid's window.
    async fn cancelled_by(&self) -> Option<&str> {
        self.0.cancelled_by.as_deref()
    }

    /// Plaid's `cancel_transaction_id` as received (deprecated by Plaid, and often null
    /// even on `cancel` rows: `cancelledBy` is what this API matched).
    async fn cancel_transaction_id(&self) -> Option<&str> {
        self.0.cancel_transaction_id.as_deref()
    }

    /// What the transaction is to the analytics, from its type and subtype (one rule for
    /// the whole API: see docs/features/analytics.md).
    async fn category(&self) -> TransactionCategory {
        let t = &self.0;
        match meaning(
            &t.transaction_type,
            &t.subtype,
            t.security_id.is_some(),
            t.quantity.0,
            t.amount.0,
        ) {
            Meaning::Trade(_) => TransactionCategory::Trade,
            Meaning::ExternalFlow => TransactionCategory::ExternalFlow,
            Meaning::Income(_) => TransactionCategory::Income,
            Meaning::Cost(_) => TransactionCategory::Cost,
            Meaning::Units(_) => TransactionCategory::UnitChange,
            Meaning::Cancel => TransactionCategory::Cancel,
            Meaning::Other => TransactionCategory::Other,
        }
    }
}

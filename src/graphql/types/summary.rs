use crate::domain::TransactionFilter;
use async_graphql::{Context, SimpleObject};

use super::{Account, Security};

use crate::graphql::scalars::DecimalScalar;
use crate::portfolio::SummaryGroup;

/// Sums of one group of investment transactions in one currency. Only the keys that were
/// grouped by are set.
#[derive(SimpleObject)]
pub struct TransactionSummaryRow {
    /// `YYYY-MM`, when grouped by `MONTH`.
    month: Option<String>,
    /// The year, when grouped by `YEAR`.
    year: Option<i32>,
    /// The transaction type, when grouped by `TYPE`.
    #[graphql(name = "type")]
    transaction_type: Option<String>,
    /// The subtype, when grouped by `SUBTYPE`.
    subtype: Option<String>,
    /// The security, when grouped by `SECURITY` (null for cash-only transactions).
    security: Option<Security>,
    /// The account, when grouped by `ACCOUNT`.
    account: Option<Account>,
    /// Plaid's institution id, when grouped by `INSTITUTION`.
    institution_id: Option<String>,
    /// The institution's name, when grouped by `INSTITUTION`.
    institution_name: Option<String>,
    /// Currency of the sums.
    currency: String,
    /// Number of transactions.
    count: i32,
    /// Sum of `amount` (Plaid's sign: positive when cash leaves the account).
    amount: DecimalScalar,
    /// Sum of `fees`.
    fees: DecimalScalar,
    /// Sum of `quantity` (positive bought, negative sold).
    quantity: DecimalScalar,
}

impl TransactionSummaryRow {
    pub async fn load(
        ctx: &Context<'_>,
        filter: &TransactionFilter,
        group_by: &[SummaryGroup],
    ) -> async_graphql::Result<Vec<TransactionSummaryRow>> {
        let rows = super::portfolio::analytics(ctx)
            .transaction_summary(filter, group_by)
            .await?;
        let (accounts, securities) = crate::graphql::loaders(ctx)
            .accounts_and_securities(
                rows.iter().filter_map(|r| r.keys.account_id),
                rows.iter().filter_map(|r| r.keys.security_id),
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let institution = r.keys.institution.clone();
                TransactionSummaryRow {
                    month: r.keys.month.clone(),
                    year: r.keys.year,
                    transaction_type: r.keys.transaction_type.clone(),
                    subtype: r.keys.subtype.clone(),
                    security: r
                        .keys
                        .security_id
                        .and_then(|id| securities.get(&id).cloned())
                        .map(Security),
                    account: r
                        .keys
                        .account_id
                        .and_then(|id| accounts.get(&id).cloned())
                        .map(Account),
                    institution_id: institution.as_ref().and_then(|i| i.id.clone()),
                    institution_name: institution.and_then(|i| i.name),
                    currency: r.currency.clone(),
                    count: r.count as i32,
                    amount: r.amount.into(),
                    fees: r.fees.into(),
                    quantity: r.quantity.into(),
                }
            })
            .collect())
    }
}

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use super::{Account, SyncRun};
use crate::db::entities::plaid_items;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::AccountsOfItem;
use crate::graphql::scalars::{self, DateTime};
use crate::vocabulary::ItemStatus as Status;

pub struct PlaidItem(pub plaid_items::Model);

/// Health of an item's connection to its institution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "Status")]
pub enum ItemStatus {
    /// The last sync succeeded.
    Healthy,
    /// The user must sign in again through Link's update mode.
    LoginRequired,
    /// Consent expires soon; the user should renew it through Link's update mode.
    PendingExpiration,
    /// The institution will disconnect the item soon; update mode avoids it.
    PendingDisconnect,
    /// The last sync failed; see `error`.
    Error,
    /// Plaid has not finished preparing the item's investments data yet.
    NotReady,
}

impl ItemStatus {
    pub fn as_db(self) -> &'static str {
        Status::from(self).as_str()
    }
}

/// The last error Plaid reported for an item.
#[derive(SimpleObject)]
pub struct ItemError {
    /// Plaid's `error_type`, e.g. `ITEM_ERROR`.
    error_type: Option<String>,
    /// Plaid's `error_code`, e.g. `ITEM_LOGIN_REQUIRED`.
    error_code: Option<String>,
    /// Plaid's developer-facing message.
    error_message: Option<String>,
    /// Plaid's message meant for the end user, when there is one.
    display_message: Option<String>,
}

/// A stored JSON array of product names; empty when none was stored.
fn stored_products(json: Option<&str>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// A Plaid Item: one login at one institution, holding one or more accounts.
#[Object]
impl PlaidItem {
    /// Global, opaque id of the object.
    pub(crate) async fn id(&self) -> ID {
        ids::encode(NodeKind::PlaidItem, self.0.id)
    }

    /// Plaid's `item_id`.
    async fn plaid_item_id(&self) -> &str {
        &self.0.plaid_item_id
    }

    /// Plaid's institution id, e.g. `ins_109508`.
    async fn institution_id(&self) -> Option<&str> {
        self.0.institution_id.as_deref()
    }

    /// Display name of the institution.
    async fn institution_name(&self) -> Option<&str> {
        self.0.institution_name.as_deref()
    }

    /// Plaid products the item could add (`available_products`), e.g. `balance`.
    async fn available_products(&self) -> Vec<String> {
        stored_products(self.0.available_products.as_deref())
    }

    /// Plaid products the item is billed for (`billed_products`), e.g. `investments`.
    async fn billed_products(&self) -> Vec<String> {
        stored_products(self.0.billed_products.as_deref())
    }

    /// Plaid's `update_type`: `background`, or `user_present_required` when the
    /// institution needs the user in Link for every refresh.
    async fn update_type(&self) -> Option<&str> {
        self.0.update_type.as_deref()
    }

    /// Health of the connection.
    async fn status(&self) -> ItemStatus {
        Status::from_stored(&self.0.status).into()
    }

    /// The last error, while the item is not healthy.
    async fn error(&self) -> Option<ItemError> {
        let m = &self.0;
        (m.error_code.is_some() || m.error_type.is_some()).then(|| ItemError {
            error_type: m.error_type.clone(),
            error_code: m.error_code.clone(),
            error_message: m.error_message.clone(),
            display_message: m.error_display_message.clone(),
        })
    }

    /// Webhook URL registered with Plaid for this item.
    async fn webhook(&self) -> Option<&str> {
        self.0.webhook.as_deref()
    }

    /// When the user's consent expires, for institutions that set one.
    async fn consent_expiration_time(&self) -> Option<DateTime> {
        scalars::time(self.0.consent_expiration_time)
    }

    /// When a sync of this item last started.
    async fn last_attempt_at(&self) -> Option<DateTime> {
        scalars::time(self.0.last_attempt_at)
    }

    /// When a sync of this item last succeeded.
    async fn last_success_at(&self) -> Option<DateTime> {
        scalars::time(self.0.last_success_at)
    }

    /// When the item was linked.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// The item's latest syncs, newest first.
    async fn sync_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many (at most 100).", default = 10)] first: i32,
    ) -> Result<Vec<SyncRun>> {
        let limit = first.clamp(0, 100) as u64;
        let runs = crate::graphql::scope(ctx)?
            .sync_runs_of_item(self.0.id, limit)
            .await?;
        Ok(runs.into_iter().map(SyncRun).collect())
    }

    /// The item's accounts.
    async fn accounts(&self, ctx: &Context<'_>) -> Result<Vec<Account>> {
        let accounts = crate::graphql::loaders(ctx)
            .children
            .load_one(AccountsOfItem(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(accounts.into_iter().map(Account).collect())
    }
}

//! Linking, syncing and removing Plaid items.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::db::entities::plaid_items;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::scalars::{Date, DateTime};
use crate::graphql::types::{PlaidItem, SyncRun};
use crate::graphql::{scope, sync};
use crate::plaid::types::PublicToken;
use crate::sync::{SyncOutcome, Trigger};

#[derive(Default)]
pub struct ItemMutations;

/// Input of `refreshItem`.
#[derive(InputObject)]
pub struct RefreshItemInput {
    /// The item to sync.
    item_id: ID,
    /// First day of the transaction window (default: 24 months back on the first sync,
    /// else 30 days before the last success).
    start_date: Option<Date>,
    /// Last day of the transaction window (default: today).
    end_date: Option<Date>,
    /// First ask Plaid to refresh the item's data from the institution
    /// (`/investments/refresh`, which Plaid rate-limits) and read it once Plaid announces
    /// the refresh done (its `DEFAULT_UPDATE` webhook), or after 120 seconds.
    #[graphql(default = false)]
    refresh_at_institution: bool,
    /// Seconds to wait for the sync to end (0 to 50, default 20). Past it the answer
    /// carries the run as it stands (`outcome: RUNNING`, with its `phase`); the sync goes
    /// on in the background either way.
    wait: Option<i32>,
}

/// Result of `refreshItem`.
#[derive(SimpleObject)]
pub struct RefreshItemPayload {
    /// The item, with its status after the sync.
    item: PlaidItem,
    /// The sync's record.
    sync_run: Option<SyncRun>,
}

/// Input of `refreshAll`.
#[derive(InputObject, Default)]
pub struct RefreshAllInput {
    /// First day of the transaction window, for every item.
    start_date: Option<Date>,
    /// Last day of the transaction window, for every item.
    end_date: Option<Date>,
    /// Seconds to wait for the sync to end (0 to 50, default 20). Past it the answer
    /// carries the run as it stands (`outcome: RUNNING`, with its `phase`); the sync goes
    /// on in the background either way.
    wait: Option<i32>,
}

/// Why one item's sync failed.
#[derive(SimpleObject)]
pub struct SyncError {
    /// `ITEM_LOGIN_REQUIRED`, `PLAID_RATE_LIMITED`, `PLAID_UNAVAILABLE`,
    /// `PRODUCT_NOT_READY`, `PLAID_ERROR`, ...
    code: String,
    /// What went wrong.
    message: String,
    /// Plaid's own error code, when Plaid reported one.
    plaid_error_code: Option<String>,
    /// Plaid's message for the end user, when there is one.
    display_message: Option<String>,
}

/// One item's result in `refreshAll`.
#[derive(SimpleObject)]
pub struct RefreshResult {
    /// The item, with its status and last error.
    item: PlaidItem,
    /// The sync's record (with its counts).
    sync_run: Option<SyncRun>,
    /// Set when this item's sync failed.
    error: Option<SyncError>,
}

/// Result of `refreshAll`.
#[derive(SimpleObject)]
pub struct RefreshAllPayload {
    /// One result per item, in the order the items were linked.
    results: Vec<RefreshResult>,
}

/// Input of `createLinkToken`.
#[derive(InputObject, Default)]
pub struct CreateLinkTokenInput {
    /// An existing item, to open Link in update mode (to repair its login); absent to
    /// link a new item.
    item_id: Option<ID>,
}

/// Result of `createLinkToken`.
#[derive(SimpleObject)]
pub struct CreateLinkTokenPayload {
    /// Token to initialise Plaid Link with.
    link_token: String,
    /// When the token stops working.
    expiration: DateTime,
}

/// Input of `exchangePublicToken`.
#[derive(InputObject)]
pub struct ExchangePublicTokenInput {
    /// The `public_token` Plaid Link handed to `onSuccess`.
    public_token: String,
    /// Seconds to wait for the sync to end (0 to 50, default 20). Past it the answer
    /// carries the run as it stands (`outcome: RUNNING`, with its `phase`); the sync goes
    /// on in the background either way.
    wait: Option<i32>,
}

/// Result of linking an item (`exchangePublicToken`, `sandboxLinkItem`).
#[derive(SimpleObject)]
pub struct LinkItemPayload {
    /// The new item.
    item: PlaidItem,
    /// Its first sync.
    sync_run: Option<SyncRun>,
    /// Set when the first sync failed (the item stays linked, with its status).
    sync_error: Option<SyncError>,
}

/// Input of `sandboxLinkItem`.
#[derive(InputObject)]
pub struct SandboxLinkItemInput {
    /// A sandbox institution, e.g. `ins_109508` (First Platypus Bank).
    institution_id: String,
    /// Seconds to wait for the sync to end (0 to 50, default 20). Past it the answer
    /// carries the run as it stands (`outcome: RUNNING`, with its `phase`); the sync goes
    /// on in the background either way.
    wait: Option<i32>,
}

/// Input of `removeItem`.
#[derive(InputObject)]
pub struct RemoveItemInput {
    /// The item to remove.
    item_id: ID,
}

/// Result of `removeItem`.
#[derive(SimpleObject)]
pub struct RemoveItemPayload {
    /// Id of the removed item.
    removed_item_id: ID,
}

/// A sync's failure as payload data: an answer like any other, so an internal cause is
/// logged here (once, if the run's record has not already).
fn sync_error(err: &ApiError) -> SyncError {
    err.log_cause();
    let (plaid_error_code, display_message) = match err {
        ApiError::Plaid(f) => (f.plaid_error_code.clone(), f.display_message.clone()),
        _ => (None, None),
    };
    SyncError {
        code: err.code().to_owned(),
        message: err.message(),
        plaid_error_code,
        display_message,
    }
}

fn link_payload(outcome: SyncOutcome) -> LinkItemPayload {
    LinkItemPayload {
        sync_error: outcome.error.as_deref().map(sync_error),
        sync_run: outcome.run.map(SyncRun),
        item: PlaidItem(outcome.item),
    }
}

/// Longest `wait` accepted, in seconds: well inside the request timeout (60 s).
pub const MAX_WAIT_SECONDS: i32 = 50;
/// `wait` when the input has none.
pub const DEFAULT_WAIT_SECONDS: i32 = 20;

/// The wait budget of a sync mutation, refused outside `0..=MAX_WAIT_SECONDS` before any
/// work is done.
fn wait_budget(wait: Option<i32>) -> ApiResult<std::time::Duration> {
    let seconds = wait.unwrap_or(DEFAULT_WAIT_SECONDS);
    if !(0..=MAX_WAIT_SECONDS).contains(&seconds) {
        return Err(ApiError::bad_input(format!(
            "`wait` must be between 0 and {MAX_WAIT_SECONDS} seconds"
        )));
    }
    Ok(std::time::Duration::from_secs(seconds as u64))
}

/// The caller's item `id`, or `NOT_FOUND`.
async fn owned_item(ctx: &Context<'_>, id: &ID) -> ApiResult<plaid_items::Model> {
    let row = ids::decode_as(NodeKind::PlaidItem, id, "itemId")?;
    scope(ctx)?
        .find::<plaid_items::Entity>(row)
        .await?
        .ok_or_else(|| ApiError::not_found("no such item"))
}

#[Object]
impl ItemMutations {
    /// Syncs one item from Plaid now, as background work that no request can cut short:
    /// the answer comes when it ends or after `wait` seconds, with the run as it stands.
    /// A sync of that item already running is joined, not repeated. Plaid failures come
    /// back as errors with the item's new status in `extensions.itemStatus`.
    async fn refresh_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item and, optionally, the transaction window.")]
        input: RefreshItemInput,
    ) -> Result<Option<RefreshItemPayload>> {
        let budget = wait_budget(input.wait)?;
        let item = owned_item(ctx, &input.item_id).await?;
        let service = sync(ctx)?;
        let window = (input.start_date.map(|d| d.0), input.end_date.map(|d| d.0));
        let ticket = if input.refresh_at_institution {
            service.start_refreshed_sync(item, Trigger::Manual, window.0, window.1)?
        } else {
            service.start_sync(item, Trigger::Manual, window.0, window.1)?
        };
        let outcome = ticket.within(budget).await.into_result()?;
        Ok(Some(RefreshItemPayload {
            item: PlaidItem(outcome.item),
            sync_run: outcome.run.map(SyncRun),
        }))
    }

    /// Syncs all your items, a few at a time; one item's failure never stops another.
    async fn refresh_all(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Optional transaction window for every item.")] input: Option<
            RefreshAllInput,
        >,
    ) -> Result<Option<RefreshAllPayload>> {
        let input = input.unwrap_or_default();
        let budget = wait_budget(input.wait)?;
        let outcomes = sync(ctx)?
            .refresh_all(
                Some(scope(ctx)?),
                Trigger::RefreshAll,
                input.start_date.map(|d| d.0),
                input.end_date.map(|d| d.0),
                Some(budget),
            )
            .await?;
        let results = outcomes
            .into_iter()
            .map(|o| RefreshResult {
                error: o.error.as_deref().map(sync_error),
                sync_run: o.run.map(SyncRun),
                item: PlaidItem(o.item),
            })
            .collect();
        Ok(Some(RefreshAllPayload { results }))
    }

    /// A Plaid Link token: to link a new item (investments product, with the server's
    /// webhook), or, given `itemId`, to open Link in update mode for that item.
    async fn create_link_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Optional item for update mode.")] input: Option<CreateLinkTokenInput>,
    ) -> Result<Option<CreateLinkTokenPayload>> {
        let item = match input.and_then(|i| i.item_id) {
            Some(id) => Some(owned_item(ctx, &id).await?),
            None => None,
        };
        let token = sync(ctx)?
            .create_link_token(scope(ctx)?, item.as_ref())
            .await?;
        Ok(Some(CreateLinkTokenPayload {
            link_token: token.link_token,
            expiration: DateTime(token.expiration),
        }))
    }

    /// Stores the item behind a public token from Link (its access token encrypted, its
    /// accounts and institution), then syncs it.
    async fn exchange_public_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The public token from Link.")] input: ExchangePublicTokenInput,
    ) -> Result<Option<LinkItemPayload>> {
        let budget = wait_budget(input.wait)?;
        let outcome = sync(ctx)?
            .exchange_public_token(
                scope(ctx)?,
                &PublicToken::new(input.public_token),
                Some(budget),
            )
            .await?;
        Ok(Some(link_payload(outcome)))
    }

    /// Links a sandbox item without Link (Plaid sandbox or the simulator only), then
    /// syncs it.
    async fn sandbox_link_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sandbox institution.")] input: SandboxLinkItemInput,
    ) -> Result<Option<LinkItemPayload>> {
        let budget = wait_budget(input.wait)?;
        let outcome = sync(ctx)?
            .sandbox_link(scope(ctx)?, &input.institution_id, Some(budget))
            .await?;
        Ok(Some(link_payload(outcome)))
    }

    /// Removes an item at Plaid (ending its billing), then deletes its accounts,
    /// holdings, transactions and history here.
    async fn remove_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item to remove.")] input: RemoveItemInput,
    ) -> Result<Option<RemoveItemPayload>> {
        let item = owned_item(ctx, &input.item_id).await?;
        sync(ctx)?.remove_item(&item).await?;
        Ok(Some(RemoveItemPayload {
            removed_item_id: input.item_id,
        }))
    }
}

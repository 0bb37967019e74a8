//! Subscriptions (`graphql-transport-ws` at `/graphql/ws`): live sync progress, so a
//! frontend watches a sync instead of polling it.

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::ids::{self, NodeKind};
use super::types::SyncRun;
use super::{scope, sync};
use crate::db::entities::sync_runs;

#[derive(Default)]
pub struct SubscriptionRoot;

/// Live updates, over WebSocket at `/graphql/ws` (`graphql-transport-ws`, the token in
/// `connection_init`'s payload as `{"Authorization": "Bearer ..."}`).
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Each of your sync runs every time it moves: recorded (`RUNNING`, phase `QUEUED`),
    /// `FETCHING`, `STORING`, then `SUCCEEDED` or `FAILED` with its counts or error. Only
    /// your own runs ever arrive; a `read` token may subscribe.
    async fn sync_run_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the runs of this item.")] item_id: Option<ID>,
    ) -> Result<impl Stream<Item = SyncRun>> {
        let caller = scope(ctx)?.clone();
        let item = match &item_id {
            Some(id) => Some(ids::decode_as(NodeKind::PlaidItem, id, "itemId")?),
            None => None,
        };
        let updates = sync(ctx)?.run_updates();
        Ok(futures_util::stream::unfold(updates, move |mut updates| {
            let caller = caller.clone();
            async move {
                loop {
                    match updates.recv().await {
                        Ok(run)
                            if caller.owns::<sync_runs::Entity>(&run)
                                && item.is_none_or(|i| run.item_id == i) =>
                        {
                            return Some((SyncRun(run), updates));
                        }
                        // Another user's run, or updates this subscriber was too slow to take.
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}

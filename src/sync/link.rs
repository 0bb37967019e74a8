//! Linking and unlinking items: Link tokens, public-token exchange (store the item, its
//! accounts and institution, then sync it), sandbox linking, removal.

use chrono::{DateTime, Utc};
use sea_orm::{Set, TransactionTrait};

use super::{SyncOutcome, SyncService, Trigger, plaid_failure, store};
use crate::db::entities::plaid_items;
use crate::db::items::{ItemErrorFields, NewItem};
use crate::db::scope::UserScope;
use crate::db::unscoped::Unscoped;
use crate::error::{ApiError, ApiResult};
use crate::plaid::client::Environment;
use crate::plaid::error::PlaidError;
use crate::plaid::types::{
    AccessToken, LinkTokenCreateRequest, LinkTokenUpdate, LinkTokenUser, PublicToken,
};
use crate::vocabulary::ItemStatus;

/// A token to open Plaid Link with.
#[derive(Clone, Debug)]
pub struct LinkToken {
    pub link_token: String,
    pub expiration: DateTime<Utc>,
}

/// Plaid codes after which an item is gone at Plaid already.
const ALREADY_REMOVED: &[&str] = &["ITEM_NOT_FOUND", "INVALID_ACCESS_TOKEN"];

impl SyncService {
    /// A Link token for linking a new item, or for update mode on `item` (to repair a
    /// login or renew consent).
    pub async fn create_link_token(
        &self,
        owner: &UserScope,
        item: Option<&plaid_items::Model>,
    ) -> ApiResult<LinkToken> {
        let options = self.options();
        let mut request = LinkTokenCreateRequest {
            client_name: options.client_name.clone(),
            language: "en".to_owned(),
            country_codes: vec!["US".to_owned(), "CA".to_owned()],
            // Plaid asks for a stable id without personal data.
            user: LinkTokenUser {
                client_user_id: format!("user-{}", owner.user_id()),
            },
            products: Some(vec!["investments".to_owned()]),
            webhook: options.webhook_url.clone(),
            access_token: None,
            update: None,
            redirect_uri: None,
        };
        if let Some(item) = item {
            request.products = None;
            request.access_token = Some(self.access_token(item)?);
            request.update = Some(LinkTokenUpdate {
                account_selection_enabled: false,
            });
        }
        let response = self
            .plaid()
            .link_token_create(&request)
            .await
            .map_err(|e| plaid_failure(&e, item))?;
        Ok(LinkToken {
            link_token: response.link_token,
            expiration: response.expiration,
        })
    }

    /// Exchanges a public token from Link: stores the item (its access token encrypted),
    /// its institution and accounts, then syncs it. A failed first sync does not undo the
    /// link: the outcome carries the error and the item its status.
    ///
    /// The access token is stored before any other call, so that no later failure can lose
    /// it (an item whose token is lost can no longer be removed at Plaid). A public token
    /// for an item already stored (Link's update mode, a double submit) updates that item:
    /// new access token, accounts, and its warnings cleared, since the user just renewed
    /// the connection.
    pub async fn exchange_public_token(
        &self,
        owner: &UserScope,
        public_token: &PublicToken,
        budget: Option<std::time::Duration>,
    ) -> ApiResult<SyncOutcome> {
        // Exchanged and stored in a task of its own: a caller that stops waiting (the
        // GraphQL deadline, a closed connection) must not drop the access token between
        // Plaid's answer and the database, which would orphan the item at Plaid.
        let this = self.clone();
        let public_token = public_token.clone();
        let user_id = owner.user_id();
        let (item, access_token) = tokio::spawn(async move {
            let exchanged = this
                .plaid()
                .item_public_token_exchange(&public_token)
                .await
                .map_err(|e| plaid_failure(&e, None))?;
            let item = this
                .store_access_token(user_id, &exchanged.item_id, &exchanged.access_token)
                .await?;
            Ok::<_, ApiError>((item, exchanged.access_token))
        })
        .await
        .map_err(|e| ApiError::internal("exchanging a public token", e))??;
        let plaid = self.plaid();
        let item_info = match plaid.item_get(&access_token).await {
            Ok(answer) => answer.item,
            Err(err) => return Err(self.linked_but_failed(&item, &err).await),
        };
        let institution_name = match &item_info.institution_id {
            Some(id) => match plaid.institutions_get_by_id(id).await {
                Ok(found) => Some(found.institution.name),
                Err(err) => {
                    tracing::warn!(institution = %id, code = err.code(), "institution name unavailable");
                    item_info.institution_name.clone()
                }
            },
            None => item_info.institution_name.clone(),
        };
        let accounts = match plaid.accounts_get(&access_token).await {
            Ok(answer) => answer.accounts,
            Err(err) => return Err(self.linked_but_failed(&item, &err).await),
        };

        let now = self.clock().now();
        let txn = self.db().begin().await?;
        let item = Unscoped::new(&txn)
            .items()
            .update(plaid_items::ActiveModel {
                id: Set(item.id),
                institution_id: Set(item_info.institution_id.or(item.institution_id)),
                institution_name: Set(institution_name.or(item.institution_name)),
                webhook: Set(item_info.webhook),
                ..Default::default()
            })
            .await?;
        store::store_accounts(&txn, now, user_id, item.id, &accounts).await?;
        txn.commit().await?;
        tracing::info!(item = %item.plaid_item_id, accounts = accounts.len(), "item linked");
        let ticket = self.start_sync(item, Trigger::Link, None, None)?;
        Ok(match budget {
            Some(budget) => ticket.within(budget).await,
            None => ticket.outcome().await,
        })
    }

    /// A Plaid failure after the item was stored: the item keeps its token (so it can be
    /// repaired through update mode, synced later or removed at Plaid) and the status the
    /// failure calls for.
    async fn linked_but_failed(&self, item: &plaid_items::Model, err: &PlaidError) -> ApiError {
        let body = err.body();
        let fields = ItemErrorFields {
            error_type: err.error_type().map(str::to_owned),
            error_code: Some(err.code().to_owned()),
            error_message: Some(
                body.map(|b| b.error_message.clone())
                    .unwrap_or_else(|| err.to_string()),
            ),
            display_message: body.and_then(|b| b.display_message.clone()),
        };
        let status = super::status_after(err);
        let item = match self.set_item_status(item, status, Some(fields)).await {
            Ok(updated) => updated,
            Err(_) => item.clone(),
        };
        tracing::warn!(item = %item.plaid_item_id, code = err.code(), "item stored, but Plaid failed right after the exchange");
        plaid_failure(err, Some(&item))
    }

    /// Stores a freshly issued access token: a new item, or the user's item of that Plaid
    /// `item_id` re-linked (healthy again, errors cleared). Another user's item is refused.
    async fn store_access_token(
        &self,
        user_id: i64,
        plaid_item_id: &str,
        access_token: &AccessToken,
    ) -> ApiResult<plaid_items::Model> {
        let ciphertext = self.0.cipher.encrypt(access_token, plaid_item_id);
        let items = self.unscoped().items();
        for attempt in 0..2 {
            if let Some(existing) = items.find_by_plaid_id(plaid_item_id).await? {
                if existing.user_id != user_id {
                    return Err(ApiError::Forbidden(
                        "this Plaid item is linked by another user".to_owned(),
                    ));
                }
                tracing::info!(item = %plaid_item_id, "item re-linked: access token replaced");
                return items
                    .update(plaid_items::ActiveModel {
                        id: Set(existing.id),
                        access_token_ciphertext: Set(Some(ciphertext.clone())),
                        status: Set(ItemStatus::Healthy.as_str().to_owned()),
                        error_type: Set(None),
                        error_code: Set(None),
                        error_message: Set(None),
                        error_display_message: Set(None),
                        ..Default::default()
                    })
                    .await;
            }
            let created = items
                .create(
                    NewItem {
                        user_id,
                        access_token_ciphertext: Some(ciphertext.clone()),
                        plaid_item_id: plaid_item_id.to_owned(),
                        institution_id: None,
                        institution_name: None,
                        webhook: None,
                    },
                    self.clock().now(),
                )
                .await;
            match created {
                Ok(item) => return Ok(item),
                // A concurrent exchange for the same item stored it first: update that one.
                Err(err) if attempt == 0 => {
                    tracing::info!(item = %plaid_item_id, error = %err.message(), "item stored concurrently");
                }
                Err(err) => return Err(err),
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Links an item without Link: `/sandbox/public_token/create`, then the exchange.
    /// Only against Plaid's sandbox (or the simulator).
    pub async fn sandbox_link(
        &self,
        owner: &UserScope,
        institution_id: &str,
        budget: Option<std::time::Duration>,
    ) -> ApiResult<SyncOutcome> {
        if self.plaid().environment() != Environment::Sandbox {
            return Err(ApiError::Forbidden(
                "sandboxLinkItem only works with PLAID_ENV=sandbox".to_owned(),
            ));
        }
        let created = self
            .plaid()
            .sandbox_public_token_create(institution_id, self.options().webhook_url.clone())
            .await
            .map_err(|e| plaid_failure(&e, None))?;
        self.exchange_public_token(owner, &created.public_token, budget)
            .await
    }

    /// Removes an item at Plaid (which ends its billing), then deletes its data here.
    pub async fn remove_item(&self, item: &plaid_items::Model) -> ApiResult<()> {
        if item.access_token_ciphertext.is_some() {
            let token = self.access_token(item)?;
            if let Err(err) = self.plaid().item_remove(&token).await
                && !ALREADY_REMOVED.contains(&err.code())
            {
                return Err(plaid_failure(&err, Some(item)));
            }
        }
        let txn = self.db().begin().await?;
        let db = Unscoped::new(&txn);
        db.items().delete(item.id).await?;
        db.securities().delete_orphans(item.user_id).await?;
        db.users().bump_data_version(item.user_id).await?;
        txn.commit().await?;
        tracing::info!(item = %item.plaid_item_id, "item removed");
        Ok(())
    }
}

//! Sync against the simulator over loopback, on SQLite and PostgreSQL.

use std::collections::HashSet;

use investments::auth::Scope;
use investments::db::entities::{accounts, investment_holdings, securities};
use investments::plaid::simulator::{Scenario, SimulatorConfig};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::{on_each_backend_as_alice, on_each_backend_with_plaid};
use crate::plaid_support::*;

/// A field of a stored row and the same field of Plaid's object.
type Field<S, P> = (
    &'static str,
    fn(&S) -> Option<Decimal>,
    fn(&P) -> Option<Decimal>,
);

/// Asserts that the stored rows and Plaid's objects sum to the same, to the last decimal,
/// field by field (fields a row lacks count for nothing).
fn assert_sums<S, P>(what: &str, stored: &[S], plaid: &[P], fields: &[Field<S, P>]) {
    for (field, of_stored, of_plaid) in fields {
        assert_eq!(
            sum(stored.iter().filter_map(of_stored)),
            sum(plaid.iter().filter_map(of_plaid)),
            "{what} {field}"
        );
    }
}

fn config(transactions: usize) -> SimulatorConfig {
    SimulatorConfig {
        transactions_per_item: transactions,
        ..Default::default()
    }
}

#[tokio::test]
async fn full_sync_stores_exactly_what_plaid_holds() {
    on_each_backend_linked(config(300), |app, token, item| async move {
        let plaid = app.simulator().data(&item.plaid_item_id).unwrap();

        let stored_accounts = accounts::Entity::find()
            .filter(accounts::Column::ItemId.eq(item.row.id))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(stored_accounts.len(), plaid.accounts.len());
        let account_ids: Vec<i64> = stored_accounts.iter().map(|a| a.id).collect();
        let holdings = investment_holdings::Entity::find()
            .filter(investment_holdings::Column::AccountId.is_in(account_ids))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(holdings.len(), plaid.holdings.len());
        let transactions = transactions_of(&app, item.row.id).await;
        assert_eq!(transactions.len(), plaid.transactions.len());
        let referenced: HashSet<&String> = plaid
            .holdings
            .iter()
            .map(|h| &h.security_id)
            .chain(
                plaid
                    .transactions
                    .iter()
                    .filter_map(|t| t.security_id.as_ref()),
            )
            .collect();
        let stored_securities = securities::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(stored_securities.len(), referenced.len());

        // Every sum, to the last decimal.
        assert_sums(
            "holding",
            &holdings,
            &plaid.holdings,
            &[
                ("quantity", |h| Some(h.quantity.0), |h| Some(h.quantity)),
                (
                    "value",
                    |h| Some(h.institution_value.0),
                    |h| Some(h.institution_value),
                ),
                (
                    "cost basis",
                    |h| h.cost_basis.map(|c| c.0),
                    |h| h.cost_basis,
                ),
            ],
        );
        assert_sums(
            "transaction",
            &transactions,
            &plaid.transactions,
            &[
                ("amount", |t| Some(t.amount.0), |t| Some(t.amount)),
                ("quantity", |t| Some(t.quantity.0), |t| Some(t.quantity)),
                ("fees", |t| t.fees.map(|f| f.0), |t| t.fees),
            ],
        );
        // And row by row: the number Plaid wrote is the number stored.
        for t in &plaid.transactions {
            let stored = transactions
                .iter()
                .find(|s| s.plaid_investment_transaction_id == t.investment_transaction_id)
                .unwrap();
            // Equal as numbers (the wire carries doubles, so "-257.50" arrives as -257.5).
            assert_eq!(
                (
                    stored.amount.0,
                    stored.quantity.0,
                    stored.price.0,
                    stored.fees.map(|f| f.0),
                    stored.date
                ),
                (t.amount, t.quantity, t.price, t.fees, t.date)
            );
            assert_eq!(stored.transaction_type, t.transaction_type);
            assert_eq!(stored.subtype, t.subtype);
        }
        let doge = stored_securities
            .iter()
            .find(|s| s.ticker_symbol.as_deref() == Some("DOGE"))
            .unwrap();
        assert_eq!(doge.close_price.unwrap().0.to_string(), "0.140034616");

        // The GraphQL totals agree.
        let data = app
            .query(
                &token,
                "{ portfolio { totals { currency marketValue holdingsCount } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["portfolio"]["totals"][0]["marketValue"],
            sum(plaid.holdings.iter().map(|h| h.institution_value)).to_string()
        );
        let runs = runs_of(&app, item.row.id).await;
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].trigger, "link");
        assert_eq!(
            runs[0].transactions_upserted as usize,
            plaid.transactions.len()
        );
        assert_eq!(runs[0].snapshots_written as usize, plaid.holdings.len());
        let today = chrono::Utc::now().date_naive();
        assert_eq!(runs[0].window_end, Some(today));
        assert_eq!(
            runs[0].window_start,
            today.checked_sub_months(chrono::Months::new(24))
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_sync_changes_nothing() {
    on_each_backend_linked(config(300), |app, token, item| async move {
        let before = stored_state(&app, item.row.id).await;
        let (status, body) = refresh(&app, &token, &item).await;
        assert_eq!(status, 200);
        let run = &body["data"]["refreshItem"]["syncRun"];
        assert_eq!(run["outcome"], "SUCCEEDED", "{body}");
        assert_eq!(run["holdingsRemoved"], 0);
        assert_eq!(run["transactionsCancelled"], 0);
        assert_eq!(stored_state(&app, item.row.id).await, before);
        // A later sync starts 30 days before the last success.
        let last = item_row(&app, item.row.id).await.last_success_at.unwrap();
        let start = (last.date_naive() - chrono::Days::new(30)).to_string();
        let runs = runs_of(&app, item.row.id).await;
        assert_eq!(runs.len(), 2);
        assert!(runs[1].window_start.unwrap().to_string() <= start);
        // What Plaid said of the item is served as stored.
        let items = app
            .query(
                &token,
                "{ items { nodes { availableProducts billedProducts updateType accounts { reissuedOn } } } }",
                json!({}),
            )
            .await;
        let node = &items["items"]["nodes"][0];
        assert_eq!(node["availableProducts"], json!(["balance", "transactions"]));
        assert_eq!(node["billedProducts"], json!(["investments"]));
        assert_eq!(node["accounts"][0]["reissuedOn"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn sold_positions_go_and_cancellations_are_flagged() {
    on_each_backend_linked(config(300), |app, token, item| async move {
        let plaid = app.simulator().data(&item.plaid_item_id).unwrap();
        const COUNTS: &str = "{ investmentTransactions(filter: {cancelled: false}) { totalCount } all: investmentTransactions { totalCount } holdings { totalCount } }";
        let before = app.query(&token, COUNTS, json!({})).await;

        let sold = &plaid.holdings[0];
        assert!(app.simulator().sell_position(&item.plaid_item_id, &sold.account_id, &sold.security_id));
        let target = plaid
            .transactions
            .iter()
            .find(|t| t.transaction_type == "buy" && t.date < chrono::Utc::now().date_naive() - chrono::Days::new(40))
            .unwrap()
            .clone();
        let cancel = app
            .simulator()
            .cancel_transaction(&item.plaid_item_id, &target.investment_transaction_id)
            .unwrap();
        let vanished = plaid
            .transactions
            .iter()
            .find(|t| t.transaction_type == "cash" && t.date > chrono::Utc::now().date_naive() - chrono::Days::new(25))
            .expect("a recent cash row")
            .clone();
        assert!(app.simulator().remove_transaction(&item.plaid_item_id, &vanished.investment_transaction_id));

        // The whole history, so that the cancelled trade is in the window.
        let data = app
            .query(
                &token,
                REFRESH,
                whole_history(&item),
            )
            .await;
        let run = &data["refreshItem"]["syncRun"];
        assert_eq!(run["holdingsRemoved"], 1);
        assert_eq!(run["transactionsCancelled"], 2, "the cancelled trade and the vanished row");

        let rows = transactions_of(&app, item.row.id).await;
        let find = |id: &str| rows.iter().find(|t| t.plaid_investment_transaction_id == id).unwrap();
        assert!(find(&target.investment_transaction_id).cancelled, "cancelled, kept");
        assert!(find(&cancel.investment_transaction_id).cancelled, "the cancel row is kept too");
        assert!(find(&vanished.investment_transaction_id).cancelled, "vanished: flagged, not deleted");

        let after = app.query(&token, COUNTS, json!({})).await;
        let count = |data: &Value, field: &str| data[field]["totalCount"].as_i64().unwrap();
        let change = |field: &str| count(&after, field) - count(&before, field);
        assert_eq!(change("holdings"), -1);
        assert_eq!(change("all"), 1);
        assert_eq!(change("investmentTransactions"), -2, "cancelled rows are left out");
    })
    .await;
}

#[tokio::test]
async fn many_transactions_over_pages() {
    on_each_backend_as_alice(config(2345), |app, token| async move {
        let item = link(&app, &token, "ins_109509").await;
        assert_eq!(
            app.simulator().calls("/investments/transactions/get"),
            5,
            "2,345 rows in pages of 500"
        );
        let rows = transactions_of(&app, item.row.id).await;
        assert_eq!(rows.len(), 2345);
        let ids: HashSet<&str> = rows
            .iter()
            .map(|t| t.plaid_investment_transaction_id.as_str())
            .collect();
        assert_eq!(ids.len(), 2345);
    })
    .await;
}

/// A window longer than one chunk (10,000 rows) streams into the sync's one transaction:
/// every row lands once, the run counts every page, and a full re-sync changes nothing (no
/// row of one chunk is taken for vanished while another is written).
#[tokio::test]
async fn a_window_longer_than_a_chunk_streams_in_whole() {
    on_each_backend_linked(config(12_345), |app, token, item| async move {
        let rows = transactions_of(&app, item.row.id).await;
        assert_eq!(rows.len(), 12_345);
        let run = &runs_of(&app, item.row.id).await[0];
        assert_eq!((run.pages_fetched, run.pages_total), (25, Some(25)));
        let before = stored_state(&app, item.row.id).await;
        let start = chrono::Utc::now().date_naive() - chrono::Days::new(740);
        let data = app
            .query(
                &token,
                REFRESH,
                json!({ "id": item.id, "start": start.to_string() }),
            )
            .await;
        let run = &data["refreshItem"]["syncRun"];
        assert_eq!(run["outcome"], "SUCCEEDED", "{data}");
        assert_eq!(run["transactionsUpserted"], 12_345);
        assert_eq!(run["transactionsCancelled"], 0);
        assert_eq!(stored_state(&app, item.row.id).await, before);
    })
    .await;
}

#[tokio::test]
async fn a_transaction_arriving_during_pagination_is_neither_lost_nor_doubled() {
    on_each_backend_linked(config(1200), |app, token, item| async move {
        let scenario = Scenario {
            insert_during_pagination: true,
            ..Default::default()
        };
        app.simulator().set_scenario(&item.plaid_item_id, scenario);
        let calls_before = app.simulator().calls("/investments/transactions/get");
        let data = app.query(&token, REFRESH, whole_history(&item)).await;
        assert_eq!(data["refreshItem"]["syncRun"]["outcome"], "SUCCEEDED");
        let pages = app.simulator().calls("/investments/transactions/get") - calls_before;
        assert!(
            pages > 3,
            "the window was fetched again after the total changed ({pages} pages)"
        );
        let plaid: HashSet<String> = app
            .simulator()
            .data(&item.plaid_item_id)
            .unwrap()
            .transactions
            .into_iter()
            .map(|t| t.investment_transaction_id)
            .collect();
        let stored: Vec<String> = transactions_of(&app, item.row.id)
            .await
            .into_iter()
            .map(|t| t.plaid_investment_transaction_id)
            .collect();
        assert_eq!(stored.len(), 1201);
        assert_eq!(stored.iter().cloned().collect::<HashSet<_>>(), plaid);
    })
    .await;
}

#[tokio::test]
async fn rate_limits_are_retried() {
    on_each_backend_linked(config(300), |app, token, item| async move {
        set_scenario(app.simulator(), &item.plaid_item_id, |s| {
            s.rate_limited_calls = 2
        });
        let holdings_before = app.simulator().calls("/investments/holdings/get");
        let (_, body) = refresh(&app, &token, &item).await;
        assert_eq!(
            body["data"]["refreshItem"]["syncRun"]["outcome"], "SUCCEEDED",
            "{body}"
        );
        assert_eq!(
            app.simulator().calls("/investments/holdings/get") - holdings_before,
            3
        );
        assert_eq!(
            app.simulator()
                .scenario(&item.plaid_item_id)
                .unwrap()
                .rate_limited_calls,
            0
        );

        // More 429s than the retry budget: the caller learns it was rate limited.
        set_scenario(app.simulator(), &item.plaid_item_id, |s| {
            s.rate_limited_calls = 50
        });
        let (_, body) = refresh(&app, &token, &item).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "PLAID_RATE_LIMITED",
            "{body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["itemStatus"], "error");
    })
    .await;
}

#[tokio::test]
async fn login_required_sets_the_status_and_a_later_success_clears_it() {
    on_each_backend_linked(config(300), |app, token, item| async move {
        let calls = app.simulator().calls("/investments/holdings/get");
        set_scenario(app.simulator(), &item.plaid_item_id, |s| s.login_required = true);
        let (_, body) = refresh(&app, &token, &item).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "ITEM_LOGIN_REQUIRED", "{body}");
        assert_eq!(error["extensions"]["plaidErrorCode"], "ITEM_LOGIN_REQUIRED");
        assert_eq!(error["extensions"]["itemStatus"], "login_required");
        assert!(error["extensions"]["requestId"].is_string());
        assert_eq!(body["data"]["refreshItem"], serde_json::Value::Null);
        assert_eq!(app.simulator().calls("/investments/holdings/get") - calls, 1, "never retried");
        let status = app
            .query(&token, "{ items { nodes { status error { errorCode displayMessage } syncRuns(first: 1) { outcome errorCode } } } }", json!({}))
            .await;
        let node = &status["items"]["nodes"][0];
        assert_eq!(node["status"], "LOGIN_REQUIRED");
        assert_eq!(node["error"]["errorCode"], "ITEM_LOGIN_REQUIRED");
        assert_eq!(node["syncRuns"][0]["outcome"], "FAILED");
        assert_eq!(node["syncRuns"][0]["errorCode"], "ITEM_LOGIN_REQUIRED");

        // Update mode: a link token for the item.
        let link_token = app
            .query(&token, "mutation($id: ID!) { createLinkToken(input: {itemId: $id}) { linkToken expiration } }", json!({ "id": item.id }))
            .await;
        assert!(link_token["createLinkToken"]["linkToken"].as_str().unwrap().starts_with("link-sandbox-"));

        app.simulator().set_scenario(&item.plaid_item_id, Scenario::default());
        let (_, body) = refresh(&app, &token, &item).await;
        let item_after = &body["data"]["refreshItem"]["item"];
        assert_eq!(item_after["status"], "HEALTHY", "{body}");
        assert_eq!(item_after["error"], serde_json::Value::Null);
    })
    .await;
}

#[tokio::test]
async fn a_failure_in_the_middle_of_pagination_leaves_the_data_as_it_was() {
    on_each_backend_linked(config(1200), |app, token, item| async move {
        let plaid = app.simulator().data(&item.plaid_item_id).unwrap();
        // Changes a successful sync would write...
        let sold = &plaid.holdings[1];
        app.simulator()
            .sell_position(&item.plaid_item_id, &sold.account_id, &sold.security_id);
        app.simulator().add_transaction(&item.plaid_item_id);
        // ...but page two fails more often than the client retries.
        set_scenario(app.simulator(), &item.plaid_item_id, |s| {
            s.failing_pages = 100
        });
        let before = stored_state(&app, item.row.id).await;
        let (_, body) = app.post(Some(&token), REFRESH, whole_history(&item)).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "PLAID_UNAVAILABLE",
            "{body}"
        );
        assert_eq!(
            stored_state(&app, item.row.id).await,
            before,
            "nothing partial was written"
        );
        let runs = runs_of(&app, item.row.id).await;
        let last = runs.last().unwrap();
        assert_eq!(last.outcome, "failed");
        assert_eq!(last.error_code.as_deref(), Some("INTERNAL_SERVER_ERROR"));
        assert_eq!(item_row(&app, item.row.id).await.status, "error");
    })
    .await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_item_run_one_sync() {
    on_each_backend_linked(config(300), |app, token, item| async move {
        set_scenario(app.simulator(), &item.plaid_item_id, |s| s.latency_ms = 150);
        let holdings_calls = app.simulator().calls("/investments/holdings/get");
        let (a, b) = tokio::join!(refresh(&app, &token, &item), refresh(&app, &token, &item));
        let run_a = &a.1["data"]["refreshItem"]["syncRun"];
        let run_b = &b.1["data"]["refreshItem"]["syncRun"];
        assert_eq!(run_a["outcome"], "SUCCEEDED", "{a:?}");
        assert_eq!(run_a["id"], run_b["id"], "both requests got the one sync");
        assert_eq!(
            app.simulator().calls("/investments/holdings/get") - holdings_calls,
            1
        );
        assert_eq!(
            runs_of(&app, item.row.id).await.len(),
            2,
            "the link's sync and one refresh"
        );
    })
    .await;
}

#[tokio::test]
async fn refresh_all_reports_every_item_even_when_one_fails() {
    on_each_backend_as_alice(config(200), |app, token| async move {
        let a = link(&app, &token, "ins_109508").await;
        let b = link(&app, &token, "ins_109511").await;
        let c = link(&app, &token, "ins_43").await;
        set_scenario(app.simulator(), &b.plaid_item_id, |s| s.login_required = true);
        let data = app
            .query(
                &token,
                "mutation { refreshAll { results { item { id status } syncRun { outcome } error { code plaidErrorCode } } } }",
                json!({}),
            )
            .await;
        let results = data["refreshAll"]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let by_id = |id: &str| results.iter().find(|r| r["item"]["id"] == id).unwrap();
        for ok in [&a, &c] {
            let r = by_id(&ok.id);
            assert_eq!(r["syncRun"]["outcome"], "SUCCEEDED");
            assert_eq!(r["error"], serde_json::Value::Null);
        }
        let failed = by_id(&b.id);
        assert_eq!(failed["error"]["code"], "ITEM_LOGIN_REQUIRED");
        assert_eq!(failed["item"]["status"], "LOGIN_REQUIRED");
        assert_eq!(failed["syncRun"]["outcome"], "FAILED");
        // Two currencies now (the Canadian item), never added together.
        let totals = app
            .query(&token, "{ portfolio { totals { currency } } }", json!({}))
            .await;
        assert_eq!(totals["portfolio"]["totals"], json!([{ "currency": "CAD" }, { "currency": "USD" }]));
    })
    .await;
}

#[tokio::test]
async fn exchange_and_removal() {
    on_each_backend_as_alice(config(100), |app, token| async move {
        let link_token = app
            .query(&token, "mutation { createLinkToken { linkToken expiration } }", json!({}))
            .await;
        assert!(link_token["createLinkToken"]["expiration"].is_string());
        // What Link's onSuccess would hand over.
        let public = public_token(&app, "ins_109512").await;
        let data = app
            .query(
                &token,
                "mutation($t: String!) { exchangePublicToken(input: {publicToken: $t}) { item { id institutionName accounts { name } } syncRun { outcome } syncError { code } } }",
                json!({ "t": public }),
            )
            .await;
        let payload = &data["exchangePublicToken"];
        assert_eq!(payload["item"]["institutionName"], "Houndstooth Bank");
        assert_eq!(payload["item"]["accounts"].as_array().unwrap().len(), 5);
        assert_eq!(payload["syncRun"]["outcome"], "SUCCEEDED");
        // A public token works once.
        let (_, again) = app
            .post(
                Some(&token),
                "mutation($t: String!) { exchangePublicToken(input: {publicToken: $t}) { item { id } } }",
                json!({ "t": public }),
            )
            .await;
        assert_eq!(again["errors"][0]["extensions"]["plaidErrorCode"], "INVALID_PUBLIC_TOKEN");

        let id = payload["item"]["id"].clone();
        let removed = app
            .query(&token, "mutation($id: ID!) { removeItem(input: {itemId: $id}) { removedItemId } }", json!({ "id": id }))
            .await;
        assert_eq!(removed["removeItem"]["removedItemId"], id);
        assert_eq!(app.simulator().item_ids().len(), 0, "removed at Plaid too");
        let left = app
            .query(&token, "{ items { totalCount } accounts { totalCount } holdings { totalCount } securities { totalCount } investmentTransactions { totalCount } }", json!({}))
            .await;
        for key in ["items", "accounts", "holdings", "securities", "investmentTransactions"] {
            assert_eq!(left[key]["totalCount"], 0, "{key}");
        }
    })
    .await;
}

#[tokio::test]
async fn read_tokens_cannot_sync_and_other_users_items_are_not_found() {
    on_each_backend_with_plaid(config(100), |app| async move {
        let (_, alice) = app.user("alice", Scope::Write).await;
        let (_, reader) = app.user("alice", Scope::Read).await;
        let (_, bob) = app.user("bob", Scope::Write).await;
        let item = link(&app, &alice, "ins_109508").await;
        let (_, body) = refresh(&app, &reader, &item).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
        let (_, body) = refresh(&app, &bob, &item).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
        let (_, body) = app
            .post(
                Some(&bob),
                "mutation($id: ID!) { removeItem(input: {itemId: $id}) { removedItemId } }",
                json!({ "id": item.id }),
            )
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
        assert_eq!(runs_of(&app, item.row.id).await.len(), 1);
        let (_, body) = app
            .post(
                Some(&alice),
                REFRESH,
                json!({ "id": item.id, "start": "2024-05-01", "end": "2024-01-01" }),
            )
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    })
    .await;
}

/// An account whose positions were all sold reads zero from the sync that saw it empty,
/// instead of carrying its last positions forward.
#[tokio::test]
async fn an_emptied_account_drops_to_zero_in_its_history() {
    on_each_backend_linked(config(50), |app, token, item| async move {
        let (user, _) = app.viewer();
        let plaid = app.simulator().data(&item.plaid_item_id).unwrap();
        let held = &plaid.holdings[0];
        let account = accounts::Entity::find()
            .filter(accounts::Column::PlaidAccountId.eq(&held.account_id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let security = securities::Entity::find()
            .filter(securities::Column::PlaidSecurityId.eq(&held.security_id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let currency = security.iso_currency_code.clone().unwrap();
        let today = chrono::Utc::now().date_naive();
        let day = |n: u64| (today - chrono::Days::new(n)).to_string();
        crate::fixtures::Fixture::new(&app, user)
            .snapshot(&account, &security, &day(3), "1", "100", "100", Some("90"), None)
            .await;

        for h in plaid.holdings.iter().filter(|h| h.account_id == held.account_id) {
            assert!(app.simulator().sell_position(&item.plaid_item_id, &h.account_id, &h.security_id));
        }
        let data = app.query(&token, REFRESH, json!({ "id": item.id })).await;
        assert_eq!(data["refreshItem"]["syncRun"]["outcome"], "SUCCEEDED", "{data}");

        let history = app
            .query(
                &token,
                "query($id: ID!, $from: Date!) { node(id: $id) { ... on Account {
                    valueHistory(from: $from) { date currency marketValue observed } } } }",
                json!({ "id": crate::fixtures::gid(investments::graphql::ids::NodeKind::Account, account.id), "from": day(3) }),
            )
            .await;
        let point = |date: String, value: &str, observed: bool| {
            json!({ "date": date, "currency": currency, "marketValue": value, "observed": observed })
        };
        assert_eq!(
            history["node"]["valueHistory"],
            json!([
                point(day(3), "100", true),
                point(day(2), "100", false),
                point(day(1), "100", false),
                point(day(0), "0", true),
            ])
        );
    })
    .await;
}

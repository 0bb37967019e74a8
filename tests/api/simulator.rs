//! The simulator speaks Plaid's wire format: paths, JSON shapes, error objects, statuses,
//! validation, and newest-first offset paging.

use std::sync::{Arc, Mutex};

use investments::plaid::client::{PlaidApi, PlaidClient, TransactionsPage};
use investments::plaid::error::PlaidError;
use investments::plaid::simulator::{Simulator, SimulatorConfig};
use investments::plaid::types::AccessToken;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{fast_retry, on_each_backend_with_scenario};

struct Wire {
    sim: Simulator,
    http: reqwest::Client,
}

impl Wire {
    async fn new() -> Wire {
        Wire {
            sim: Simulator::start(SimulatorConfig::default()).await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, path: &str, body: Value) -> (u16, Value, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.sim.url()))
            .header("PLAID-CLIENT-ID", &self.sim.config().client_id)
            .header("PLAID-SECRET", &self.sim.config().secret)
            .header("Plaid-Version", "2020-09-14")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap(), text)
    }

    async fn linked(&self) -> String {
        let (_, created, _) = self
            .call(
                "/sandbox/public_token/create",
                json!({ "institution_id": "ins_109508", "initial_products": ["investments"] }),
            )
            .await;
        let (_, exchanged, _) = self
            .call(
                "/item/public_token/exchange",
                json!({ "public_token": created["public_token"] }),
            )
            .await;
        exchanged["access_token"].as_str().unwrap().to_owned()
    }
}

fn assert_error(status: u16, body: &Value, want_status: u16, error_type: &str, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error_type"], error_type, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(body["error_message"].is_string());
    assert!(body.as_object().unwrap().contains_key("display_message"));
    assert!(body["request_id"].is_string());
}

#[tokio::test]
async fn requests_are_validated_like_plaid() {
    let wire = Wire::new().await;
    let token = wire.linked().await;
    let window = |extra: Value| {
        let mut body =
            json!({ "access_token": token, "start_date": "2024-01-01", "end_date": "2024-12-31" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let (s, b, _) = wire
        .call(
            "/investments/transactions/get",
            json!({ "start_date": "2024-01-01", "end_date": "2024-12-31" }),
        )
        .await;
    assert_error(s, &b, 400, "INVALID_REQUEST", "MISSING_FIELDS");
    let (s, b, _) = wire
        .call(
            "/investments/transactions/get",
            window(json!({ "options": { "count": 501 } })),
        )
        .await;
    assert_error(s, &b, 400, "INVALID_REQUEST", "INVALID_FIELD");
    let (s, b, _) = wire
        .call(
            "/investments/transactions/get",
            window(json!({ "start_date": "2024-13-01" })),
        )
        .await;
    assert_error(s, &b, 400, "INVALID_REQUEST", "INVALID_FIELD");
    let (s, b, _) = wire
        .call(
            "/investments/transactions/get",
            window(json!({ "surprise": true })),
        )
        .await;
    assert_error(s, &b, 400, "INVALID_REQUEST", "UNKNOWN_FIELDS");
    let (s, b, _) = wire
        .call(
            "/investments/holdings/get",
            json!({ "access_token": "access-sandbox-nope" }),
        )
        .await;
    assert_error(s, &b, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN");
    let (s, b, _) = wire
        .call(
            "/investments/holdings/get",
            json!({ "access_token": token, "options": { "account_ids": ["nope"] } }),
        )
        .await;
    assert_error(s, &b, 400, "INVALID_INPUT", "INVALID_ACCOUNT_ID");
    let (s, b, _) = wire.call("/no/such/endpoint", json!({})).await;
    assert_error(s, &b, 404, "INVALID_REQUEST", "NOT_FOUND");
    let response = reqwest::Client::new()
        .post(format!("{}/investments/holdings/get", wire.sim.url()))
        .header("PLAID-CLIENT-ID", "someone")
        .header("PLAID-SECRET", "wrong")
        .json(&json!({ "access_token": token }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(
        status,
        &response.json().await.unwrap(),
        400,
        "INVALID_INPUT",
        "INVALID_API_KEYS",
    );
}

#[tokio::test]
async fn responses_have_plaids_shapes_and_order() {
    let wire = Wire::new().await;
    let token = wire.linked().await;
    let (s, holdings, raw) = wire
        .call(
            "/investments/holdings/get",
            json!({ "access_token": token }),
        )
        .await;
    assert_eq!(s, 200);
    for key in ["accounts", "holdings", "securities", "item", "request_id"] {
        assert!(holdings.get(key).is_some(), "{key}");
    }
    // Required-but-nullable keys are written as null; money is a JSON number.
    let security = &holdings["securities"][0];
    for key in [
        "isin",
        "cusip",
        "sedol",
        "proxy_security_id",
        "option_contract",
        "fixed_income",
        "close_price",
        "market_identifier_code",
        "sector",
    ] {
        assert!(security.as_object().unwrap().contains_key(key), "{key}");
    }
    assert!(
        raw.contains("0.140034616"),
        "DOGE's price exactly as written"
    );
    assert!(holdings["holdings"][0]["quantity"].is_number());
    let option = holdings["securities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "derivative")
        .unwrap();
    assert_eq!(option["option_contract"]["contract_type"], "call");
    let bill = holdings["securities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "fixed income")
        .unwrap();
    assert_eq!(bill["fixed_income"]["yield_rate"]["percentage"], 5.12);

    let page = |offset: i64, count: i64| {
        wire.call(
            "/investments/transactions/get",
            json!({ "access_token": token, "start_date": "2000-01-01", "end_date": "2100-01-01", "options": { "offset": offset, "count": count } }),
        )
    };
    let (_, all, _) = page(0, 500).await;
    assert_eq!(all["total_investment_transactions"], 300);
    let ids = |v: &Value| -> Vec<(String, String)> {
        v["investment_transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["date"].as_str().unwrap().to_owned(),
                    t["investment_transaction_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let everything = ids(&all);
    let mut sorted = everything.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(everything, sorted, "newest first, stable");
    let (_, first, _) = page(0, 120).await;
    let (_, second, _) = page(120, 120).await;
    let (_, third, _) = page(240, 120).await;
    let mut paged = ids(&first);
    paged.extend(ids(&second));
    paged.extend(ids(&third));
    assert_eq!(paged, everything);
    assert_eq!(
        third["investment_transactions"].as_array().unwrap().len(),
        60
    );
}

/// A webhook receiver on a loopback port: every body it gets, in order.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| async move {
            sink.lock().unwrap().push(body.0);
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn a_scenario_is_lived_day_by_day_over_the_wire() {
    on_each_backend_with_scenario("simulator_walkthrough", |app| async move {
        let sim = app.simulator();
        let mut config = sim.client_config();
        config.retry = fast_retry();
        let plaid = PlaidClient::new(config).unwrap();
        let (hook, received) = webhook_receiver().await;
        let link = async || {
            let public = plaid
                .sandbox_public_token_create("ins_109508", Some(hook.clone()))
                .await
                .unwrap();
            plaid
                .item_public_token_exchange(&public.public_token)
                .await
                .unwrap()
        };
        let linked = link().await;
        assert_eq!(linked.item_id, "item-broker");
        let token = linked.access_token;
        let dec = |s: &str| s.parse::<Decimal>().unwrap();
        let holdings =
            async |token: &AccessToken| plaid.investments_holdings_get(token, None).await.unwrap();
        let transactions = async || {
            let page = TransactionsPage {
                access_token: token.clone(),
                start_date: sim.day_date(1),
                end_date: sim.config().clock.today(),
                account_ids: None,
                count: 500,
                offset: 0,
                first_sync: false,
            };
            plaid.investments_transactions_get(&page).await.unwrap()
        };
        let account_ids = |accounts: &[investments::plaid::types::Account]| {
            accounts
                .iter()
                .map(|a| a.account_id.clone())
                .collect::<Vec<_>>()
        };

        // Day 1: one account, one position, one trade.
        let day1 = holdings(&token).await;
        assert_eq!(account_ids(&day1.accounts), ["acc-broker"]);
        assert_eq!(day1.holdings[0].institution_value, dec("1000"));
        assert_eq!(day1.accounts[0].balances.current, Some(dec("1000")));
        assert_eq!(day1.securities[0].close_price, Some(dec("100")));
        assert_eq!(transactions().await.total_investment_transactions, 1);

        // Day 2: a new price revalues the position and is the security's close.
        sim.advance_to_day(2).await.unwrap();
        let day2 = holdings(&token).await;
        assert_eq!(day2.holdings[0].institution_price, dec("105.25"));
        assert_eq!(day2.holdings[0].institution_value, dec("1052.5"));
        assert_eq!(day2.securities[0].close_price_as_of, Some(sim.day_date(2)));

        // Day 3: the IRA appears.
        sim.advance_to_day(3).await.unwrap();
        let day3 = holdings(&token).await;
        assert_eq!(account_ids(&day3.accounts), ["acc-broker", "acc-ira"]);
        assert_eq!(day3.holdings.len(), 2);
        let accounts = plaid.accounts_get(&token).await.unwrap();
        assert_eq!(account_ids(&accounts.accounts), ["acc-broker", "acc-ira"]);
        assert_eq!(accounts.accounts[1].balances.current, Some(dec("1002")));
        assert_eq!(transactions().await.total_investment_transactions, 2);
        assert!(received.lock().unwrap().is_empty());

        // Day 5, passing day 4: its webhook is delivered on the way; the transaction
        // dated day 2 shows up only now.
        sim.advance_to_day(5).await.unwrap();
        {
            let received = received.lock().unwrap();
            assert_eq!(received.len(), 1);
            assert_eq!(received[0]["webhook_type"], "HOLDINGS");
            assert_eq!(received[0]["webhook_code"], "DEFAULT_UPDATE");
            assert_eq!(received[0]["item_id"], "item-broker");
        }
        let day5 = transactions().await;
        assert_eq!(day5.total_investment_transactions, 3);
        let late = day5
            .investment_transactions
            .iter()
            .find(|t| t.investment_transaction_id == "tx-late-dividend")
            .unwrap();
        assert_eq!(late.date, sim.day_date(2));
        assert_eq!(late.amount, dec("-2.40"));
        assert_eq!(late.name, "DIVIDEND AAPL");

        // Day 6: a cancel row, newest first, negated, without the deprecated link.
        sim.advance_to_day(6).await.unwrap();
        let day6 = transactions().await;
        let cancel = &day6.investment_transactions[0];
        assert_eq!(cancel.investment_transaction_id, "tx-cancel-aapl");
        assert_eq!(
            (cancel.transaction_type.as_str(), cancel.subtype.as_str()),
            ("cancel", "cancel")
        );
        assert_eq!((cancel.quantity, cancel.amount), (dec("-10"), dec("-900")));
        assert_eq!(cancel.date, sim.day_date(6));
        assert_eq!(cancel.cancel_transaction_id, None);
        let dates: Vec<_> = day6
            .investment_transactions
            .iter()
            .map(|t| t.date)
            .collect();
        assert!(dates.is_sorted_by(|a, b| a >= b), "newest first");

        // Day 7: the institution is down for data calls; day 8 it is back.
        sim.advance_to_day(7).await.unwrap();
        match plaid
            .investments_holdings_get(&token, None)
            .await
            .unwrap_err()
        {
            PlaidError::Api { status, body } => {
                assert_eq!(status, 400);
                assert_eq!(body.error_type, "INSTITUTION_ERROR");
                assert_eq!(body.error_code, "INSTITUTION_DOWN");
            }
            other => panic!("{other}"),
        }
        sim.advance_to_day(8).await.unwrap();
        let day8 = holdings(&token).await;
        assert_eq!(day8.item.error, None);
        assert_eq!(day8.holdings[1].institution_value, dec("1004"));

        // Day 9: answers succeed but the item reports a login to repair.
        sim.advance_to_day(9).await.unwrap();
        let day9 = holdings(&token).await;
        assert_eq!(
            day9.item.error.map(|e| e.error_code).as_deref(),
            Some("ITEM_LOGIN_REQUIRED")
        );

        // Day 10: the IRA is closed: gone from accounts, holdings and transactions.
        sim.advance_to_day(10).await.unwrap();
        let day10 = holdings(&token).await;
        assert_eq!(account_ids(&day10.accounts), ["acc-broker"]);
        assert!(day10.holdings.iter().all(|h| h.account_id == "acc-broker"));
        assert_eq!(day10.item.error, None);
        let day10_transactions = transactions().await;
        assert!(
            day10_transactions
                .investment_transactions
                .iter()
                .all(|t| t.account_id == "acc-broker")
        );

        // A re-link: the same item, a new access token, the old one dead.
        let relinked = link().await;
        assert_eq!(relinked.item_id, "item-broker");
        assert_ne!(relinked.access_token, token);
        match plaid.item_get(&token).await.unwrap_err() {
            PlaidError::Api { body, .. } => assert_eq!(body.error_code, "INVALID_ACCESS_TOKEN"),
            other => panic!("{other}"),
        }
        let token = relinked.access_token;
        assert_eq!(
            plaid.item_get(&token).await.unwrap().item.item_id,
            "item-broker"
        );

        // Day 11 over HTTP: the clock control answers the date and delivers the webhook.
        let response = reqwest::Client::new()
            .post(format!("{}/simulator/clock", sim.url()))
            .header("PLAID-CLIENT-ID", &sim.config().client_id)
            .header("PLAID-SECRET", &sim.config().secret)
            .json(&json!({ "day": 11 }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "date": "2026-01-11" })
        );
        {
            let received = received.lock().unwrap();
            assert_eq!(received.len(), 2);
            assert_eq!(received[1]["webhook_type"], "INVESTMENTS_TRANSACTIONS");
        }

        // Day 12: the IRA is re-issued under a new id, same name and mask.
        sim.advance_to_day(12).await.unwrap();
        let day12 = plaid.accounts_get(&token).await.unwrap();
        assert_eq!(account_ids(&day12.accounts), ["acc-broker", "acc-ira-2"]);
        assert_eq!(day12.accounts[1].name, "IRA");
        assert_eq!(day12.accounts[1].mask.as_deref(), Some("5678"));
        let day12 = holdings(&token).await;
        assert_eq!(day12.holdings[1].account_id, "acc-ira-2");
        assert_eq!(day12.securities[1].close_price, Some(dec("252")));
    })
    .await;
}

/// Plaid answers a bad `client_id` / `secret` with one error (REFERENCE §5.2: 400,
/// `INVALID_INPUT`, `INVALID_API_KEYS`), whichever key is wrong or missing and whichever
/// endpoint is called; so does the simulator, its own controls included.
#[tokio::test]
async fn every_credential_failure_is_the_same_plaid_error() {
    let wire = Wire::new().await;
    let token = wire.linked().await;
    let send = |path: &str, client_id: Option<&str>, secret: Option<&str>, body: Value| {
        let mut request = wire
            .http
            .post(format!("{}{path}", wire.sim.url()))
            .header("Plaid-Version", "2020-09-14")
            .json(&body);
        if let Some(client_id) = client_id {
            request = request.header("PLAID-CLIENT-ID", client_id);
        }
        if let Some(secret) = secret {
            request = request.header("PLAID-SECRET", secret);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let client_id = wire.sim.config().client_id.clone();
    let secret = wire.sim.config().secret.clone();
    let failures = [
        // A wrong secret.
        send(
            "/investments/holdings/get",
            Some(&client_id),
            Some("wrong"),
            json!({ "access_token": token }),
        )
        .await,
        // No client_id at all (neither header nor body).
        send(
            "/accounts/get",
            None,
            Some(&secret),
            json!({ "access_token": token }),
        )
        .await,
        // Credentials in the body, the secret wrong.
        send(
            "/item/get",
            None,
            None,
            json!({ "access_token": token, "client_id": client_id, "secret": "wrong" }),
        )
        .await,
        // The simulator's own control path.
        send(
            "/simulator/clock",
            Some(&client_id),
            None,
            json!({ "day": 2 }),
        )
        .await,
    ];
    let without_request_id = |body: &Value| {
        let mut body = body.clone();
        body.as_object_mut().unwrap().remove("request_id");
        body
    };
    for (status, body) in &failures {
        assert_error(*status, body, 400, "INVALID_INPUT", "INVALID_API_KEYS");
        assert_eq!(body["display_message"], Value::Null, "{body}");
        assert_eq!(
            without_request_id(body),
            without_request_id(&failures[0].1),
            "one error object for every credential failure"
        );
    }
}

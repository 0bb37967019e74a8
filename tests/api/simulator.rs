//! The simulator speaks Plaid's wire format: paths, JSON shapes, error objects, statuses,
//! validation, and newest-first offset paging.

use investments::plaid::simulator::{Simulator, SimulatorConfig};
use serde_json::{Value, json};

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

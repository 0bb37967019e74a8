//! Bounded inputs: dates from 1900-01-01 to 2200-12-31 and decimals under 10^18 in
//! magnitude, refused with `BAD_USER_INPUT` before any SQL in GraphQL (literals and
//! variables) and in the CSV export alike; `from` after `to` refused too.

use investments::auth::Scope;
use serde_json::{Value, json};

use crate::common::{TestApp, on_each_backend_as};

/// Posts `query` with `variables`; it must be refused with `BAD_USER_INPUT` before any SQL.
/// Returns the error message.
async fn refused(app: &TestApp, token: &str, query: &str, variables: Value) -> String {
    let body = app
        .refused_before_sql(token, query, variables, "BAD_USER_INPUT")
        .await;
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

const BY_DATE: &str =
    "query($date: DateFilter) { investmentTransactions(filter: { date: $date }) { totalCount } }";
const BY_AMOUNT: &str = "query($amount: DecimalFilter) { investmentTransactions(filter: { amount: $amount }) { totalCount } }";

#[tokio::test]
async fn dates_outside_the_range_are_refused_before_any_sql() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        // The first and last dates accepted run.
        for bound in [
            json!({ "gte": "1900-01-01" }),
            json!({ "lte": "2200-12-31" }),
        ] {
            let data = app.query(&token, BY_DATE, json!({ "date": bound })).await;
            assert_eq!(data["investmentTransactions"]["totalCount"], 0);
        }
        // A day beyond them, as a variable or a literal, in a filter or an analytics
        // period, is refused, and the message says the range.
        for bound in [
            json!({ "gte": "1899-12-31" }),
            json!({ "lt": "2201-01-01" }),
        ] {
            let message = refused(&app, &token, BY_DATE, json!({ "date": bound })).await;
            assert!(message.contains("1900-01-01 to 2200-12-31"), "{message}");
        }
        let literals = [
            r#"{ investmentTransactions(filter: { date: { eq: "0001-01-01" } }) { totalCount } }"#,
            r#"{ portfolio { valueHistory(from: "1850-06-01") { date } } }"#,
            r#"{ portfolio { realizedGains(to: "9999-12-31") { totals { realizedGain } } } }"#,
            r#"{ portfolio { incomeAndCosts(from: "2024-01-01", to: "20240-01-01") { month } } }"#,
        ];
        for query in literals {
            let message = refused(&app, &token, query, json!({})).await;
            assert!(message.contains("1900-01-01 to 2200-12-31"), "{message}");
        }
    })
    .await;
}

#[tokio::test]
async fn decimals_outside_the_range_are_refused_before_any_sql() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        // Just under 10^18 either way, and 28 decimal places, run.
        for bound in [
            json!({ "lt": "999999999999999999.99" }),
            json!({ "gt": "-999999999999999999.99" }),
            json!({ "gte": "0.0000000000000000000000000001" }),
            json!({ "lte": 999_999_999_999_999_999_i64 }),
        ] {
            let data = app
                .query(&token, BY_AMOUNT, json!({ "amount": bound }))
                .await;
            assert_eq!(data["investmentTransactions"]["totalCount"], 0);
        }
        // 10^18 (as a string or an integer), -10^18, and 29 decimal places are refused.
        for bound in [
            json!({ "lt": "1000000000000000000" }),
            json!({ "gt": "-1000000000000000000.5" }),
            json!({ "eq": 1_000_000_000_000_000_000_i64 }),
            json!({ "gte": "0.00000000000000000000000000001" }),
        ] {
            let message = refused(&app, &token, BY_AMOUNT, json!({ "amount": bound })).await;
            assert!(message.contains("10^18"), "{message}");
        }
        let query =
            r#"{ investmentTransactions(filter: { amount: { gte: "1e20" } }) { totalCount } }"#;
        refused(&app, &token, query, json!({})).await;
    })
    .await;
}

#[tokio::test]
async fn the_export_refuses_out_of_range_dates_and_decimals_before_its_first_byte() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let export = async |filter: Value| {
            let params = [("filter", filter.to_string())];
            app.get_with_params(Some(&token), "/export/investment_transactions.csv", &params)
                .await
        };
        // In range: a CSV.
        let ok = export(
            json!({ "date": { "gte": "1900-01-01" }, "amount": { "lt": "999999999999999999" } }),
        )
        .await;
        assert_eq!(ok.status(), 200);
        let filters = [
            (
                json!({ "date": { "gte": "1899-12-31" } }),
                "1900-01-01 to 2200-12-31",
            ),
            (
                json!({ "date": { "lte": "2201-01-01" } }),
                "1900-01-01 to 2200-12-31",
            ),
            (
                json!({ "amount": { "gt": "1000000000000000000" } }),
                "10^18",
            ),
            (
                json!({ "amount": { "lt": "-1000000000000000000" } }),
                "10^18",
            ),
        ];
        for (filter, says) in filters {
            let mark = app.statement_count();
            let response = export(filter.clone()).await;
            assert_eq!(response.status(), 400, "{filter}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains(says), "{message}");
            assert_eq!(app.work_since(mark), Vec::<String>::new(), "no SQL ran");
        }
    })
    .await;
}

#[tokio::test]
async fn from_after_to_is_refused_before_any_sql() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (_, token) = app.viewer();
        let period = r#"(from: "2025-01-02", to: "2025-01-01")"#;
        let fields = [
            format!("valueHistory{period} {{ date }}"),
            format!("returns{period} {{ currency }}"),
            format!("realizedGains{period} {{ totals {{ realizedGain }} }}"),
            format!("incomeAndCosts{period} {{ month }}"),
        ];
        for field in fields {
            let query = format!("{{ portfolio {{ {field} }} }}");
            let message = refused(&app, &token, &query, json!({})).await;
            assert!(message.contains("is after `to`"), "{message}");
        }
    })
    .await;
}

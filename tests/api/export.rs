//! CSV export over HTTP on both databases: auth, filters as GraphQL JSON, RFC 4180
//! quoting, neutralised formula cells, exact decimals, and a large streamed export.

use investments::auth::Scope;
use investments::graphql::ids::NodeKind;
use serde_json::json;

use crate::common::{TestApp, on_each_backend_as};
use crate::fixtures::{Fixture, Standard, TxSpec, gid};

const TRANSACTIONS_CSV: &str = "/export/investment_transactions.csv";
const HOLDINGS_CSV: &str = "/export/holdings.csv";

/// GETs the export at `path` with these URL parameters, with `token` if any.
async fn get(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    params: &[(&str, String)],
) -> reqwest::Response {
    app.get_with_params(token, path, params).await
}

/// Parses a CSV body the way a spreadsheet importer would.
fn parse(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn transactions_csv_quotes_neutralises_and_filters() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let f = Fixture::new(&app, user);
        let tx = |key: &str, name, amount| TxSpec {
            key: key.to_owned(),
            account: &s.brokerage,
            security: Some(&s.aapl),
            date: "2024-06-03",
            name,
            transaction_type: "cash",
            subtype: "dividend",
            amount,
            quantity: "0",
        };
        f.transactions(&[
            tx("q1", "=HYPERLINK(\"http://evil\",\"x\")", "-0.00000001"),
            tx(
                "q2",
                "Dividend, \"special\"\nsecond line",
                "-1234567.8901234567",
            ),
            tx("q3", "-5 adjustment", "5"),
            tx("q4", "@SUM(A1)", "-1"),
        ])
        .await;

        let response = get(&app, Some(&token), TRANSACTIONS_CSV, &[]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains("\r\n"), "CRLF line ends");
        let rows = parse(&body);
        assert_eq!(rows[0][0], "date");
        assert_eq!(rows.len(), 1 + 12 + 4);
        let by_id = |id: &str| {
            rows.iter()
                .find(|r| r[1] == format!("u{user}-{id}"))
                .unwrap_or_else(|| panic!("row {id}"))
                .clone()
        };
        let name = 8;
        let amount = 11;
        assert_eq!(by_id("q1")[name], "'=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(by_id("q1")[amount], "-0.00000001");
        assert_eq!(by_id("q2")[name], "Dividend, \"special\"\nsecond line");
        assert_eq!(by_id("q2")[amount], "-1234567.8901234567");
        assert_eq!(by_id("q3")[name], "'-5 adjustment");
        assert_eq!(by_id("q4")[name], "'@SUM(A1)");
        // Quoting on the wire: doubled quotes inside a quoted field.
        assert!(body.contains("\"Dividend, \"\"special\"\"\nsecond line\""));
        assert_eq!(by_id("t01")[4], "AAPL");
        assert_eq!(by_id("t01")[2], "Brokerage");

        // The GraphQL filter and ordering, as JSON parameters.
        let filter = json!({
            "accountIds": [gid(NodeKind::Account, s.ira.id)],
            "type": { "in": ["buy", "cash"] }
        });
        let order = json!([{ "field": "AMOUNT", "direction": "ASC" }]);
        let response = get(
            &app,
            Some(&token),
            TRANSACTIONS_CSV,
            &[
                ("filter", filter.to_string()),
                ("orderBy", order.to_string()),
            ],
        )
        .await;
        let rows = parse(&response.text().await.unwrap());
        let ids: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
        assert_eq!(ids, [format!("u{user}-t05"), format!("u{user}-t06")]);
    })
    .await;
}

#[tokio::test]
async fn export_errors_and_holdings() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let (_, other) = app.user("bob", Scope::Read).await;

        let response = get(&app, None, HOLDINGS_CSV, &[]).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"investments\""
        );
        let response = get(&app, Some("inv_nope"), TRANSACTIONS_CSV, &[]).await;
        assert_eq!(response.status(), 401);
        for bad in [
            "{not json",
            "{\"noSuchField\": 1}",
            "{\"accountIds\": [\"bad\"]}",
        ] {
            let response = get(
                &app,
                Some(&token),
                TRANSACTIONS_CSV,
                &[("filter", bad.to_owned())],
            )
            .await;
            assert_eq!(response.status(), 400, "{bad}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        }

        let response = get(&app, Some(&token), HOLDINGS_CSV, &[]).await;
        assert_eq!(response.status(), 200);
        let rows = parse(&response.text().await.unwrap());
        assert_eq!(rows[0][0], "account");
        assert_eq!(rows.len(), 6);
        // Default order: market value, largest first.
        assert_eq!(rows[1][2], "AAPL");
        assert_eq!(rows[1][8], "1900.50");
        let btc = rows.iter().find(|r| r[2] == "BTC").unwrap();
        assert_eq!(btc[5], "0.00293644");
        assert_eq!(btc[10], "BTC");
        let filter = json!({ "securityType": { "eq": "etf" } });
        let rows = parse(
            &get(
                &app,
                Some(&token),
                HOLDINGS_CSV,
                &[("filter", filter.to_string())],
            )
            .await
            .text()
            .await
            .unwrap(),
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][2], "VTI");
        let _ = s;

        // Another user's export is empty: the header only.
        let rows = parse(
            &get(&app, Some(&other), HOLDINGS_CSV, &[])
                .await
                .text()
                .await
                .unwrap(),
        );
        assert_eq!(rows.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn large_exports_are_streamed_in_pages() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let f = Fixture::new(&app, user);
        const EXTRA: usize = 5_000;
        let keys: Vec<String> = (0..EXTRA).map(|i| format!("bulk-{i:05}")).collect();
        let specs: Vec<TxSpec> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| TxSpec {
                key: key.clone(),
                account: &s.brokerage,
                security: Some(&s.vti),
                date: if i % 2 == 0 {
                    "2023-07-01"
                } else {
                    "2023-08-15"
                },
                name: "BUY VTI",
                transaction_type: "buy",
                subtype: "buy",
                amount: "100.01",
                quantity: "0.5",
            })
            .collect();
        f.transactions(&specs).await;

        let before = app.statement_count();
        let response = get(&app, Some(&token), TRANSACTIONS_CSV, &[]).await;
        assert_eq!(response.status(), 200);
        // Streamed: no length known up front.
        assert!(response.headers().get("content-length").is_none());
        let body = response.text().await.unwrap();
        let rows = parse(&body);
        assert_eq!(rows.len(), 1 + 12 + EXTRA);
        let mut ids: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 12 + EXTRA, "every row exactly once");
        // Newest first across page boundaries.
        let dates: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        assert!(dates.windows(2).all(|w| w[0] >= w[1]));
        // Page by page: several keyset pages of at most 500, never one query for all.
        let statements = app.statement_count() - before;
        assert!(statements > (12 + EXTRA) / 500, "{statements} statements");
    })
    .await;
}

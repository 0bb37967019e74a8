//! Money and quantities are exact on both databases: stored, summed, compared and ordered
//! as decimals, never as floats or text.

use investments::auth::Scope;
use investments::graphql::ids::NodeKind;
use serde_json::{Value, json};

use crate::common::{on_each_backend_as, strings};
use crate::fixtures::{Fixture, SecuritySpec, TxSpec, gid};

fn usd<'a>(key: &'a str, name: &'a str) -> SecuritySpec<'a> {
    SecuritySpec::usd(key, Some(name), None, "equity")
}

const EXTREMES: [&str; 6] = [
    "1234567.8901234567",
    "0.00000001",
    "99999999999999999.99",
    "-99999999999999999.99",
    "0.140034616",
    "-1289.01",
];

#[tokio::test]
async fn extreme_values_round_trip_exactly() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let (_, account) = f.brokerage("ins_1", "Bank").await;
        let specs: Vec<TxSpec> = EXTREMES
            .iter()
            .enumerate()
            .map(|(i, amount)| TxSpec {
                quantity: amount,
                ..TxSpec::deposit(format!("t{i}"), &account, "2024-01-01", "extreme", amount)
            })
            .collect();
        f.transactions(&specs).await;
        let nodes = app
            .connection(
                &token,
                "{ investmentTransactions(first: 10, orderBy: [{field: AMOUNT, direction: ASC}]) { nodes { amount quantity } } }",
                json!({}),
                "investmentTransactions",
            )
            .await["nodes"]
            .clone();
        let mut expected: Vec<&str> = EXTREMES.to_vec();
        expected.sort_by_key(|s| s.parse::<rust_decimal::Decimal>().unwrap());
        assert_eq!(strings(&nodes, "amount"), expected);
        assert_eq!(strings(&nodes, "quantity"), expected);

        // Each one found by equality, too.
        for value in EXTREMES {
            let data = app
                .query(
                    &token,
                    "query($v: Decimal) { investmentTransactions(filter: {amount: {eq: $v}}) { totalCount } }",
                    json!({ "v": value }),
                )
                .await;
            assert_eq!(data["investmentTransactions"]["totalCount"], 1, "{value}");
        }
    })
    .await;
}

#[tokio::test]
async fn totals_are_exact_decimal_sums() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let (item, account) = f.brokerage("ins_1", "Bank").await;
        let a = f.security(usd("a", "A")).await;
        let b = f.security(usd("b", "B")).await;
        f.holding(&account, &a, "1", "0.1", Some("0.1")).await;
        f.holding(&account, &b, "1", "0.2", Some("0.2")).await;
        let data = app
            .query(&token, "{ portfolio { totals { marketValue costBasis unrealizedGain } } }", json!({}))
            .await;
        let total = &data["portfolio"]["totals"][0];
        assert_eq!(total["marketValue"], "0.3");
        assert_eq!(total["costBasis"], "0.3");
        assert_eq!(total["unrealizedGain"], "0.0");

        // 300 more holdings of 0.1: a float sum would drift (30.000000000000156...).
        let account2 = f.account(&item, "acc2", "Other", "investment", "ira").await;
        for i in 0..300 {
            let s = f.security(usd(&format!("s{i}"), "S")).await;
            f.holding(&account2, &s, "0.00000001", "0.1", Some("0.07")).await;
        }
        let filter = json!({ "ids": [gid(NodeKind::Account, account2.id)] });
        let data = app
            .query(
                &token,
                "query($ids: [ID!]) { portfolio(filter: {accountIds: $ids}) { totals { marketValue costBasis unrealizedGain holdingsCount } } }",
                filter,
            )
            .await;
        let total = &data["portfolio"]["totals"][0];
        assert_eq!(total["marketValue"], "30.0");
        assert_eq!(total["costBasis"], "21.00");
        assert_eq!(total["unrealizedGain"], "9.00");
        assert_eq!(total["holdingsCount"], 300);
    })
    .await;
}

#[tokio::test]
async fn amounts_filter_and_order_as_numbers() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let (_, account) = f.brokerage("ins_1", "Bank").await;
        let amounts = ["10", "9.5", "-2", "-10.25", "100", "0.00000001", "9.50"];
        let specs: Vec<TxSpec> = amounts
            .iter()
            .enumerate()
            .map(|(i, amount)| TxSpec::deposit(format!("t{i}"), &account, "2024-01-01", "x", amount))
            .collect();
        f.transactions(&specs).await;

        // The amounts of the transactions `query` lists with `variables`.
        let amounts = async |query: &str, variables: Value| {
            let found = app.connection(&token, query, variables, "investmentTransactions").await;
            strings(&found["nodes"], "amount")
        };
        let ordered = async |direction: &str| {
            amounts(
                "query($d: OrderDirection!) { investmentTransactions(orderBy: [{field: AMOUNT, direction: $d}]) { nodes { amount } } }",
                json!({ "d": direction }),
            )
            .await
        };
        let asc = ordered("ASC").await;
        assert_eq!(asc, ["-10.25", "-2", "0.00000001", "9.5", "9.50", "10", "100"]);
        let desc = ordered("DESC").await;
        assert_eq!(desc, ["100", "10", "9.50", "9.5", "0.00000001", "-2", "-10.25"]);

        let range = async |filter: Value| {
            amounts(
                "query($f: DecimalFilter) { investmentTransactions(filter: {amount: $f}, orderBy: [{field: AMOUNT, direction: ASC}]) { nodes { amount } } }",
                json!({ "f": filter }),
            )
            .await
        };
        assert_eq!(range(json!({ "gte": "9.5" })).await, ["9.5", "9.50", "10", "100"]);
        assert_eq!(range(json!({ "lt": "0" })).await, ["-10.25", "-2"]);
        assert_eq!(range(json!({ "gt": "-3", "lte": 10 })).await, ["-2", "0.00000001", "9.5", "9.50", "10"]);
        assert_eq!(range(json!({ "eq": "9.500" })).await, ["9.5", "9.50"]);
    })
    .await;
}

#[tokio::test]
async fn holdings_order_by_value_and_quantity_as_numbers() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let (_, account) = f.brokerage("ins_1", "Bank").await;
        for (i, (qty, value)) in [("10", "9.5"), ("9.5", "10"), ("-2", "100"), ("0.5", "-3")]
            .iter()
            .enumerate()
        {
            let s = f.security(usd(&format!("s{i}"), &format!("S{i}"))).await;
            f.holding(&account, &s, qty, value, None).await;
        }
        let data = app
            .query(
                &token,
                "{ byValue: holdings { nodes { marketValue } } byQty: holdings(orderBy: [{field: QUANTITY, direction: ASC}]) { nodes { quantity } } }",
                json!({}),
            )
            .await;
        assert_eq!(strings(&data["byValue"]["nodes"], "marketValue"), ["100", "10", "9.5", "-3"]);
        assert_eq!(strings(&data["byQty"]["nodes"], "quantity"), ["-2", "0.5", "9.5", "10"]);
    })
    .await;
}

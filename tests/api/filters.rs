//! Every filter and ordering of every connection.

use investments::auth::Scope;
use investments::graphql::ids::NodeKind;
use serde_json::{Value, json};

use crate::common::{TestApp, all_on_one_page, on_each_backend_as, strings};
use crate::fixtures::{STANDARD_TRANSACTIONS, Standard, gid};

/// Plaid-style names of the transactions matching `filter`, in the default order.
async fn transactions(app: &TestApp, token: &str, filter: Value) -> Vec<String> {
    let found = app
        .connection(
            token,
            "query($f: InvestmentTransactionFilter) { investmentTransactions(filter: $f, first: 500) { totalCount nodes { name } } }",
            json!({ "f": filter }),
            "investmentTransactions",
        )
        .await;
    strings(all_on_one_page(&found), "name")
}

#[tokio::test]
async fn transaction_filters() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let t = |f: Value| transactions(&app, &token, f);

        assert_eq!(t(json!({})).await.len(), STANDARD_TRANSACTIONS);
        assert_eq!(
            t(json!({ "accountIds": [gid(NodeKind::Account, s.ira.id)] })).await,
            ["BUY Matthews Pacific Tiger", "Contribution to IRA"]
        );
        assert_eq!(
            t(json!({ "itemIds": [gid(NodeKind::PlaidItem, s.item_b.id)] })).await,
            ["SELL Bitcoin part", "BUY Bitcoin", "Interest", "Deposit"]
        );
        assert_eq!(
            t(json!({ "institutionIds": ["ins_109511"] })).await,
            t(json!({ "itemIds": [gid(NodeKind::PlaidItem, s.item_b.id)] })).await
        );
        assert_eq!(t(json!({ "institutionIds": ["ins_none"] })).await.len(), 0);
        assert_eq!(
            t(json!({ "securityIds": [gid(NodeKind::Security, s.vti.id)] })).await,
            ["Transfer in VTI", "BUY Vanguard ETF"]
        );
        assert_eq!(
            t(json!({ "securityIds": [gid(NodeKind::Security, s.cash.id)] })).await,
            ["Deposit"]
        );
        assert_eq!(
            t(json!({ "tickerSymbol": { "eq": "AAPL" } })).await,
            ["Tax withheld on dividend", "DIVIDEND Apple Inc.", "BUY Apple Inc."]
        );
        assert_eq!(
            t(json!({ "tickerSymbol": { "in": ["BTC", "CUR:USD"] } })).await,
            ["SELL Bitcoin part", "BUY Bitcoin", "Deposit"]
        );
        assert_eq!(
            t(json!({ "type": { "eq": "sell" } })).await,
            ["SELL Bitcoin part"]
        );
        assert_eq!(
            t(json!({ "type": { "in": ["fee", "transfer"] } })).await,
            ["Transfer in VTI", "Monthly account fee"]
        );
        assert_eq!(
            t(json!({ "subtype": { "in": ["dividend", "interest"] } })).await,
            ["Interest", "DIVIDEND Apple Inc."]
        );
        assert_eq!(
            t(json!({ "type": { "eq": "cash" }, "subtype": { "eq": "contribution" } })).await,
            ["Contribution to IRA"]
        );
        assert_eq!(
            t(json!({ "date": { "gte": "2024-03-01", "lte": "2024-03-15" } })).await,
            ["Deposit", "BUY Matthews Pacific Tiger", "Contribution to IRA"]
        );
        assert_eq!(
            t(json!({ "date": { "gt": "2024-05-10" } })).await,
            ["Transfer in VTI"]
        );
        assert_eq!(
            t(json!({ "date": { "lt": "2024-01-15" } })).await,
            ["BUY Apple Inc."]
        );
        assert_eq!(t(json!({ "date": { "eq": "2024-04-10" } })).await, ["BUY Bitcoin"]);
        assert_eq!(
            t(json!({ "amount": { "gte": "10", "lte": "1000.75" } })).await,
            ["BUY Bitcoin", "BUY Matthews Pacific Tiger", "Monthly account fee", "BUY Vanguard ETF"]
        );
        assert_eq!(
            t(json!({ "amount": { "lt": "-9.5" } })).await,
            ["SELL Bitcoin part", "Deposit"]
        );
        assert_eq!(
            t(json!({ "name": { "contains": "apple" } })).await,
            ["DIVIDEND Apple Inc.", "BUY Apple Inc."]
        );
        // LIKE wildcards in the text are matched literally.
        assert_eq!(t(json!({ "name": { "contains": "%" } })).await.len(), 0);
        assert_eq!(t(json!({ "name": { "contains": "_" } })).await.len(), 0);
        assert_eq!(
            t(json!({ "cancelled": false })).await.len(),
            STANDARD_TRANSACTIONS
        );
        assert_eq!(t(json!({ "cancelled": true })).await.len(), 0);
        // Conditions combine with AND; an empty id list matches nothing.
        assert_eq!(
            t(json!({ "accountIds": [gid(NodeKind::Account, s.brokerage.id)], "type": { "eq": "buy" } })).await,
            ["BUY Vanguard ETF", "BUY Apple Inc."]
        );
        assert_eq!(t(json!({ "accountIds": [] })).await.len(), 0);

        // Ids of the wrong type are refused.
        let code = app
            .error_code(
                &token,
                "query($f: InvestmentTransactionFilter) { investmentTransactions(filter: $f) { totalCount } }",
                json!({ "f": { "accountIds": [gid(NodeKind::Security, s.aapl.id)] } }),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn transaction_orderings() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        Standard::seed(&app, user).await;
        let order = async |order: Value| {
            let nodes = app
                .connection(
                    &token,
                    "query($o: [InvestmentTransactionOrder!]) { investmentTransactions(orderBy: $o) { nodes { date amount } } }",
                    json!({ "o": order }),
                    "investmentTransactions",
                )
                .await["nodes"]
                .clone();
            strings(&nodes, "date").into_iter().zip(strings(&nodes, "amount")).collect::<Vec<_>>()
        };
        let default = order(json!(null)).await;
        let dates: Vec<&str> = default.iter().map(|(d, _)| d.as_str()).collect();
        let mut sorted = dates.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(dates, sorted, "newest first by default");
        assert_eq!(dates[0], "2024-05-31");

        let asc = order(json!([{ "field": "DATE", "direction": "ASC" }])).await;
        assert_eq!(asc.first().unwrap().0, "2024-01-02");
        let by_amount = order(json!([{ "field": "AMOUNT", "direction": "DESC" }])).await;
        let amounts: Vec<&str> = by_amount.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(
            amounts,
            ["1500", "1000.75", "250", "12.5", "10", "1.25", "0", "-0.01", "-2", "-9.5", "-99.99", "-100"]
        );
    })
    .await;
}

async fn holding_tickers(app: &TestApp, token: &str, filter: Value, order: Value) -> Vec<String> {
    let found = app
        .connection(
            token,
            "query($f: HoldingFilter, $o: [HoldingOrder!]) { holdings(filter: $f, orderBy: $o) { totalCount nodes { security { tickerSymbol name } } } }",
            json!({ "f": filter, "o": order }),
            "holdings",
        )
        .await;
    all_on_one_page(&found)
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let s = &n["security"];
            s["tickerSymbol"]
                .as_str()
                .or(s["name"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn holding_filters_and_orderings() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let h = |f: Value| holding_tickers(&app, &token, f, json!(null));

        assert_eq!(
            h(json!({})).await,
            ["AAPL", "VTI", "Matthews Pacific Tiger Fund", "CUR:USD", "BTC"],
            "largest market value first"
        );
        assert_eq!(
            h(json!({ "accountIds": [gid(NodeKind::Account, s.brokerage.id), gid(NodeKind::Account, s.crypto.id)] })).await,
            ["AAPL", "VTI", "BTC"]
        );
        assert_eq!(
            h(json!({ "itemIds": [gid(NodeKind::PlaidItem, s.item_a.id)] })).await,
            ["AAPL", "VTI", "Matthews Pacific Tiger Fund"]
        );
        assert_eq!(h(json!({ "institutionIds": ["ins_109511"] })).await, ["CUR:USD", "BTC"]);
        assert_eq!(
            h(json!({ "securityIds": [gid(NodeKind::Security, s.fund.id)] })).await,
            ["Matthews Pacific Tiger Fund"]
        );
        assert_eq!(h(json!({ "securityType": { "eq": "etf" } })).await, ["VTI"]);
        assert_eq!(
            h(json!({ "securityType": { "in": ["cash", "cryptocurrency"] } })).await,
            ["CUR:USD", "BTC"]
        );
        assert_eq!(h(json!({ "currency": { "eq": "BTC" } })).await, ["BTC"]);
        assert_eq!(h(json!({ "currency": { "in": ["USD"] } })).await.len(), 4);

        let o = |order: Value| holding_tickers(&app, &token, json!(null), order);
        assert_eq!(
            o(json!([{ "field": "MARKET_VALUE", "direction": "ASC" }])).await,
            ["BTC", "CUR:USD", "Matthews Pacific Tiger Fund", "VTI", "AAPL"]
        );
        assert_eq!(
            o(json!([{ "field": "QUANTITY", "direction": "DESC" }])).await,
            ["Matthews Pacific Tiger Fund", "AAPL", "CUR:USD", "VTI", "BTC"]
        );
        assert_eq!(
            o(json!([{ "field": "SECURITY_NAME", "direction": "ASC" }])).await,
            ["AAPL", "BTC", "Matthews Pacific Tiger Fund", "CUR:USD", "VTI"]
        );
        assert_eq!(
            o(json!([{ "field": "SECURITY_NAME", "direction": "DESC" }])).await,
            ["VTI", "CUR:USD", "Matthews Pacific Tiger Fund", "BTC", "AAPL"]
        );
    })
    .await;
}

#[tokio::test]
async fn security_account_and_item_filters() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        // The names of the nodes of `connection` that `query` lists with `variables`.
        let names = async |query: &str, variables: Value, connection: &str| {
            strings(&app.connection(&token, query, variables, connection).await["nodes"], "name")
        };
        let securities = async |filter: Value, order: Value| {
            names(
                "query($f: SecurityFilter, $o: [SecurityOrder!]) { securities(filter: $f, orderBy: $o) { totalCount nodes { name tickerSymbol } } }",
                json!({ "f": filter, "o": order }),
                "securities",
            )
            .await
        };
        assert_eq!(
            securities(json!(null), json!(null)).await,
            ["Apple Inc.", "Bitcoin", "Matthews Pacific Tiger Fund", "U S Dollar", "Vanguard Total Stock Market ETF"]
        );
        assert_eq!(
            securities(json!({ "type": { "eq": "mutual fund" } }), json!(null)).await,
            ["Matthews Pacific Tiger Fund"]
        );
        assert_eq!(
            securities(json!({ "tickerSymbol": { "contains": "cur:" } }), json!(null)).await,
            ["U S Dollar"]
        );
        assert_eq!(
            securities(json!({ "name": { "contains": "PACIFIC" } }), json!(null)).await,
            ["Matthews Pacific Tiger Fund"]
        );
        assert_eq!(
            securities(json!({ "ids": [gid(NodeKind::Security, s.btc.id)] }), json!(null)).await,
            ["Bitcoin"]
        );
        assert_eq!(
            securities(json!(null), json!([{ "field": "TICKER_SYMBOL", "direction": "ASC" }])).await,
            ["Matthews Pacific Tiger Fund", "Apple Inc.", "Bitcoin", "U S Dollar", "Vanguard Total Stock Market ETF"],
            "no ticker sorts first"
        );

        let accounts = async |filter: Value| {
            names(
                "query($f: AccountFilter) { accounts(filter: $f) { totalCount nodes { name item { institutionName } } } }",
                json!({ "f": filter }),
                "accounts",
            )
            .await
        };
        assert_eq!(accounts(json!(null)).await.len(), 4);
        assert_eq!(
            accounts(json!({ "itemIds": [gid(NodeKind::PlaidItem, s.item_b.id)] })).await,
            ["Plaid 401k", "Crypto Exchange"]
        );
        assert_eq!(accounts(json!({ "institutionIds": ["ins_109508"] })).await, ["Brokerage", "Plaid IRA"]);
        assert_eq!(accounts(json!({ "type": { "eq": "investment" } })).await.len(), 4);
        assert_eq!(accounts(json!({ "type": { "eq": "depository" } })).await.len(), 0);
        assert_eq!(
            accounts(json!({ "subtype": { "in": ["ira", "401k"] } })).await,
            ["Plaid IRA", "Plaid 401k"]
        );

        let data = app
            .query(
                &token,
                r#"{ all: items { totalCount nodes { institutionName status accounts { name } } }
                     b: items(filter: {institutionIds: ["ins_109511"]}) { nodes { institutionName } }
                     bad: items(filter: {status: [LOGIN_REQUIRED]}) { totalCount } }"#,
                json!({}),
            )
            .await;
        assert_eq!(data["all"]["totalCount"], 2);
        assert_eq!(data["all"]["nodes"][0]["status"], "HEALTHY");
        assert_eq!(data["all"]["nodes"][0]["accounts"].as_array().unwrap().len(), 2);
        assert_eq!(data["b"]["nodes"][0]["institutionName"], "Tartan Bank");
        assert_eq!(data["bad"]["totalCount"], 0);
    })
    .await;
}

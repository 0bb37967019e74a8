//! Relay pagination: forwards and backwards across page boundaries, caps, bad cursors,
//! cursors stable while rows are added.

use investments::auth::Scope;
use serde_json::{Value, json};

use crate::common::{TestApp, on_each_backend_as};
use crate::fixtures::{Fixture, TxSpec};

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $o: [InvestmentTransactionOrder!], $f: InvestmentTransactionFilter) {
  investmentTransactions(first: $first, after: $after, last: $last, before: $before, orderBy: $o, filter: $f) {
    totalCount
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

/// Seeds `n` transactions over few dates and few amounts, so that ties are everywhere.
async fn seed(app: &TestApp, user: i64, n: usize, prefix: &str) {
    let f = Fixture::new(app, user);
    let item = f.item(&format!("{prefix}-item"), "ins_1", "Bank").await;
    let account = f
        .account(
            &item,
            &format!("{prefix}-acc"),
            "Brokerage",
            "investment",
            "brokerage",
        )
        .await;
    let dates = ["2024-01-01", "2024-01-02", "2024-01-03"];
    let amounts = ["-1", "5", "10", "9.5"];
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i:03}")).collect();
    let specs: Vec<TxSpec> = (0..n)
        .map(|i| TxSpec {
            key: format!("{prefix}-{i}"),
            account: &account,
            security: None,
            date: dates[i % dates.len()],
            name: &names[i],
            transaction_type: "cash",
            subtype: "deposit",
            amount: amounts[i % amounts.len()],
            quantity: "0",
        })
        .collect();
    f.transactions(&specs).await;
}

async fn page(app: &TestApp, token: &str, vars: Value) -> Value {
    app.query(token, PAGE, vars).await["investmentTransactions"].clone()
}

fn names(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Walks forwards with `first`, then backwards with `last`, and checks both walks give the
/// full list in order, with correct `pageInfo` on every page.
async fn walk(app: &TestApp, token: &str, order: Value, size: usize, total: usize) {
    let all = names(&page(app, token, json!({ "first": 500, "o": order })).await);
    assert_eq!(all.len(), total);

    let mut forward = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let conn = page(
            app,
            token,
            json!({ "first": size, "after": after, "o": order }),
        )
        .await;
        assert_eq!(conn["totalCount"], total);
        let got = names(&conn);
        let info = &conn["pageInfo"];
        assert_eq!(info["hasPreviousPage"], pages > 0, "page {pages}: {info}");
        forward.extend(got.iter().cloned());
        assert_eq!(
            info["hasNextPage"],
            forward.len() < total,
            "page {pages}: {info}"
        );
        assert_eq!(info["startCursor"], conn["edges"][0]["cursor"]);
        pages += 1;
        if info["hasNextPage"] == false {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(forward, all, "forward walk");
    assert_eq!(pages, total.div_ceil(size));

    let mut backward: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let conn = page(
            app,
            token,
            json!({ "last": size, "before": before, "o": order }),
        )
        .await;
        let mut got = names(&conn);
        let info = &conn["pageInfo"];
        got.extend(backward);
        backward = got;
        assert_eq!(info["hasPreviousPage"], backward.len() < total, "{info}");
        assert_eq!(info["hasNextPage"], before.is_some(), "{info}");
        if info["hasPreviousPage"] == false {
            break;
        }
        before = info["startCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(backward, all, "backward walk");
}

#[tokio::test]
async fn pages_walk_forwards_and_backwards_in_every_ordering() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        seed(&app, user, 23, "t").await;
        for order in [
            json!(null),
            json!([{ "field": "DATE", "direction": "ASC" }]),
            json!([{ "field": "AMOUNT", "direction": "DESC" }]),
            json!([{ "field": "AMOUNT", "direction": "ASC" }, { "field": "DATE", "direction": "DESC" }]),
        ] {
            walk(&app, &token, order.clone(), 5, 23).await;
            walk(&app, &token, order, 1, 23).await;
        }
    })
    .await;
}

#[tokio::test]
async fn page_size_defaults_caps_and_empty_pages() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        seed(&app, user, 60, "t").await;
        let conn = page(&app, &token, json!({})).await;
        assert_eq!(names(&conn).len(), 50, "default page size");
        assert_eq!(conn["pageInfo"]["hasNextPage"], true);
        assert_eq!(names(&page(&app, &token, json!({ "first": 500 })).await).len(), 60);
        let empty = page(&app, &token, json!({ "first": 0 })).await;
        assert_eq!(names(&empty).len(), 0);
        assert_eq!(empty["pageInfo"]["hasNextPage"], true);

        let none = page(&app, &token, json!({ "f": { "name": { "eq": "nothing" } } })).await;
        assert_eq!(none["totalCount"], 0);
        assert_eq!(
            none["pageInfo"],
            json!({ "hasNextPage": false, "hasPreviousPage": false, "startCursor": null, "endCursor": null })
        );

        for vars in [
            json!({ "first": 501 }),
            json!({ "last": 501 }),
            json!({ "first": -1 }),
            json!({ "first": 5, "last": 5 }),
        ] {
            assert_eq!(app.error_code(&token, PAGE, vars.clone()).await, "BAD_USER_INPUT", "{vars}");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_cursors_are_refused() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        seed(&app, user, 5, "t").await;
        let by_date = page(&app, &token, json!({ "first": 2 })).await;
        let cursor = by_date["pageInfo"]["endCursor"]
            .as_str()
            .unwrap()
            .to_owned();
        let holdings_cursor = {
            let f = Fixture::new(&app, user);
            let item = f.item("hi", "ins_1", "Bank").await;
            let account = f.account(&item, "ha", "A", "investment", "ira").await;
            let s = f
                .security(crate::fixtures::SecuritySpec {
                    key: "hs",
                    name: Some("S"),
                    ticker: None,
                    security_type: None,
                    iso_currency: Some("USD"),
                    unofficial_currency: None,
                })
                .await;
            f.holding(&account, &s, "1", "1", None).await;
            let data = app
                .query(&token, "{ holdings { pageInfo { endCursor } } }", json!({}))
                .await;
            data["holdings"]["pageInfo"]["endCursor"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let amount_order = json!([{ "field": "AMOUNT", "direction": "ASC" }]);
        for vars in [
            json!({ "after": "garbage!" }),
            json!({ "after": "eyJvIjoxfQ" }),
            json!({ "before": "" }),
            json!({ "after": cursor, "o": amount_order }),
            json!({ "after": holdings_cursor }),
        ] {
            assert_eq!(
                app.error_code(&token, PAGE, vars.clone()).await,
                "BAD_USER_INPUT",
                "{vars}"
            );
        }
        // The same cursor in its own ordering works.
        assert_eq!(
            names(&page(&app, &token, json!({ "after": cursor })).await).len(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn cursors_stay_valid_while_rows_are_added() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        seed(&app, user, 20, "a").await;
        let all_before = names(&page(&app, &token, json!({ "first": 500 })).await);
        let first = page(&app, &token, json!({ "first": 7 })).await;
        let mut seen = names(&first);
        let mut after = first["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        // New rows land on every date, before and after the cursor's position.
        seed(&app, user, 9, "b").await;
        loop {
            let conn = page(&app, &token, json!({ "first": 7, "after": after })).await;
            seen.extend(names(&conn));
            if conn["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        let original: Vec<&String> = seen.iter().filter(|n| n.starts_with('a')).collect();
        let expected: Vec<&String> = all_before.iter().collect();
        assert_eq!(original, expected, "no original row lost or repeated");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no row twice");
    })
    .await;
}

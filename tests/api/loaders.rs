//! Nested fields go through DataLoaders: a page of 500 holdings with their securities and
//! accounts costs a fixed, small number of SQL statements, whatever the page size.

use investments::auth::Scope;
use serde_json::json;

use crate::common::{TestApp, on_each_backend_as};
use crate::fixtures::{Fixture, SecuritySpec};

const QUERY: &str = r#"query($first: Int) {
  holdings(first: $first) {
    nodes {
      quantity marketValue
      account { name item { institutionName } }
      security { name tickerSymbol holdings { id } }
    }
  }
}"#;

async fn statements_for(app: &TestApp, token: &str, first: i64) -> usize {
    let before = app.statement_count();
    let data = app.query(token, QUERY, json!({ "first": first })).await;
    let used = app.statement_count() - before;
    assert_eq!(
        data["holdings"]["nodes"].as_array().unwrap().len() as i64,
        first
    );
    used
}

#[tokio::test]
async fn statement_count_does_not_grow_with_page_size() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let mut accounts = Vec::new();
        for i in 0..4 {
            let item = f
                .item(&format!("item{i}"), &format!("ins_{i}"), "Bank")
                .await;
            accounts.push(
                f.account(&item, &format!("acc{i}"), "A", "investment", "ira")
                    .await,
            );
        }
        for i in 0..500 {
            let security = f
                .security(SecuritySpec::usd(
                    &format!("s{i}"),
                    Some("S"),
                    Some("T"),
                    "equity",
                ))
                .await;
            f.holding(&accounts[i % 4], &security, "1", &format!("{i}"), None)
                .await;
        }
        // A first request looks its token up; later ones find it cached.
        app.query(&token, "{ viewer { name } }", json!({})).await;
        let small = statements_for(&app, &token, 5).await;
        let large = statements_for(&app, &token, 500).await;
        eprintln!("statements: page of 5 = {small}, page of 500 = {large}");
        assert_eq!(
            small, large,
            "the page size does not change the statement count"
        );
        // page, accounts, items, securities, holdings of the securities
        assert_eq!(large, 5, "{large} statements");
    })
    .await;
}

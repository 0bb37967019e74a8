//! The query shapes under load, their parameters on the dataset, and the checks of their
//! answers (run on every recorded request, so a shape that quietly returns nothing, or
//! the wrong rows, fails the bench instead of looking fast).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use investments::graphql::ids::{self, NodeKind};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};

use crate::dataset::{Dataset, POPULAR_TICKER};

/// Q1: one account's transactions in a date range (the last 91 days): first 50,
/// `totalCount`, and each one's security.
pub const ACCOUNT_PAGE: &str = "query Q1($account: ID!, $from: Date!, $to: Date!) {
  investmentTransactions(first: 50, filter: { accountIds: [$account], date: { gte: $from, lte: $to } }) {
    totalCount
    nodes { id date name type subtype amount quantity price security { id tickerSymbol name } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// Q2: 500 holdings of an item (largest market value first) with security and account.
pub const ITEM_HOLDINGS: &str = "query Q2($item: ID!) {
  holdings(first: 500, filter: { itemIds: [$item] }) {
    nodes {
      id quantity marketValue costBasis unrealizedGain
      security { id tickerSymbol name type }
      account { id name mask }
    }
  }
}";

/// Q3: portfolio totals and allocation by security type.
pub const PORTFOLIO: &str = "query Q3 {
  portfolio {
    totals { currency marketValue costBasis unrealizedGain unrealizedGainPercent }
    bySecurityType { securityType currency marketValue weight holdingsCount }
  }
}";

/// Q4: a page of `buy` transactions (newest first) after a cursor.
pub const TYPE_PAGE: &str = "query Q4($after: String) {
  investmentTransactions(first: 50, after: $after, filter: { type: { eq: \"buy\" } }) {
    nodes { id date name type amount quantity security { id tickerSymbol } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}";

/// The amount range of Q5.
pub const AMOUNT_RANGE: (i64, i64) = (100, 1_000);

/// Q5: transactions with an amount between 100 and 1,000, largest first.
pub const BY_AMOUNT: &str = "query Q5 {
  investmentTransactions(
    first: 50
    orderBy: [{ field: AMOUNT, direction: DESC }]
    filter: { amount: { gte: \"100\", lte: \"1000\" } }
  ) {
    nodes { id date name type amount }
    pageInfo { hasNextPage endCursor }
  }
}";

/// Q6: transactions whose name contains a ticker (any case), with `totalCount`.
pub const NAME_SEARCH: &str = "query Q6($needle: String!) {
  investmentTransactions(first: 50, filter: { name: { contains: $needle } }) {
    totalCount
    nodes { id date name type amount }
  }
}";

/// How a shape's answer is checked.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    AccountPage,
    ItemHoldings,
    Portfolio,
    TypePage,
    ByAmount,
    NameSearch,
}

/// One query shape as the bench sends it.
#[derive(Clone, Debug)]
pub struct QueryShape {
    pub label: String,
    /// The JSON body of the request.
    pub body: Value,
    /// Made cold before each request: the user's data version is bumped, as a sync does.
    pub cold: bool,
    pub check: Check,
}

/// Pages of Q4: the 20th, and the 20,000th or the last full one when there are fewer.
pub const SHALLOW_PAGE: usize = 20;
pub const DEEP_PAGE: usize = 20_000;
pub const PAGE_SIZE: usize = 50;

/// The page numbers Q4 measures on this dataset.
pub fn type_pages(dataset: &Dataset) -> (usize, usize) {
    let last_full = (dataset.buys / PAGE_SIZE).max(2);
    (SHALLOW_PAGE.min(last_full), DEEP_PAGE.min(last_full))
}

/// Every shape, with its parameters on `dataset`; `cursors` are the `after` cursors of
/// Q4's two pages.
pub fn shapes(dataset: &Dataset, cursors: (&str, &str)) -> Vec<QueryShape> {
    let account = ids::encode(NodeKind::Account, dataset.account_ids[0]).0;
    let item = ids::encode(NodeKind::PlaidItem, dataset.item_ids[0]).0;
    let (shallow, deep) = type_pages(dataset);
    let shape = |label: String, query: &str, variables: Value, cold, check| QueryShape {
        label,
        body: json!({ "query": query, "variables": variables }),
        cold,
        check,
    };
    vec![
        shape(
            "Q1 account page".into(),
            ACCOUNT_PAGE,
            json!({
                "account": account,
                "from": dataset.recent_from.to_string(),
                "to": dataset.last_day.to_string(),
            }),
            false,
            Check::AccountPage,
        ),
        shape(
            "Q2 item holdings".into(),
            ITEM_HOLDINGS,
            json!({ "item": item }),
            false,
            Check::ItemHoldings,
        ),
        shape(
            "Q3 portfolio cold".into(),
            PORTFOLIO,
            json!({}),
            true,
            Check::Portfolio,
        ),
        shape(
            "Q3 portfolio warm".into(),
            PORTFOLIO,
            json!({}),
            false,
            Check::Portfolio,
        ),
        shape(
            format!("Q4 buys page {shallow}"),
            TYPE_PAGE,
            json!({ "after": cursors.0 }),
            false,
            Check::TypePage,
        ),
        shape(
            format!("Q4 buys page {deep}"),
            TYPE_PAGE,
            json!({ "after": cursors.1 }),
            false,
            Check::TypePage,
        ),
        shape(
            "Q5 by amount".into(),
            BY_AMOUNT,
            json!({}),
            false,
            Check::ByAmount,
        ),
        shape(
            "Q6 name contains".into(),
            NAME_SEARCH,
            json!({ "needle": POPULAR_TICKER.to_lowercase() }),
            false,
            Check::NameSearch,
        ),
    ]
}

/// The `after` cursor that starts page `page` (1-based, at least 2) of Q4: the cursor of
/// the last row of the page before, built the way the server builds cursors (base64url
/// JSON of the ordering's signature and the row's sort keys, `src/db/page.rs`) from that
/// row as the database finds it. Walking 20,000 pages to get there would take longer than
/// the measurement.
pub async fn type_page_cursor(conn: &DatabaseConnection, user_id: i64, page: usize) -> String {
    let row_index = (page - 1) * PAGE_SIZE - 1;
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT date, id FROM investment_transactions \
             WHERE user_id = $1 AND type = 'buy' ORDER BY date DESC, id DESC LIMIT 1 OFFSET $2"
        }
        _ => {
            "SELECT date, id FROM investment_transactions \
             WHERE user_id = ? AND type = 'buy' ORDER BY date DESC, id DESC LIMIT 1 OFFSET ?"
        }
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [user_id.into(), (row_index as i64).into()],
        ))
        .await
        .expect("cursor row")
        .expect("the page exists");
    let date: NaiveDate = row.try_get("", "date").expect("date");
    let id: i64 = row.try_get("", "id").expect("id");
    #[derive(serde::Serialize)]
    struct Cursor<'a> {
        o: &'a str,
        k: (String, i64),
    }
    let cursor = Cursor {
        o: "investment_transactions:date.desc,id.desc",
        k: (date.to_string(), id),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).expect("cursor json"))
}

fn nodes(data: &Value, field: &str) -> Vec<Value> {
    data["data"][field]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no {field}.nodes in {data}"))
        .clone()
}

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal: {value}"))
}

fn date(value: &Value) -> NaiveDate {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a date: {value}"))
}

/// Panics unless `response` is a plausible answer of `check` on `dataset`.
pub fn check(check: Check, dataset: &Dataset, response: &Value) {
    assert!(response.get("errors").is_none(), "errors: {response}");
    match check {
        Check::AccountPage => {
            let txs = &response["data"]["investmentTransactions"];
            assert_eq!(
                txs["totalCount"].as_u64(),
                Some(dataset.recent_of_first_account as u64),
                "Q1 totalCount"
            );
            let nodes = nodes(response, "investmentTransactions");
            assert_eq!(nodes.len(), dataset.recent_of_first_account.min(PAGE_SIZE));
            let dates: Vec<NaiveDate> = nodes.iter().map(|n| date(&n["date"])).collect();
            assert!(dates.windows(2).all(|w| w[0] >= w[1]), "Q1 newest first");
            assert!(dates.iter().all(|d| *d >= dataset.recent_from));
            for n in &nodes {
                let typed = ["buy", "sell", "transfer"].contains(&n["type"].as_str().unwrap_or(""));
                if typed {
                    assert!(
                        n["security"]["tickerSymbol"].is_string(),
                        "Q1 security: {n}"
                    );
                }
            }
        }
        Check::ItemHoldings => {
            let nodes = nodes(response, "holdings");
            assert_eq!(nodes.len(), dataset.first_item_holdings.min(500), "Q2 rows");
            let values: Vec<Decimal> = nodes.iter().map(|n| decimal(&n["marketValue"])).collect();
            assert!(values.windows(2).all(|w| w[0] >= w[1]), "Q2 largest first");
            assert!(nodes.iter().all(|n| n["security"]["id"].is_string()));
            assert!(nodes.iter().all(|n| n["account"]["id"].is_string()));
        }
        Check::Portfolio => {
            let portfolio = &response["data"]["portfolio"];
            let totals = portfolio["totals"].as_array().expect("totals");
            let usd = totals
                .iter()
                .find(|t| t["currency"] == "USD")
                .unwrap_or_else(|| panic!("Q3 no USD total: {response}"));
            assert!(decimal(&usd["marketValue"]) > Decimal::ZERO, "Q3 value");
            let groups = portfolio["bySecurityType"].as_array().expect("groups");
            let held: u64 = groups
                .iter()
                .map(|g| g["holdingsCount"].as_u64().unwrap_or(0))
                .sum();
            assert_eq!(held, dataset.holdings as u64, "Q3 holdings by type");
        }
        Check::TypePage => {
            let nodes = nodes(response, "investmentTransactions");
            assert_eq!(nodes.len(), PAGE_SIZE, "Q4 full page");
            assert!(nodes.iter().all(|n| n["type"] == "buy"), "Q4 buys only");
            let info = &response["data"]["investmentTransactions"]["pageInfo"];
            assert_eq!(info["hasPreviousPage"], true, "Q4 after a page");
        }
        Check::ByAmount => {
            let nodes = nodes(response, "investmentTransactions");
            assert_eq!(nodes.len(), PAGE_SIZE, "Q5 full page");
            let amounts: Vec<Decimal> = nodes.iter().map(|n| decimal(&n["amount"])).collect();
            let (low, high) = AMOUNT_RANGE;
            assert!(
                amounts
                    .iter()
                    .all(|a| *a >= Decimal::from(low) && *a <= Decimal::from(high)),
                "Q5 in range: {amounts:?}"
            );
            assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "Q5 largest first");
        }
        Check::NameSearch => {
            let txs = &response["data"]["investmentTransactions"];
            assert_eq!(
                txs["totalCount"].as_u64(),
                Some(dataset.popular_named as u64),
                "Q6 totalCount"
            );
            let nodes = nodes(response, "investmentTransactions");
            assert_eq!(nodes.len(), dataset.popular_named.min(PAGE_SIZE));
            assert!(nodes.iter().all(|n| {
                n["name"]
                    .as_str()
                    .is_some_and(|name| name.contains(POPULAR_TICKER))
            }));
        }
    }
}

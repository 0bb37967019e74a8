//! What keeps a page deep in a million rows as cheap as page one, pinned without timings:
//! every statement of a page reached by cursor is an index seek that also yields the order
//! (no `NOT (...)` around a seek, no full scan, no sort), and each request shape runs a
//! fixed number of statements (the token lookup cached, the count alongside the page).

use investments::auth::Scope;
use investments::graphql::ids::NodeKind;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::common::{
    Backend, TestApp, all_on_one_page, on_each_backend, on_each_backend_as, strings,
};
use crate::fixtures::{Fixture, SecuritySpec, TxSpec, gid};

const TRANSACTIONS: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $o: [InvestmentTransactionOrder!], $f: InvestmentTransactionFilter) {
  investmentTransactions(first: $first, after: $after, last: $last, before: $before, orderBy: $o, filter: $f) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

struct Seeded {
    token: String,
    account: i64,
    item: i64,
}

/// 300 transactions over 100 days in two accounts, buys and sells, amounts spread out.
async fn seed(app: &TestApp) -> Seeded {
    let (user, token) = app.user("alice", Scope::Write).await;
    let f = Fixture::new(app, user);
    let item = f.item("item", "ins_1", "Bank").await;
    let accounts = [
        f.account(&item, "a1", "One", "investment", "brokerage")
            .await,
        f.account(&item, "a2", "Two", "investment", "ira").await,
    ];
    let security = f
        .security(SecuritySpec::usd(
            "vti",
            Some("Vanguard Total Stock Market"),
            Some("VTI"),
            "etf",
        ))
        .await;
    let dates: Vec<String> = (0..300)
        .map(|i| {
            (chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i / 3))
                .to_string()
        })
        .collect();
    let names: Vec<String> = (0..300).map(|i| format!("TRADE {i:03} VTI")).collect();
    let amounts: Vec<String> = (0..300)
        .map(|i| format!("{}.{:02}", (i * 37) % 1000 - 500, i % 100))
        .collect();
    let specs: Vec<TxSpec> = (0..300)
        .map(|i| TxSpec {
            key: format!("t{i}"),
            account: &accounts[i % 2],
            security: Some(&security),
            date: &dates[i],
            name: &names[i],
            transaction_type: if i % 3 == 0 { "sell" } else { "buy" },
            subtype: if i % 3 == 0 { "sell" } else { "buy" },
            amount: &amounts[i],
            quantity: "1",
        })
        .collect();
    f.transactions(&specs).await;
    for account in &accounts {
        f.holding(account, &security, "10", "2500.50", None).await;
    }
    Seeded {
        token,
        account: accounts[0].id,
        item: item.id,
    }
}

/// The plan lines of `statement`, with sequential scans and sorts made as costly as
/// PostgreSQL allows, so that a small test table plans as a large one would.
async fn plan(app: &TestApp, statement: &Statement) -> Vec<String> {
    let values = statement.values.clone().map(|v| v.0).unwrap_or_default();
    let txn = app.db.begin().await.unwrap();
    let (explain, column) = match app.backend {
        Backend::Sqlite => ("EXPLAIN QUERY PLAN", "detail"),
        _ => {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
                .await
                .unwrap();
            ("EXPLAIN", "QUERY PLAN")
        }
    };
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            statement.db_backend,
            format!("{explain} {}", statement.sql),
            values,
        ))
        .await
        .unwrap_or_else(|e| panic!("explain {}: {e}", statement.sql));
    txn.rollback().await.unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", column).unwrap())
        .collect()
}

/// Asserts that `statement` reads `investment_transactions` through an index whose
/// condition bounds `leading` (the ordering's first key), with no sort and no full scan.
async fn assert_seek(app: &TestApp, statement: &Statement, leading: &str) {
    let sql = &statement.sql;
    assert!(
        !sql.contains("NOT ("),
        "a seek wrapped in NOT hides it from the index: {sql}"
    );
    let lines = plan(app, statement).await;
    let text = lines.join("\n");
    match app.backend {
        Backend::Sqlite => {
            assert!(
                !text.contains("SCAN investment_transactions") && !text.contains("TEMP B-TREE"),
                "full scan or sort:\n{text}\nfor {sql}"
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("SEARCH investment_transactions USING")
                        && (l.contains(&format!("{leading}<"))
                            || l.contains(&format!("{leading}>")))),
                "no index range on {leading}:\n{text}\nfor {sql}"
            );
        }
        _ => {
            assert!(
                !text.contains("Seq Scan") && !text.contains("Sort"),
                "full scan or sort:\n{text}\nfor {sql}"
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("Index Cond") && l.contains(leading)),
                "no index range on {leading}:\n{text}\nfor {sql}"
            );
        }
    }
}

#[tokio::test]
async fn pages_reached_by_cursor_are_index_seeks() {
    on_each_backend(|app| async move {
        let s = seed(&app).await;
        let amount_key = match app.backend {
            Backend::Sqlite => "amount_key",
            _ => "amount",
        };
        let account = gid(NodeKind::Account, s.account);
        // (what, leading key, variables without the cursor)
        let shapes = [
            ("newest first", "date", json!({})),
            (
                "of one type",
                "date",
                json!({ "f": { "type": { "eq": "buy" } } }),
            ),
            (
                "of one account",
                "date",
                json!({ "f": { "accountIds": [account] } }),
            ),
            (
                "by amount",
                amount_key,
                json!({ "o": [{ "field": "AMOUNT", "direction": "ASC" }] }),
            ),
            (
                "by amount, descending, in a range",
                amount_key,
                json!({
                    "o": [{ "field": "AMOUNT", "direction": "DESC" }],
                    "f": { "amount": { "gte": "-200", "lt": "300" } }
                }),
            ),
        ];
        for (what, leading, vars) in shapes {
            for backward in [false, true] {
                let mut first = vars.clone();
                first[if backward { "last" } else { "first" }] = json!(20);
                let page1 = app.query(&s.token, TRANSACTIONS, first.clone()).await;
                let info = &page1["investmentTransactions"]["pageInfo"];
                let cursor = if backward {
                    info["startCursor"].clone()
                } else {
                    info["endCursor"].clone()
                };
                assert!(cursor.is_string(), "{what}: {page1}");
                let mut next = first;
                next[if backward { "before" } else { "after" }] = cursor;
                let mark = app.statement_count();
                let page2 = app.query(&s.token, TRANSACTIONS, next).await;
                let page2 = &page2["investmentTransactions"];
                assert_eq!(page2["edges"].as_array().unwrap().len(), 20, "{what}");
                let far_side = if backward {
                    "hasNextPage"
                } else {
                    "hasPreviousPage"
                };
                assert_eq!(page2["pageInfo"][far_side], json!(true), "{what}");
                let statements = app.statements_since(mark);
                // The page's rows and its probe for the far side of the cursor.
                let reads: Vec<&Statement> = statements
                    .iter()
                    .filter(|s| s.sql.contains("FROM \"investment_transactions\""))
                    .collect();
                assert_eq!(reads.len(), 2, "{what}: {statements:#?}");
                for statement in reads {
                    assert_seek(&app, statement, leading).await;
                }
            }
        }
    })
    .await;
}

const ACCOUNT_PAGE: &str = r#"query($f: InvestmentTransactionFilter, $after: String) {
  investmentTransactions(first: 50, after: $after, filter: $f) {
    totalCount
    nodes { name amount security { name tickerSymbol } }
    pageInfo { endCursor }
  }
}"#;

const ITEM_HOLDINGS: &str = r#"query($item: ID!) {
  holdings(first: 500, filter: { itemIds: [$item] }) {
    nodes { quantity marketValue security { name tickerSymbol } account { name } }
  }
}"#;

/// Runs `query` and returns the statements it cost and its data.
async fn cost(app: &TestApp, token: &str, query: &str, vars: Value) -> (usize, Value) {
    let mark = app.statement_count();
    let data = app.query(token, query, vars).await;
    (app.statement_count() - mark, data)
}

#[tokio::test]
async fn each_request_shape_runs_a_fixed_number_of_statements() {
    on_each_backend(|app| async move {
        let s = seed(&app).await;
        let filter = json!({
            "accountIds": [gid(NodeKind::Account, s.account)],
            "date": { "gte": "2024-01-10", "lte": "2024-03-31" }
        });
        // First request of a token: its lookup, then the page, the count (alongside)
        // and the securities of the page.
        let (first, data) = cost(&app, &s.token, ACCOUNT_PAGE, json!({ "f": filter })).await;
        assert_eq!(first, 4, "token, rows, count, securities");
        // 2024-01-10 .. 03-31 is days 9..=90 of the seed: transactions 27..=272, 246 in
        // all, every other one in account 1 (even indexes): 123.
        assert_eq!(data["investmentTransactions"]["totalCount"], json!(123));
        // The token is now cached.
        let (again, _) = cost(&app, &s.token, ACCOUNT_PAGE, json!({ "f": filter })).await;
        assert_eq!(again, 3, "rows, count, securities");
        // Page 2: the probe for rows before the cursor joins them.
        let after = data["investmentTransactions"]["pageInfo"]["endCursor"].clone();
        let (page2, _) = cost(
            &app,
            &s.token,
            ACCOUNT_PAGE,
            json!({ "f": filter, "after": after }),
        )
        .await;
        assert_eq!(page2, 4, "rows, probe, count, securities");

        let (holdings, _) = cost(
            &app,
            &s.token,
            ITEM_HOLDINGS,
            json!({ "item": gid(NodeKind::PlaidItem, s.item) }),
        )
        .await;
        assert_eq!(holdings, 3, "rows, securities, accounts");
    })
    .await;
}

const REVOKE: &str =
    r#"mutation($id: ID!) { revokeApiToken(input: { id: $id }) { revokedTokenId } }"#;
const CREATE: &str = r#"mutation { createApiToken(input: { name: "second", scope: READ }) { token apiToken { id } } }"#;

#[tokio::test]
async fn a_revoked_token_stops_at_once_though_tokens_are_cached() {
    on_each_backend_as("alice", Scope::Write, |app| async move {
        let (_, token) = app.viewer();
        let created = app.query(&token, CREATE, json!({})).await;
        let second = created["createApiToken"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let id = created["createApiToken"]["apiToken"]["id"].clone();
        // Used once: now cached.
        let (status, _) = app
            .post(Some(&second), "{ viewer { name } }", json!({}))
            .await;
        assert_eq!(status, 200);
        let mark = app.statement_count();
        let (status, _) = app
            .post(Some(&second), "{ viewer { name } }", json!({}))
            .await;
        assert_eq!(status, 200);
        assert!(
            !app.statements_since(mark)
                .iter()
                .any(|s| s.sql.contains("api_tokens")),
            "a cached token is not looked up again"
        );
        app.query(&token, REVOKE, json!({ "id": id })).await;
        let (status, body) = app
            .post(Some(&second), "{ viewer { name } }", json!({}))
            .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    })
    .await;
}

const NAMES: &str = r#"query($f: InvestmentTransactionFilter) {
  investmentTransactions(first: 500, filter: $f) { totalCount nodes { name } }
}"#;

/// `name: { contains }` through the trigram index (SQLite FTS5, PostgreSQL `pg_trgm`)
/// means what it meant as a plain `LIKE`: any case, literal `%`, `_` and `"`, needles
/// shorter than a trigram, and names a later sync changes.
#[tokio::test]
async fn name_search_through_the_trigram_index_matches_like() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let item = f.item("item", "ins_1", "Bank").await;
        let account = f
            .account(&item, "a", "A", "investment", "brokerage")
            .await;
        let names = [
            "BUY 10 VTI @ 250",
            "Dividend \"VTI\" 100% qualified",
            "sell_all vti",
            "Interest",
        ];
        let specs = |names: &[&'static str]| -> Vec<TxSpec<'_>> {
            names
                .iter()
                .enumerate()
                .map(|(i, name)| TxSpec::deposit(format!("n{i}"), &account, "2024-01-02", name, "1"))
                .collect()
        };
        f.transactions(&specs(&names)).await;
        let search = async |needle: &str| {
            let vars = json!({ "f": { "name": { "contains": needle } } });
            let page = app
                .connection(&token, NAMES, vars, "investmentTransactions")
                .await;
            let mut found = strings(all_on_one_page(&page), "name");
            found.sort();
            found
        };
        let mark = app.statement_count();
        assert_eq!(
            search("vti").await,
            [names[0], names[1], names[2]],
            "any case"
        );
        // SQLite: the page and the count both read the index. PostgreSQL plans the `LIKE`
        // on the `pg_trgm` index once the table is large (a handful of rows is read
        // faster through the user's index): there the index must exist.
        for statement in app
            .statements_since(mark)
            .iter()
            .filter(|s| s.sql.contains("FROM \"investment_transactions\""))
        {
            if app.backend == Backend::Sqlite {
                let plan = plan(&app, statement).await.join("\n");
                assert!(
                    plan.contains("VIRTUAL TABLE INDEX"),
                    "{plan}\nfor {}",
                    statement.sql
                );
            }
        }
        if app.backend != Backend::Sqlite {
            let index = app
                .db
                .query_one_raw(Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_transactions_name_trgm' \
                     AND schemaname = current_schema()",
                ))
                .await
                .unwrap()
                .expect("the trigram index");
            let definition: String = index.try_get("", "indexdef").unwrap();
            assert!(definition.contains("gin_trgm_ops"), "{definition}");
        }
        assert_eq!(search("\"vti\"").await, [names[1]], "a literal quote");
        assert_eq!(search("0% q").await, [names[1]], "a literal percent");
        assert_eq!(search("l_a").await, [names[2]], "a literal underscore");
        assert_eq!(search("ll vx").await, Vec::<String>::new(), "no match");
        assert_eq!(search("in").await, [names[3]], "shorter than a trigram");
        assert_eq!(search("@").await, [names[0]], "one character");

        // A later sync renames a row: the index follows.
        let renamed = [
            "BUY 10 VXUS @ 60",
            "Dividend \"VTI\" 100% qualified",
            "sell_all vti",
            "Interest",
        ];
        f.transactions(&specs(&renamed)).await;
        assert_eq!(search("vxus").await, [renamed[0]]);
        assert_eq!(search("vti").await, [names[1], names[2]]);
    })
    .await;
}

//! The sync conventions for real-world histories, each lived through a scenario file of
//! `tests/scenarios/` and checked over the wire (real HTTP, real router) on SQLite and
//! PostgreSQL. Every expected figure is worked out by hand in a comment.

use investments::auth::Scope;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{TestApp, on_each_backend_as_alice_in};

const LINK: &str = r#"mutation($institution: String!) {
  sandboxLinkItem(input: {institutionId: $institution}) {
    item { id plaidItemId status }
    syncRun { outcome windowStart windowEnd transactionsUpserted transactionsSkipped }
    syncError { code message }
  }
}"#;

const REFRESH: &str = r#"mutation($id: ID!, $start: Date, $end: Date) {
  refreshItem(input: {itemId: $id, startDate: $start, endDate: $end}) {
    item { id status error { errorCode } }
    syncRun { outcome windowStart windowEnd holdingsRemoved transactionsUpserted
              transactionsCancelled transactionsSkipped }
  }
}"#;

const TOTALS: &str = "{ portfolio { totals { currency marketValue costBasis holdingsCount } } holdings { totalCount } }";

const ACCOUNTS: &str = "{ accounts { totalCount nodes { id plaidAccountId name closedOn } } }";

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("a decimal string, got {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("decimal {v}: {e}"))
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Links `institution` through `sandboxLinkItem`; returns the item's GraphQL id and the
/// payload. The first sync must pass.
async fn link(app: &TestApp, token: &str, institution: &str) -> (String, Value) {
    let data = app
        .query(token, LINK, json!({ "institution": institution }))
        .await;
    let payload = data["sandboxLinkItem"].clone();
    assert_eq!(payload["syncError"], Value::Null, "{payload}");
    assert_eq!(payload["syncRun"]["outcome"], "SUCCEEDED", "{payload}");
    (payload["item"]["id"].as_str().unwrap().to_owned(), payload)
}

/// Runs `refreshItem`; returns its payload.
async fn refresh(app: &TestApp, token: &str, id: &str, start: Value, end: Value) -> Value {
    let data = app
        .query(
            token,
            REFRESH,
            json!({ "id": id, "start": start, "end": end }),
        )
        .await;
    data["refreshItem"].clone()
}

/// Refreshes with the default window; the run must succeed.
async fn resync(app: &TestApp, token: &str, id: &str) -> Value {
    let payload = refresh(app, token, id, Value::Null, Value::Null).await;
    assert_eq!(payload["syncRun"]["outcome"], "SUCCEEDED", "{payload}");
    payload
}

/// The single-currency totals: (market value, cost basis, holdings), or None when empty.
async fn usd_totals(app: &TestApp, token: &str) -> Option<(Decimal, Decimal, i64)> {
    let data = app.query(token, TOTALS, json!({})).await;
    let totals = data["portfolio"]["totals"].as_array().unwrap();
    assert!(totals.len() <= 1, "{data}");
    let t = totals.first()?;
    assert_eq!(t["currency"], "USD");
    assert_eq!(
        t["holdingsCount"], data["holdings"]["totalCount"],
        "totals count what `holdings` lists: {data}"
    );
    Some((
        dec(&t["marketValue"]),
        dec(&t["costBasis"]),
        t["holdingsCount"].as_i64().unwrap(),
    ))
}

async fn live_transaction_ids(app: &TestApp, token: &str) -> Vec<String> {
    let data = app
        .query(
            token,
            "{ investmentTransactions(filter: {cancelled: false}, first: 500) { nodes { plaidInvestmentTransactionId } } }",
            json!({}),
        )
        .await;
    let mut ids: Vec<String> = data["investmentTransactions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            n["plaidInvestmentTransactionId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// (date, market value, observed) of each point.
fn points(history: &Value) -> Vec<(String, Decimal, bool)> {
    history
        .as_array()
        .unwrap_or_else(|| panic!("a list of points: {history}"))
        .iter()
        .map(|p| {
            assert_eq!(p["currency"], "USD", "{p}");
            (
                p["date"].as_str().unwrap().to_owned(),
                dec(&p["marketValue"]),
                p["observed"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_account_no_longer_listed_is_closed_and_keeps_its_transactions() {
    on_each_backend_as_alice_in("sync_account_closed", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        // Day 1: 10 × 100 = 1000 (AAPL) + 4 × 250 = 1000 (VTI) = 2000; cost 900 + 1000.
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("2000"), d("1900"), 2))
        );

        app.simulator().advance_to_day(3).await.unwrap();
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["item"]["status"], "HEALTHY");
        // The IRA's VTI position went with its account.
        assert_eq!(payload["syncRun"]["holdingsRemoved"], 1, "{payload}");

        let data = app.query(&token, ACCOUNTS, json!({})).await;
        let accounts = data["accounts"]["nodes"].as_array().unwrap();
        assert_eq!(accounts.len(), 2, "a closed account is kept: {data}");
        let ira = accounts.iter().find(|a| a["name"] == "IRA").unwrap();
        let broker = accounts.iter().find(|a| a["name"] == "Brokerage").unwrap();
        assert_eq!(ira["closedOn"], "2026-01-03", "day 3 = 2026-01-01 + 2");
        assert_eq!(broker["closedOn"], Value::Null);

        // Only the brokerage is left: 10 × 100 = 1000, cost 900, one holding.
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1000"), d("900"), 1))
        );

        // The IRA's history: 1000 on day 1 (synced), carried to day 2 (no sync), 0 from day 3.
        let history = app
            .query(
                &token,
                r#"query($id: ID!) { node(id: $id) { ... on Account {
                     valueHistory(from: "2026-01-01", to: "2026-01-03") { date currency marketValue observed } } } }"#,
                json!({ "id": ira["id"] }),
            )
            .await;
        assert_eq!(
            points(&history["node"]["valueHistory"]),
            [
                ("2026-01-01".to_owned(), d("1000"), true),
                ("2026-01-02".to_owned(), d("1000"), false),
                ("2026-01-03".to_owned(), d("0"), true),
            ]
        );

        // Its buy is still there, live, under the closed account.
        assert_eq!(
            live_transaction_ids(&app, &token).await,
            ["tx-buy-aapl", "tx-buy-vti"]
        );
        let ira_rows = app
            .query(
                &token,
                r#"query($id: ID!) { investmentTransactions(filter: {accountIds: [$id]}) {
                     nodes { plaidInvestmentTransactionId amount cancelled } } }"#,
                json!({ "id": ira["id"] }),
            )
            .await;
        let rows = ira_rows["investmentTransactions"]["nodes"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{ira_rows}");
        assert_eq!(rows[0]["plaidInvestmentTransactionId"], "tx-buy-vti");
        assert_eq!(dec(&rows[0]["amount"]), d("1000"));
        assert_eq!(rows[0]["cancelled"], false);
    })
    .await;
}

#[tokio::test]
async fn a_reissued_account_keeps_its_row_and_is_counted_once() {
    on_each_backend_as_alice_in("sync_account_reissued", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        let before = app.query(&token, ACCOUNTS, json!({})).await;
        assert_eq!(before["accounts"]["totalCount"], 1);
        let id = before["accounts"]["nodes"][0]["id"].clone();
        assert_eq!(
            before["accounts"]["nodes"][0]["plaidAccountId"],
            "acc-ira-1"
        );

        app.simulator().advance_to_day(2).await.unwrap();
        resync(&app, &token, &item).await;

        let after = app.query(&token, ACCOUNTS, json!({})).await;
        assert_eq!(after["accounts"]["totalCount"], 1, "{after}");
        let account = &after["accounts"]["nodes"][0];
        assert_eq!(account["id"], id, "the same row");
        assert_eq!(account["plaidAccountId"], "acc-ira-2");
        assert_eq!(account["closedOn"], Value::Null);
        // One VTI position: 4 × 252 = 1008, cost 1000 (not 2 × 1008).
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1008"), d("1000"), 1))
        );
    })
    .await;
}

/// A re-issue is matched by `persistent_account_id` when Plaid gives it (even across a
/// rename), else by type, subtype, mask and name, and only when the match is unique both
/// ways: two look-alikes are closed and opened, never merged into the wrong history.
#[tokio::test]
async fn reissues_match_by_persistent_id_and_never_guess_between_look_alikes() {
    on_each_backend_as_alice_in("sync_reissue_matching", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        let before = app.query(&token, ACCOUNTS, json!({})).await;
        let broker_id = before["accounts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["plaidAccountId"] == "acc-broker-1")
            .unwrap()["id"]
            .clone();
        app.simulator().advance_to_day(2).await.unwrap();
        resync(&app, &token, &item).await;

        let data = app.query(&token, ACCOUNTS, json!({})).await;
        // 1 brokerage (continued) + 2 closed IRAs + 2 new IRAs = 5 rows.
        assert_eq!(data["accounts"]["totalCount"], 5, "{data}");
        let nodes = data["accounts"]["nodes"].as_array().unwrap();
        let by_plaid = |id: &str| nodes.iter().find(|a| a["plaidAccountId"] == id).unwrap();
        let broker = by_plaid("acc-broker-2");
        assert_eq!(
            broker["id"], broker_id,
            "the renamed brokerage kept its row"
        );
        assert_eq!(broker["name"], "Brokerage Plus");
        assert_eq!(broker["closedOn"], Value::Null);
        let day2 = json!(app.simulator().day_date(2));
        for old in ["acc-ira-a-1", "acc-ira-b-1"] {
            assert_eq!(by_plaid(old)["closedOn"], day2, "{old}");
        }
        for new in ["acc-ira-a-2", "acc-ira-b-2"] {
            assert_eq!(by_plaid(new)["closedOn"], Value::Null, "{new}");
        }
        // Nothing is counted twice: 10 × 100 + 1 × 100 + 2 × 100 = 1300 in 3 holdings.
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1300"), d("1300"), 3))
        );
    })
    .await;
}

/// Plaid returns no history under a re-issued id: the rows stored under the old id, still
/// inside the next syncs' windows, are history (up to the re-issue day), not vanished rows.
#[tokio::test]
async fn a_reissued_account_keeps_its_transaction_history() {
    on_each_backend_as_alice_in("sync_account_reissued", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        app.simulator().advance_to_day(2).await.unwrap();
        resync(&app, &token, &item).await;
        // The day-1 buy was made under the old id: history, not a vanished row.
        assert_eq!(live_transaction_ids(&app, &token).await, ["tx-buy-vti"]);
        app.simulator().advance_to_day(3).await.unwrap();
        resync(&app, &token, &item).await;
        assert_eq!(live_transaction_ids(&app, &token).await, ["tx-buy-vti"]);
    })
    .await;
}

const REALIZED: &str = r#"query($from: Date, $to: Date) { portfolio { realizedGains(from: $from, to: $to) {
    positions { security { tickerSymbol } quantitySold quantityWithoutBasis proceeds costBasis realizedGain sells currency }
    totals { currency proceeds costBasis realizedGain } } } }"#;

/// Realized gains of `[from, to]` by ticker: (quantity sold, without basis, proceeds,
/// cost basis, gain, sells); and the USD total gain.
async fn realized(
    app: &TestApp,
    token: &str,
    from: &str,
    to: &str,
) -> (
    Vec<(String, Decimal, Decimal, Decimal, Decimal, Decimal, i64)>,
    Option<Decimal>,
) {
    let data = app
        .query(token, REALIZED, json!({ "from": from, "to": to }))
        .await;
    let gains = &data["portfolio"]["realizedGains"];
    let mut positions: Vec<_> = gains["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["currency"], "USD");
            (
                p["security"]["tickerSymbol"].as_str().unwrap().to_owned(),
                dec(&p["quantitySold"]),
                dec(&p["quantityWithoutBasis"]),
                dec(&p["proceeds"]),
                dec(&p["costBasis"]),
                dec(&p["realizedGain"]),
                p["sells"].as_i64().unwrap(),
            )
        })
        .collect();
    positions.sort_by(|a, b| a.0.cmp(&b.0));
    let totals = gains["totals"].as_array().unwrap();
    assert!(totals.len() <= 1, "{data}");
    (positions, totals.first().map(|t| dec(&t["realizedGain"])))
}

#[tokio::test]
async fn realized_gains_replay_a_day_by_time_else_acquisitions_first() {
    on_each_backend_as_alice_in("sync_realized_order", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        app.simulator().advance_to_day(2).await.unwrap();
        resync(&app, &token, &item).await;

        let (positions, total) = realized(&app, &token, "2026-01-01", "2026-01-02").await;
        assert_eq!(
            positions,
            [
                // AAA, every row of day 2 timed: the 10:00 sell closes the day-1 lot
                // (10 for 1000) before the 15:00 buy: 1200 - 1000 = 200.
                (
                    "AAA".to_owned(),
                    d("10"),
                    d("0"),
                    d("1200"),
                    d("1000"),
                    d("200"),
                    1
                ),
                // BBB, the buy untimed: it goes first: 20 units cost 1000 + 1100 = 2100,
                // average 105; 10 sold for 1200 against 10 × 105 = 1050: 150.
                (
                    "BBB".to_owned(),
                    d("10"),
                    d("0"),
                    d("1200"),
                    d("1050"),
                    d("150"),
                    1
                ),
            ]
        );
        // 200 + 150 = 350.
        assert_eq!(total, Some(d("350")));
    })
    .await;
}

#[tokio::test]
async fn splits_carry_the_basis_and_transfers_in_have_none() {
    on_each_backend_as_alice_in("sync_realized_splits_transfers", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        app.simulator().advance_to_day(4).await.unwrap();
        resync(&app, &token, &item).await;

        let (positions, total) = realized(&app, &token, "2026-01-01", "2026-01-04").await;
        assert_eq!(
            positions,
            [
                // CCC: 10 for 1000, split 2-for-1 (+10 units, no cash): 20 units still
                // cost 1000; 20 sold for 1200: 1200 - 1000 = 200.
                (
                    "CCC".to_owned(),
                    d("20"),
                    d("0"),
                    d("1200"),
                    d("1000"),
                    d("200"),
                    1
                ),
                // DDD: 6 for 600 + 4 transferred in without basis = 10 units, 4 unknown;
                // 5 sold for 650: 5 × 4/10 = 2 without basis, 3 known: proceeds
                // 650 × 3/5 = 390, cost 600 × 3/6 = 300: 90.
                (
                    "DDD".to_owned(),
                    d("5"),
                    d("2"),
                    d("390"),
                    d("300"),
                    d("90"),
                    1
                ),
                // EEE: 10 for 1000, a zero-amount transfer/adjustment of -5 units
                // (1-for-2): 5 units cost 1000; 5 sold for 1100: 1100 - 1000 = 100.
                (
                    "EEE".to_owned(),
                    d("5"),
                    d("0"),
                    d("1100"),
                    d("1000"),
                    d("100"),
                    1
                ),
            ]
        );
        // 200 + 90 + 100 = 390.
        assert_eq!(total, Some(d("390")));
    })
    .await;
}

const INCOME: &str = r#"{ portfolio { incomeAndCosts(from: "2026-01-01", to: "2026-02-10") { month currency dividends } }
  investmentTransactionSummary { currency amount count } }"#;

/// January's dividends (0 when no row), and the summary's (amount, count) in USD.
async fn income_and_summary(app: &TestApp, token: &str) -> (Decimal, Decimal, i64) {
    let data = app.query(token, INCOME, json!({})).await;
    let dividends = data["portfolio"]["incomeAndCosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == "2026-01")
        .map_or(Decimal::ZERO, |m| dec(&m["dividends"]));
    let summary = data["investmentTransactionSummary"].as_array().unwrap();
    assert_eq!(summary.len(), 1, "{data}");
    assert_eq!(summary[0]["currency"], "USD");
    (
        dividends,
        dec(&summary[0]["amount"]),
        summary[0]["count"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_cancel_finds_its_trade_outside_the_sync_window_once() {
    on_each_backend_as_alice_in("sync_cancel_far_back", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        app.simulator().advance_to_day(2).await.unwrap();
        resync(&app, &token, &item).await;
        // Day 39 (2026-02-08): the window starts at day 2 - 30 days.
        app.simulator().advance_to_day(39).await.unwrap();
        resync(&app, &token, &item).await;

        // Before the cancels: 5 sold for 500 against 5 × 90 = 450: 50.
        let (positions, total) = realized(&app, &token, "2026-01-01", "2026-02-10").await;
        assert_eq!(
            positions,
            [(
                "AAPL".to_owned(),
                d("5"),
                d("0"),
                d("500"),
                d("450"),
                d("50"),
                1
            )]
        );
        assert_eq!(total, Some(d("50")));
        // Dividend 2.40; summary 900 - 2.40 + 3 × 250 - 500 = 1147.60 over 6 rows.
        assert_eq!(
            income_and_summary(&app, &token).await,
            (d("2.40"), d("1147.60"), 6)
        );

        // Day 40 (2026-02-09): the window is [day 39 - 30 days = 2026-01-09, day 40], so
        // none of the cancelled rows (days 1 and 2) is fetched again.
        app.simulator().advance_to_day(40).await.unwrap();
        let payload = resync(&app, &token, &item).await;
        let run = &payload["syncRun"];
        assert_eq!(run["windowStart"], "2026-01-09", "{payload}");
        assert_eq!(run["windowEnd"], "2026-02-09");
        // 4 cancel rows stored; 4 trades cancelled.
        assert_eq!(run["transactionsUpserted"], 4, "{payload}");
        assert_eq!(run["transactionsCancelled"], 4, "{payload}");

        let live = live_transaction_ids(&app, &token).await;
        // tx-buy-aapl and exactly one of the three identical VTI buys.
        assert_eq!(live.len(), 2, "{live:?}");
        assert_eq!(live[0], "tx-buy-aapl");
        assert!(live[1].starts_with("tx-vti-"), "{live:?}");
        // The sell is gone from realized gains.
        assert_eq!(
            realized(&app, &token, "2026-01-01", "2026-02-10").await,
            (vec![], None)
        );
        // Dividend gone; summary 900 + 250 = 1150 over 2 rows.
        assert_eq!(
            income_and_summary(&app, &token).await,
            (d("0"), d("1150"), 2)
        );
        let cancelled = app
            .query(
                &token,
                "{ investmentTransactions(filter: {cancelled: true}) { totalCount } }",
                json!({}),
            )
            .await;
        // 4 cancelled trades + 4 cancel rows, all kept.
        assert_eq!(cancelled["investmentTransactions"]["totalCount"], 8);

        // Day 41: the same cancels come back; they take no third VTI buy.
        app.simulator().advance_to_day(41).await.unwrap();
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["syncRun"]["transactionsCancelled"], 0, "{payload}");
        assert_eq!(live_transaction_ids(&app, &token).await, live);
        assert_eq!(
            income_and_summary(&app, &token).await,
            (d("0"), d("1150"), 2)
        );
    })
    .await;
}

async fn item_status(app: &TestApp, token: &str) -> Value {
    let data = app
        .query(
            token,
            "{ items { totalCount nodes { id status error { errorCode } } } }",
            json!({}),
        )
        .await;
    data["items"].clone()
}

#[tokio::test]
async fn pending_warnings_outlive_syncs_until_a_relink() {
    on_each_backend_as_alice_in("sync_item_warnings_kept", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;

        // Day 2's ITEM PENDING_EXPIRATION webhook is delivered on the way.
        app.simulator().advance_to_day(2).await.unwrap();
        assert_eq!(
            item_status(&app, &token).await["nodes"][0]["status"],
            "PENDING_EXPIRATION"
        );
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["item"]["status"], "PENDING_EXPIRATION", "{payload}");

        app.simulator().advance_to_day(3).await.unwrap();
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["item"]["status"], "PENDING_DISCONNECT", "{payload}");
        assert_eq!(
            item_status(&app, &token).await["nodes"][0]["status"],
            "PENDING_DISCONNECT"
        );

        // Update mode: the same item, healthy again.
        let (again, payload) = link(&app, &token, "ins_109508").await;
        assert_eq!(again, item);
        assert_eq!(payload["item"]["status"], "HEALTHY", "{payload}");
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["item"]["status"], "HEALTHY", "{payload}");
    })
    .await;
}

#[tokio::test]
async fn an_item_error_inside_a_successful_answer_sets_the_status_and_keeps_the_data() {
    on_each_backend_as_alice_in("sync_item_error_in_answer", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        app.simulator().advance_to_day(2).await.unwrap();
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["item"]["status"], "LOGIN_REQUIRED", "{payload}");
        assert_eq!(payload["item"]["error"]["errorCode"], "ITEM_LOGIN_REQUIRED");
        // The dividend was stored, and the price: 10 × 106 = 1060, cost 900.
        assert_eq!(payload["syncRun"]["transactionsUpserted"], 1, "{payload}");
        assert_eq!(live_transaction_ids(&app, &token).await, ["tx-div"]);
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1060"), d("900"), 1))
        );
        let items = item_status(&app, &token).await;
        assert_eq!(items["nodes"][0]["status"], "LOGIN_REQUIRED");
    })
    .await;
}

#[tokio::test]
async fn no_investment_accounts_is_an_empty_healthy_item() {
    on_each_backend_as_alice_in("sync_no_investment_accounts", |app, token| async move {
        let (item, payload) = link(&app, &token, "ins_109508").await;
        assert_eq!(payload["item"]["status"], "HEALTHY");
        assert_eq!(payload["syncRun"]["transactionsUpserted"], 0);
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["item"]["status"], "HEALTHY", "{payload}");
        assert_eq!(payload["item"]["error"], Value::Null);
        assert_eq!(usd_totals(&app, &token).await, None);
        // The checking account Plaid lists is not taken for closed.
        let data = app.query(&token, ACCOUNTS, json!({})).await;
        assert_eq!(data["accounts"]["totalCount"], 1, "{data}");
        assert_eq!(
            data["accounts"]["nodes"][0]["plaidAccountId"],
            "acc-checking"
        );
        assert_eq!(data["accounts"]["nodes"][0]["closedOn"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn linking_the_same_institution_again_updates_the_item() {
    on_each_backend_as_alice_in("sync_relink_same_institution", |app, token| async move {
        let (item, first) = link(&app, &token, "ins_109508").await;
        let (again, second) = link(&app, &token, "ins_109508").await;
        assert_eq!(again, item, "the same stored item");
        assert_eq!(second["item"]["plaidItemId"], first["item"]["plaidItemId"]);
        assert_eq!(second["item"]["status"], "HEALTHY");
        let items = item_status(&app, &token).await;
        assert_eq!(items["totalCount"], 1, "{items}");
        // One position, not two: 10 × 100 = 1000.
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1000"), d("900"), 1))
        );

        // Day 2 is synced with the new token (the first one is dead at Plaid).
        app.simulator().advance_to_day(2).await.unwrap();
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["item"]["status"], "HEALTHY", "{payload}");
        // 10 × 106 = 1060.
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1060"), d("900"), 1))
        );
    })
    .await;
}

#[tokio::test]
async fn windows_take_an_end_alone_and_clamp_an_old_start() {
    on_each_backend_as_alice_in("sync_window_bounds", |app, token| async move {
        let (item, payload) = link(&app, &token, "ins_109508").await;
        // First sync: 24 months back from 2026-01-01.
        assert_eq!(payload["syncRun"]["windowStart"], "2024-01-01");
        assert_eq!(payload["syncRun"]["windowEnd"], "2026-01-01");

        // Only an end: from the last success (2026-01-01) - 30 days = 2025-12-02.
        let payload = refresh(&app, &token, &item, Value::Null, json!("2025-12-20")).await;
        let run = &payload["syncRun"];
        assert_eq!(run["outcome"], "SUCCEEDED", "{payload}");
        assert_eq!(run["windowStart"], "2025-12-02");
        assert_eq!(run["windowEnd"], "2025-12-20");
        // The 2025-12-10 deposit only; the day-1 buy is after the end and stays live.
        assert_eq!(run["transactionsUpserted"], 1);
        assert_eq!(
            live_transaction_ids(&app, &token).await,
            ["tx-buy-aapl", "tx-deposit"]
        );

        // A start older than 24 months is clamped to 2026-01-01 - 24 months.
        let payload = refresh(&app, &token, &item, json!("2020-06-15"), Value::Null).await;
        let run = &payload["syncRun"];
        assert_eq!(run["outcome"], "SUCCEEDED", "{payload}");
        assert_eq!(run["windowStart"], "2024-01-01");
        assert_eq!(run["windowEnd"], "2026-01-01");
        assert_eq!(run["transactionsUpserted"], 2);
    })
    .await;
}

#[tokio::test]
async fn a_holding_of_an_undescribed_security_is_kept_with_a_placeholder() {
    on_each_backend_as_alice_in("sync_undescribed_security", |app, token| async move {
        link(&app, &token, "ins_109508").await;
        // 10 × 100 = 1000 + 3 × 20.5 = 61.5: 1061.5; cost 900 + 60 = 960.
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1061.5"), d("960"), 2))
        );
        let data = app
            .query(
                &token,
                "{ holdings { nodes { quantity marketValue security { plaidSecurityId name tickerSymbol } } } }",
                json!({}),
            )
            .await;
        let holdings = data["holdings"]["nodes"].as_array().unwrap();
        let x = holdings
            .iter()
            .find(|h| h["security"]["plaidSecurityId"] == "sec-x")
            .unwrap_or_else(|| panic!("the sec-x position is kept: {data}"));
        assert_eq!(dec(&x["quantity"]), d("3"));
        assert_eq!(dec(&x["marketValue"]), d("61.5"));
        // A placeholder: Plaid never described it.
        assert_eq!(x["security"]["name"], Value::Null);
        assert_eq!(x["security"]["tickerSymbol"], Value::Null);
        // Its buy is stored against the same security.
        let tx = app
            .query(
                &token,
                "{ investmentTransactions { nodes { plaidInvestmentTransactionId security { plaidSecurityId } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            tx["investmentTransactions"]["nodes"][0]["security"]["plaidSecurityId"],
            "sec-x"
        );
    })
    .await;
}

#[tokio::test]
async fn transactions_of_an_unlisted_account_are_counted_as_skipped() {
    on_each_backend_as_alice_in("sync_unlisted_account", |app, token| async move {
        let (item, payload) = link(&app, &token, "ins_109508").await;
        // 2 rows returned: the buy stored, the ghost's deposit skipped.
        assert_eq!(payload["syncRun"]["transactionsUpserted"], 1, "{payload}");
        assert_eq!(payload["syncRun"]["transactionsSkipped"], 1);
        assert_eq!(live_transaction_ids(&app, &token).await, ["tx-buy-aapl"]);
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["syncRun"]["transactionsSkipped"], 1, "{payload}");
        let data = app.query(&token, ACCOUNTS, json!({})).await;
        assert_eq!(data["accounts"]["totalCount"], 1);
    })
    .await;
}

#[tokio::test]
async fn a_row_plaid_stops_returning_is_flagged_after_a_stable_walk() {
    on_each_backend_as_alice_in("sync_vanished_rows", |app, token| async move {
        let (item, _) = link(&app, &token, "ins_109508").await;
        assert_eq!(
            live_transaction_ids(&app, &token).await,
            ["tx-buy-aapl", "tx-div"]
        );
        app.simulator().advance_to_day(2).await.unwrap();
        let payload = resync(&app, &token, &item).await;
        assert_eq!(payload["syncRun"]["transactionsCancelled"], 1, "{payload}");
        assert_eq!(live_transaction_ids(&app, &token).await, ["tx-buy-aapl"]);
        let data = app
            .query(
                &token,
                "{ investmentTransactions(filter: {cancelled: true}) { nodes { plaidInvestmentTransactionId } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["investmentTransactions"]["nodes"],
            json!([{ "plaidInvestmentTransactionId": "tx-div" }]),
            "flagged, not deleted"
        );
    })
    .await;
}

#[tokio::test]
async fn snapshots_are_dated_by_the_holdings_price_date() {
    on_each_backend_as_alice_in("sync_snapshot_price_day", |app, token| async move {
        link(&app, &token, "ins_109508").await;
        let data = app
            .query(
                &token,
                r#"{ portfolio { valueHistory(from: "2025-12-30", to: "2026-01-01") { date currency marketValue observed } }
                     accounts { nodes { name valueHistory(from: "2025-12-30", to: "2026-01-01") { date currency marketValue observed } } } }"#,
                json!({}),
            )
            .await;
        let accounts = data["accounts"]["nodes"].as_array().unwrap();
        let of = |name: &str| {
            points(
                &accounts
                    .iter()
                    .find(|a| a["name"] == name)
                    .unwrap()["valueHistory"],
            )
        };
        // Brokerage priced as of 2025-12-31: 10 × 100 = 1000 observed then, carried to
        // 2026-01-01.
        assert_eq!(
            of("Brokerage"),
            [
                ("2025-12-31".to_owned(), d("1000"), true),
                ("2026-01-01".to_owned(), d("1000"), false),
            ]
        );
        // IRA without a price date: today, 2 × 250 = 500.
        assert_eq!(of("IRA"), [("2026-01-01".to_owned(), d("500"), true)]);
        // Together: 1000 on 2025-12-31 (the IRA has no history yet, so it is observed);
        // 1000 + 500 = 1500 on 2026-01-01, the brokerage carried.
        assert_eq!(
            points(&data["portfolio"]["valueHistory"]),
            [
                ("2025-12-31".to_owned(), d("1000"), true),
                ("2026-01-01".to_owned(), d("1500"), false),
            ]
        );
    })
    .await;
}

/// Convention j: "today" is the date in `INVESTMENTS_TIMEZONE`. A sync at 21:30 in New York
/// on January 1 (02:30 UTC on January 2) pictures January 1, not January 2.
#[tokio::test]
async fn an_evening_sync_in_new_york_is_dated_that_evening() {
    for backend in crate::common::backends() {
        let mut config = crate::common::scenario_config("returns_deposit_between_syncs");
        config.clock = investments::clock::Clock::manual_in(
            "2026-01-02T02:30:00Z".parse().unwrap(),
            chrono_tz::America::New_York,
        );
        let app = TestApp::builder(backend)
            .with_plaid(config)
            .with_user("alice", Scope::Write)
            .start()
            .await;
        let (_, token) = app.viewer();
        link(&app, &token, "ins_109508").await;
        let data = app
            .query(
                &token,
                "{ portfolio { valueHistory(from: \"2026-01-01\", to: \"2026-01-02\") {
                    date marketValue observed } } }",
                json!({}),
            )
            .await;
        // 10 VTI × 100 = 1000, observed on January 1 (New York), carried to January 2.
        assert_eq!(
            data["portfolio"]["valueHistory"],
            json!([
                { "date": "2026-01-01", "marketValue": "1000", "observed": true },
                { "date": "2026-01-02", "marketValue": "1000", "observed": false },
            ]),
            "[{backend:?}]"
        );
    }
}

/// Convention h: a failure after Plaid issued the access token never loses it. The item is
/// stored with its token and the status the failure calls for, syncs once repaired, and
/// can still be removed at Plaid.
#[tokio::test]
async fn a_failure_right_after_the_exchange_keeps_the_access_token() {
    on_each_backend_as_alice_in("sync_link_fails_after_exchange", |app, token| async move {
        let code = app
            .error_code(&token, LINK, json!({ "institution": "ins_109508" }))
            .await;
        assert_eq!(code, "ITEM_LOGIN_REQUIRED");
        let data = app
            .query(
                &token,
                "{ items { totalCount nodes { id status } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["items"]["totalCount"], 1, "the item was kept: {data}");
        let item = data["items"]["nodes"][0].clone();
        assert_eq!(item["status"], "LOGIN_REQUIRED");

        // Repaired on day 2: the stored token syncs. 10 × 100 = 1000.
        app.simulator().advance_to_day(2).await.unwrap();
        let payload = resync(&app, &token, item["id"].as_str().unwrap()).await;
        assert_eq!(payload["item"]["status"], "HEALTHY");
        assert_eq!(
            usd_totals(&app, &token).await,
            Some((d("1000"), d("1000"), 1))
        );

        // And it can be removed at Plaid (which ends its billing).
        let removed = app
            .query(
                &token,
                "mutation($id: ID!) { removeItem(input: {itemId: $id}) { removedItemId } }",
                json!({ "id": item["id"] }),
            )
            .await;
        assert_eq!(removed["removeItem"]["removedItemId"], item["id"]);
        assert_eq!(app.simulator().calls("/item/remove"), 1);
    })
    .await;
}

//! Returns and value history in the messy world, on both databases: each test lives day by
//! day through a scenario of `tests/scenarios/` (irregular syncs, a brokerage linked later,
//! accounts closed and re-issued), with the figures worked out by hand in comments.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{TestApp, on_each_backend_as_alice_in};
use crate::fixtures::dec;
use crate::plaid_support::{LINK, REFRESH, link};

const RETURNS: &str = "query($from: Date!, $to: Date!, $filter: PortfolioFilter) {
  portfolio(filter: $filter) { returns(from: $from, to: $to) {
    currency from to startValue endValue netFlows gain
    simpleReturn timeWeightedReturn moneyWeightedReturn } } }";

/// The returns of USD over days `from..=to` of the scenario.
async fn usd_returns(app: &TestApp, token: &str, from: u32, to: u32, filter: Value) -> Value {
    let sim = app.simulator();
    let data = app
        .query(
            token,
            RETURNS,
            json!({ "from": sim.day_date(from), "to": sim.day_date(to), "filter": filter }),
        )
        .await;
    let all = data["portfolio"]["returns"].as_array().unwrap().clone();
    assert_eq!(all.len(), 1, "one currency: {all:?}");
    all[0].clone()
}

/// Moves the world to `day` and syncs the item there.
async fn sync_on(app: &TestApp, token: &str, item_id: &str, day: u32) {
    app.simulator().advance_to_day(day).await.expect("advance");
    let data = app.query(token, REFRESH, json!({ "id": item_id })).await;
    assert_eq!(
        data["refreshItem"]["syncRun"]["outcome"], "SUCCEEDED",
        "{data}"
    );
}

fn figure(r: &Value, field: &str) -> Option<Decimal> {
    r[field].as_str().map(dec)
}

#[tokio::test]
async fn a_deposit_between_two_syncs_is_neither_gain_nor_loss() {
    on_each_backend_as_alice_in("returns_deposit_between_syncs", |app, token| async move {
        let item = link(&app, &token, "ins_109508").await; // day 1
        for day in [3, 10, 40] {
            sync_on(&app, &token, &item.id, day).await;
        }
        app.simulator().advance_to_day(41).await.expect("advance");
        let r = usd_returns(&app, &token, 1, 41, Value::Null).await;
        // Valuations (syncs): day 1 1000, day 3 1000, day 10 1500 (10 × 100 + 500 cash),
        // day 40 1600 (10 × 110 + 500). Day 41 had no sync: the period ends on day 40.
        assert_eq!(r["from"], json!(app.simulator().day_date(1)));
        assert_eq!(r["to"], json!(app.simulator().day_date(40)));
        assert_eq!(figure(&r, "startValue"), Some(dec("1000")));
        assert_eq!(figure(&r, "endValue"), Some(dec("1600")));
        assert_eq!(figure(&r, "netFlows"), Some(dec("500")));
        // 1600 - 1000 - 500 = 100; simple 100 / 1000 = 10 %.
        assert_eq!(figure(&r, "gain"), Some(dec("100")));
        assert_eq!(figure(&r, "simpleReturn"), Some(dec("10.0000")));
        // Sub-periods: (1,3] 0; (3,10]: (1500 - 1000 - 500) / (1000 + 500 × 5/7) = 0;
        // (10,40]: (1600 - 1500) / 1500 = 6.6667 %. The deposit moved nothing.
        assert_eq!(figure(&r, "timeWeightedReturn"), Some(dec("6.6667")));
        // Whole period: 100 / (1000 + 500 × 35/39) = 3900 / 56500 = 6.9027 %.
        assert_eq!(figure(&r, "moneyWeightedReturn"), Some(dec("6.9027")));

        // The deposit is an external flow to the API too.
        let data = app
            .query(
                &token,
                "{ investmentTransactions { nodes { subtype category } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["investmentTransactions"]["nodes"],
            json!([{ "subtype": "deposit", "category": "EXTERNAL_FLOW" }])
        );

        // The history still marks the days between syncs as carried.
        let sim = app.simulator();
        let data = app
            .query(
                &token,
                "query($from: Date!, $to: Date!) { portfolio { valueHistory(from: $from, to: $to) {
                    date marketValue observed } } }",
                json!({ "from": sim.day_date(9), "to": sim.day_date(11) }),
            )
            .await;
        let points: Vec<(Decimal, bool)> = data["portfolio"]["valueHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    dec(p["marketValue"].as_str().unwrap()),
                    p["observed"] == true,
                )
            })
            .collect();
        assert_eq!(
            points,
            vec![
                (dec("1000"), false),
                (dec("1500"), true),
                (dec("1500"), false)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_brokerage_linked_later_enters_as_an_inflow_not_a_gain() {
    on_each_backend_as_alice_in(
        "returns_second_item_linked_later",
        |app, token| async move {
            let a = link(&app, &token, "ins_109508").await; // day 1
            app.simulator().advance_to_day(10).await.expect("advance");
            let b = link(&app, &token, "ins_109511").await; // day 10
            sync_on(&app, &token, &a.id, 20).await;
            let data = app.query(&token, REFRESH, json!({ "id": b.id })).await;
            assert_eq!(data["refreshItem"]["syncRun"]["outcome"], "SUCCEEDED");

            let r = usd_returns(&app, &token, 1, 20, Value::Null).await;
            // Valuations: day 1 (A alone: 1000) and day 20 (A 10 × 110 + B 5 × 100 = 1600);
            // on day 10 A is carried, so it is no valuation. B enters on day 10 with 500.
            assert_eq!(figure(&r, "startValue"), Some(dec("1000")));
            assert_eq!(figure(&r, "endValue"), Some(dec("1600")));
            assert_eq!(figure(&r, "netFlows"), Some(dec("500")));
            // 1600 - 1000 - 500 = 100 (VTI's move), simple 10 %.
            assert_eq!(figure(&r, "gain"), Some(dec("100")));
            assert_eq!(figure(&r, "simpleReturn"), Some(dec("10.0000")));
            // One sub-period (1,20]: 100 / (1000 + 500 × 10/19) = 1900 / 24000 = 7.9167 %.
            assert_eq!(figure(&r, "timeWeightedReturn"), Some(dec("7.9167")));
            assert_eq!(figure(&r, "moneyWeightedReturn"), Some(dec("7.9167")));

            // The same rule under a filter: B alone starts on its first day, flat.
            let only_b = usd_returns(&app, &token, 1, 20, json!({ "itemIds": [b.id] })).await;
            assert_eq!(only_b["from"], json!(app.simulator().day_date(10)));
            assert_eq!(figure(&only_b, "gain"), Some(Decimal::ZERO));
            assert_eq!(figure(&only_b, "timeWeightedReturn"), Some(dec("0.0000")));
        },
    )
    .await;
}

#[tokio::test]
async fn closed_and_reissued_accounts_are_neither_gains_nor_counted_twice() {
    on_each_backend_as_alice_in(
        "returns_account_closed_and_reissued",
        |app, token| async move {
            let item = link(&app, &token, "ins_109508").await; // day 1
            for day in [5, 10, 12] {
                sync_on(&app, &token, &item.id, day).await;
            }
            // Today: only the re-issued brokerage, once: 10 × 110 = 1100.
            let data = app
                .query(
                    &token,
                    "{ portfolio { totals { currency marketValue } }
                   accounts { nodes { name plaidAccountId closedOn } } }",
                    json!({}),
                )
                .await;
            assert_eq!(
                dec(data["portfolio"]["totals"][0]["marketValue"]
                    .as_str()
                    .unwrap()),
                dec("1100")
            );
            let accounts = data["accounts"]["nodes"].as_array().unwrap();
            assert_eq!(
                accounts.len(),
                2,
                "the re-issued id took over the old row: {accounts:?}"
            );
            let by_name = |name: &str| accounts.iter().find(|a| a["name"] == name).unwrap();
            assert_eq!(
                by_name("IRA")["closedOn"],
                json!(app.simulator().day_date(10))
            );
            assert_eq!(
                by_name("Brokerage")["plaidAccountId"],
                "acc-broker-reissued"
            );
            assert_eq!(by_name("Brokerage")["closedOn"], Value::Null);

            let r = usd_returns(&app, &token, 1, 12, Value::Null).await;
            // Valuations 1: 1400, 5: 1400, 10: 1050 (IRA gone), 12: 1100.
            // The IRA leaves on day 10 at its last value: an outflow of 400.
            assert_eq!(figure(&r, "startValue"), Some(dec("1400")));
            assert_eq!(figure(&r, "endValue"), Some(dec("1100")));
            assert_eq!(figure(&r, "netFlows"), Some(dec("-400")));
            // 1100 - 1400 + 400 = 100: VTI 100 -> 110 on 10 units; simple 100 / 1400.
            assert_eq!(figure(&r, "gain"), Some(dec("100")));
            assert_eq!(figure(&r, "simpleReturn"), Some(dec("7.1429")));
            // (1,5] 0; (5,10]: (1050 - 1400 + 400) / 1400 = 3.5714 %; (10,12]: 50 / 1050 =
            // 4.7619 %; 1.0357142857 × 1.0476190476 - 1 = 8.5034 %. The re-issue on day 12
            // is no flow: the price move across it is a gain.
            assert_eq!(figure(&r, "timeWeightedReturn"), Some(dec("8.5034")));
            // 100 / (1400 - 400 × 2/11) = 1100 / 14600 = 7.5342 %.
            assert_eq!(figure(&r, "moneyWeightedReturn"), Some(dec("7.5342")));
        },
    )
    .await;
}

/// Linking the same institution twice (a double submit) keeps one item.
#[tokio::test]
async fn a_second_link_of_a_stored_item_updates_it() {
    on_each_backend_as_alice_in("returns_deposit_between_syncs", |app, token| async move {
        let first = link(&app, &token, "ins_109508").await;
        let again = app
            .query(&token, LINK, json!({ "institution": "ins_109508" }))
            .await;
        assert_eq!(
            again["sandboxLinkItem"]["item"]["id"],
            json!(first.id),
            "{again}"
        );
        assert_eq!(again["sandboxLinkItem"]["syncRun"]["outcome"], "SUCCEEDED");
        let data = app
            .query(&token, "{ items { totalCount } }", json!({}))
            .await;
        assert_eq!(data["items"]["totalCount"], 1);
    })
    .await;
}

//! Portfolio analytics over HTTP on both databases: allocation and weights, value history
//! with carried days, the worked returns example of docs/features/analytics.md, realized
//! gains by average cost, transaction summaries, price history, and the cache.

use std::collections::BTreeMap;

use investments::auth::Scope;
use investments::db::entities::securities;
use investments::graphql::ids::NodeKind;
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::on_each_backend_as;
use crate::fixtures::{Fixture, SecuritySpec, Standard, TxSpec, dec, gid};

const FIGURES: &str = "currency marketValue costBasis unrealizedGain weight holdingsCount holdingsWithoutCostBasis holdingsWithoutPrice";

/// Sum of the weights of a grouping, per currency.
fn weight_sums(groups: &Value) -> BTreeMap<String, Decimal> {
    let mut sums = BTreeMap::new();
    for g in groups.as_array().unwrap() {
        *sums
            .entry(g["currency"].as_str().unwrap().to_owned())
            .or_insert(Decimal::ZERO) += dec(g["weight"].as_str().unwrap());
    }
    sums
}

#[tokio::test]
async fn allocation_groupings_weights_and_cash() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let f = Fixture::new(&app, user);
        // A money-market fund Plaid marks as a cash equivalent, and a holding without price.
        let mmf = f
            .security(SecuritySpec::usd(
                "sec-mmf",
                Some("Money Market Fund"),
                Some("VMFXX"),
                "mutual fund",
            ))
            .await;
        securities::Entity::update_many()
            .col_expr(securities::Column::IsCashEquivalent, Expr::value(true))
            .filter(securities::Column::Id.eq(mmf.id))
            .exec(&app.db)
            .await
            .unwrap();
        f.holding(&s.ira, &mmf, "3", "3", None).await;
        let unpriced = f
            .security(SecuritySpec::usd(
                "sec-private",
                Some("Private placement"),
                None,
                "equity",
            ))
            .await;
        f.holding_at(&s.brokerage, &unpriced, "7", "0", "0", Some("70"))
            .await;

        let query = format!(
            "{{ portfolio {{
                totals {{ {FIGURES} }}
                byCurrency {{ {FIGURES} }}
                cash {{ {FIGURES} }}
                byAccount {{ account {{ name }} {FIGURES} }}
                byInstitution {{ institutionName {FIGURES} }}
                bySecurityType {{ securityType {FIGURES} }}
                bySector {{ sector {FIGURES} }}
            }} }}"
        );
        let data = app.query(&token, &query, json!({})).await;
        let p = &data["portfolio"];
        let usd = &p["totals"][1];
        assert_eq!(usd["currency"], "USD");
        assert_eq!(usd["marketValue"], "3123.25");
        assert_eq!(usd["weight"], "100.0000");
        assert_eq!(usd["holdingsCount"], 6);
        // VTI and the money-market fund report no cost basis.
        assert_eq!(usd["holdingsWithoutCostBasis"], 2);
        assert_eq!(usd["holdingsWithoutPrice"], 1);
        // Gain over the holdings with a cost basis: AAPL 400.50, fund -2.50, cash 0,
        // the unpriced holding -70.
        assert_eq!(usd["unrealizedGain"], "328.00");
        assert_eq!(p["byCurrency"], p["totals"]);

        // Cash: CUR:USD and the cash equivalent, weighed against the whole USD portfolio.
        assert_eq!(p["cash"][0]["currency"], "USD");
        assert_eq!(p["cash"][0]["marketValue"], "12.5");
        assert_eq!(p["cash"][0]["holdingsCount"], 2);
        assert_eq!(p["cash"][0]["weight"], "0.4002");

        for grouping in ["byAccount", "byInstitution", "bySecurityType", "bySector"] {
            for (currency, sum) in weight_sums(&p[grouping]) {
                assert_eq!(sum, dec("100"), "{grouping} {currency}");
            }
        }
        let types: Vec<(Value, Value, Value)> = p["bySecurityType"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["currency"] == "USD")
            .map(|g| {
                (
                    g["securityType"].clone(),
                    g["marketValue"].clone(),
                    g["weight"].clone(),
                )
            })
            .collect();
        assert_eq!(
            types,
            vec![
                // Truncated to 60.8500, 38.4295, 0.4002, 0.3201 (99.9998); the two units
                // left go to the largest remainders.
                (json!("equity"), json!("1900.50"), json!("60.8501")),
                (json!("etf"), json!("1200.25"), json!("38.4295")),
                (json!("cash"), json!("12.5"), json!("0.4002")),
                (json!("mutual fund"), json!("10"), json!("0.3202")),
            ]
        );
        let sectors: Vec<Value> = p["bySector"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["currency"] == "USD")
            .map(|g| g["sector"].clone())
            .collect();
        assert_eq!(sectors, vec![json!(null), json!("Cash")]);
        // Another currency is weighed on its own.
        assert_eq!(p["byAccount"][0]["currency"], "BTC");
        assert_eq!(p["byAccount"][0]["weight"], "100.0000");
    })
    .await;
}

#[tokio::test]
async fn value_history_carries_positions_forward() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let f = Fixture::new(&app, user);
        let snap = |account, security, day, value, basis| {
            let f = &f;
            async move {
                f.snapshot(account, security, day, "1", "1", value, basis, None)
                    .await
            }
        };
        snap(&s.brokerage, &s.aapl, "2025-01-01", "1000", Some("900")).await;
        snap(&s.ira, &s.fund, "2025-01-02", "10", None).await;
        snap(&s.brokerage, &s.aapl, "2025-01-03", "1100", Some("900")).await;
        snap(&s.brokerage, &s.vti, "2025-01-03", "50", None).await;
        // AAPL sold: the brokerage's picture of the 5th has VTI only.
        snap(&s.brokerage, &s.vti, "2025-01-05", "60", None).await;

        let query = "query($from: Date, $to: Date, $interval: HistoryInterval!, $account: ID!) {
            portfolio { valueHistory(from: $from, to: $to, interval: $interval) { date currency marketValue costBasis observed } }
            node(id: $account) { ... on Account { valueHistory(from: $from, to: $to, interval: $interval) { date marketValue observed } } }
        }";
        let vars = |from: &str, to: &str, interval: &str| {
            json!({ "from": from, "to": to, "interval": interval, "account": gid(NodeKind::Account, s.ira.id) })
        };
        let data = app
            .query(&token, query, vars("2024-12-31", "2025-01-06", "DAY"))
            .await;
        let points: Vec<(String, String, String, bool)> = data["portfolio"]["valueHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["date"].as_str().unwrap().to_owned(),
                    p["marketValue"].as_str().unwrap().to_owned(),
                    p["costBasis"].as_str().unwrap().to_owned(),
                    p["observed"].as_bool().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, String, String, bool)> = [
            ("2025-01-01", "1000", "900", true),
            ("2025-01-02", "1010", "900", false),
            ("2025-01-03", "1160", "900", false),
            ("2025-01-04", "1160", "900", false),
            ("2025-01-05", "70", "0", false),
            ("2025-01-06", "70", "0", false),
        ]
        .iter()
        .map(|(d, v, b, o)| ((*d).to_owned(), (*v).to_owned(), (*b).to_owned(), *o))
        .collect();
        assert_eq!(points, expected);
        let account: Vec<(Value, Value)> = data["node"]["valueHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["date"].clone(), p["observed"].clone()))
            .collect();
        assert_eq!(account[0], (json!("2025-01-02"), json!(true)));
        assert_eq!(account[1], (json!("2025-01-03"), json!(false)));
        assert_eq!(account.len(), 5);

        let weekly = app
            .query(&token, query, vars("2025-01-01", "2025-01-14", "WEEK"))
            .await;
        let dates: Vec<&str> = weekly["portfolio"]["valueHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["date"].as_str().unwrap())
            .collect();
        assert_eq!(dates, ["2025-01-05", "2025-01-12", "2025-01-14"]);
        let monthly = app
            .query(&token, query, vars("2024-12-01", "2025-02-10", "MONTH"))
            .await;
        let dates: Vec<&str> = monthly["portfolio"]["valueHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["date"].as_str().unwrap())
            .collect();
        assert_eq!(dates, ["2025-01-31", "2025-02-10"]);

        let (_, body) = app
            .post(Some(&token), query, vars("2025-02-01", "2025-01-01", "DAY"))
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        // Every figure over a period refuses a reversed one.
        for field in [
            "returns(from: \"2025-02-01\", to: \"2025-01-01\") { currency }",
            "realizedGains(from: \"2025-02-01\", to: \"2025-01-01\") { totals { currency } }",
            "incomeAndCosts(from: \"2025-02-01\", to: \"2025-01-01\") { month }",
        ] {
            let (_, body) = app
                .post(Some(&token), &format!("{{ portfolio {{ {field} }} }}"), json!({}))
                .await;
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{field}");
        }
        let (_, body) = app
            .post(
                Some(&token),
                "{ portfolio { valueHistory(from: \"2000-01-01\", to: \"2025-01-01\") { date } } }",
                json!({}),
            )
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    })
    .await;
}

/// The worked example of docs/features/analytics.md.
#[tokio::test]
async fn returns_worked_example() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let (_, account) = f.brokerage("ins_109508", "First Platypus Bank").await;
        let fund = f
            .security(SecuritySpec::usd(
                "sec-fund",
                Some("Index Fund"),
                Some("IDX"),
                "etf",
            ))
            .await;
        for (day, value) in [
            ("2025-03-01", "1000"),
            ("2025-03-02", "1020"),
            ("2025-03-03", "1050"),
            ("2025-03-04", "1550"),
            ("2025-03-05", "1581"),
        ] {
            f.snapshot(&account, &fund, day, "10", "1", value, Some("900"), None)
                .await;
        }
        let tx = |key: &str, date, ty, sub, amount| TxSpec {
            key: key.to_owned(),
            account: &account,
            security: None,
            date,
            name: "flow",
            transaction_type: ty,
            subtype: sub,
            amount,
            quantity: "0",
        };
        f.transactions(&[
            // The external flow: 500 deposited at the end of March 4.
            tx("deposit", "2025-03-04", "cash", "deposit", "-500"),
            // Income is return, not a flow.
            tx("dividend", "2025-03-02", "cash", "dividend", "-5"),
            // Cancelled: left out.
            tx("cancelled", "2025-03-03", "cash", "deposit", "-1000"),
            // On the first day: already in the start value.
            tx("before", "2025-03-01", "cash", "deposit", "-100"),
        ])
        .await;
        f.cancel("cancelled").await;

        let data = app
            .query(
                &token,
                "{ portfolio { returns(from: \"2025-03-01\", to: \"2025-03-05\") {
                    currency from to startValue endValue netFlows gain
                    simpleReturn timeWeightedReturn moneyWeightedReturn } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["portfolio"]["returns"],
            json!([{
                "currency": "USD", "from": "2025-03-01", "to": "2025-03-05",
                "startValue": "1000", "endValue": "1581", "netFlows": "500", "gain": "81",
                "simpleReturn": "8.1000", "timeWeightedReturn": "7.1000",
                "moneyWeightedReturn": "7.2000"
            }])
        );

        // Before the first snapshot the value is unknown: the period starts there.
        let data = app
            .query(
                &token,
                "{ portfolio { returns(from: \"2025-01-01\", to: \"2025-03-05\") {
                    from startValue netFlows timeWeightedReturn moneyWeightedReturn } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["portfolio"]["returns"],
            json!([{
                "from": "2025-03-01", "startValue": "1000", "netFlows": "500",
                "timeWeightedReturn": "7.1000", "moneyWeightedReturn": "7.2000"
            }])
        );
    })
    .await;
}

#[tokio::test]
async fn realized_gains_by_average_cost() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let (_, account) = f.brokerage("ins_109508", "First Platypus Bank").await;
        let xyz = f
            .security(SecuritySpec::usd("sec-xyz", Some("XYZ Corp"), Some("XYZ"), "equity"))
            .await;
        let tx = |key: &str, date, ty, amount, quantity| TxSpec {
            key: key.to_owned(),
            account: &account,
            security: Some(&xyz),
            date,
            name: "trade",
            transaction_type: ty,
            subtype: ty,
            amount,
            quantity,
        };
        f.transactions(&[
            tx("b1", "2025-01-10", "buy", "1000", "10"),
            tx("b2", "2025-02-10", "buy", "1400", "10"),
            // Partial sell: 5 of 20 at an average cost of 120.
            tx("s1", "2025-03-10", "sell", "-700", "-5"),
            // Cancelled sell: ignored.
            tx("s-x", "2025-03-20", "sell", "-9999", "-15"),
            // Full sell: the remaining 15 (cost 1800) closes the position.
            tx("s2", "2025-04-10", "sell", "-1650", "-15"),
            // Re-buy, then a partial sell at the new average (125).
            tx("b3", "2025-05-10", "buy", "500", "4"),
            tx("s3", "2025-06-10", "sell", "-150", "-1"),
        ])
        .await;
        f.cancel("s-x").await;

        let query = "query($from: Date!, $to: Date!) { portfolio { realizedGains(from: $from, to: $to) {
            totals { currency proceeds costBasis realizedGain }
            positions { security { tickerSymbol } account { name } currency sells quantitySold proceeds costBasis realizedGain quantityWithoutBasis }
            closedPositions { security { tickerSymbol } openedOn closedOn quantity proceeds costBasis realizedGain }
        } } }";
        let year = app
            .query(&token, query, json!({ "from": "2025-01-01", "to": "2025-12-31" }))
            .await;
        let r = &year["portfolio"]["realizedGains"];
        assert_eq!(
            r["positions"],
            json!([{
                "security": { "tickerSymbol": "XYZ" }, "account": { "name": "Brokerage" },
                "currency": "USD", "sells": 3, "quantitySold": "21", "proceeds": "2500",
                "costBasis": "2525", "realizedGain": "-25", "quantityWithoutBasis": "0"
            }])
        );
        assert_eq!(
            r["closedPositions"],
            json!([{
                "security": { "tickerSymbol": "XYZ" }, "openedOn": "2025-01-10",
                "closedOn": "2025-04-10", "quantity": "20", "proceeds": "2350",
                "costBasis": "2400", "realizedGain": "-50"
            }])
        );
        assert_eq!(
            r["totals"],
            json!([{ "currency": "USD", "proceeds": "2500", "costBasis": "2525", "realizedGain": "-25" }])
        );

        // From April: the earlier buys still set the cost, only the later sells count.
        let spring = app
            .query(&token, query, json!({ "from": "2025-04-01", "to": "2025-12-31" }))
            .await;
        let r = &spring["portfolio"]["realizedGains"];
        assert_eq!(r["positions"][0]["sells"], 2);
        assert_eq!(r["positions"][0]["proceeds"], "1800");
        assert_eq!(r["positions"][0]["costBasis"], "1925");
        assert_eq!(r["positions"][0]["realizedGain"], "-125");
        assert_eq!(r["closedPositions"][0]["openedOn"], "2025-01-10");
    })
    .await;
}

#[tokio::test]
async fn transaction_summary_by_every_grouping() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let query = "query($by: [TransactionGroupBy!]!, $f: InvestmentTransactionFilter) {
            investmentTransactionSummary(groupBy: $by, filter: $f) {
                month year type subtype security { tickerSymbol } account { name }
                institutionId institutionName currency count amount fees quantity
            } }";
        let rows = |data: &Value| -> Vec<Value> {
            data["investmentTransactionSummary"].as_array().unwrap().clone()
        };
        let pick = |rows: &[Value], key: &str| -> Vec<(Value, i64, String)> {
            rows.iter()
                .map(|r| {
                    (
                        r[key].clone(),
                        r["count"].as_i64().unwrap(),
                        r["amount"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        };

        let all = rows(&app.query(&token, query, json!({ "by": [] })).await);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["currency"], "USD");
        assert_eq!(all[0]["count"], 12);
        assert_eq!(all[0]["amount"], "2563.00");
        assert_eq!(all[0]["month"], Value::Null);

        let by_type = rows(&app.query(&token, query, json!({ "by": ["TYPE"] })).await);
        assert_eq!(
            pick(&by_type, "type"),
            vec![
                (json!("buy"), 4, "2763.25".to_owned()),
                (json!("cash"), 5, "-110.26".to_owned()),
                (json!("fee"), 1, "10".to_owned()),
                (json!("sell"), 1, "-99.99".to_owned()),
                (json!("transfer"), 1, "0".to_owned()),
            ]
        );
        let by_month = rows(&app.query(&token, query, json!({ "by": ["MONTH"] })).await);
        assert_eq!(
            pick(&by_month, "month"),
            vec![
                (json!("2024-01"), 2, "2500.75".to_owned()),
                (json!("2024-02"), 2, "0.5".to_owned()),
                (json!("2024-03"), 3, "-89.5".to_owned()),
                (json!("2024-04"), 2, "249.99".to_owned()),
                (json!("2024-05"), 3, "-98.74".to_owned()),
            ]
        );
        let by_year = rows(&app.query(&token, query, json!({ "by": ["YEAR"] })).await);
        assert_eq!(pick(&by_year, "year"), vec![(json!(2024), 12, "2563.00".to_owned())]);
        let by_institution = rows(&app.query(&token, query, json!({ "by": ["INSTITUTION"] })).await);
        assert_eq!(
            pick(&by_institution, "institutionName"),
            vec![
                (json!("First Platypus Bank"), 8, "2513.00".to_owned()),
                (json!("Tartan Bank"), 4, "50.00".to_owned()),
            ]
        );
        let by_account = rows(&app.query(&token, query, json!({ "by": ["ACCOUNT"] })).await);
        assert_eq!(by_account.len(), 4);
        assert_eq!(
            by_account.iter().map(|r| r["count"].as_i64().unwrap()).sum::<i64>(),
            12
        );
        let by_security = rows(&app.query(&token, query, json!({ "by": ["SECURITY", "SUBTYPE"] })).await);
        let aapl: Vec<(Value, i64, String)> = by_security
            .iter()
            .filter(|r| r["security"]["tickerSymbol"] == "AAPL")
            .map(|r| (r["subtype"].clone(), r["count"].as_i64().unwrap(), r["quantity"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            aapl,
            vec![
                (json!("buy"), 1, "10".to_owned()),
                (json!("dividend"), 1, "0".to_owned()),
                (json!("tax withheld"), 1, "0".to_owned()),
            ]
        );
        // Cash-only transactions have no security.
        assert!(by_security.iter().any(|r| r["security"].is_null() && r["subtype"] == "account fee"));

        // Filters apply, and cancelled transactions are left out.
        let filtered = rows(
            &app.query(&token, query, json!({ "by": ["TYPE"], "f": { "accountIds": [gid(NodeKind::Account, s.brokerage.id)] } }))
                .await,
        );
        assert_eq!(filtered.iter().map(|r| r["count"].as_i64().unwrap()).sum::<i64>(), 6);
        Fixture::new(&app, user).cancel("t04").await;
        let after_cancel = rows(&app.query(&token, query, json!({ "by": ["TYPE"] })).await);
        assert!(after_cancel.iter().all(|r| r["type"] != "fee"));

        // The named monthly series.
        let data = app
            .query(
                &token,
                "{ portfolio { incomeAndCosts(from: \"2024-01-01\", to: \"2024-12-31\") {
                    month currency dividends interest capitalGains fees taxes contributions withdrawals } } }",
                json!({}),
            )
            .await;
        let months = data["portfolio"]["incomeAndCosts"].as_array().unwrap();
        let month = |m: &str| months.iter().find(|r| r["month"] == m).unwrap().clone();
        assert_eq!(month("2024-02")["dividends"], "9.5");
        assert_eq!(month("2024-02")["fees"], "0"); // the fee was cancelled above
        assert_eq!(month("2024-03")["contributions"], "102");
        assert_eq!(month("2024-04")["interest"], "0.01");
        assert_eq!(month("2024-05")["taxes"], "1.25");
        assert_eq!(month("2024-01")["dividends"], "0");
    })
    .await;
}

#[tokio::test]
async fn security_price_history_and_transactions() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let f = Fixture::new(&app, user);
        f.snapshot(&s.brokerage, &s.aapl, "2024-05-01", "10", "170.25", "1702.50", None, Some("170.1"))
            .await;
        f.snapshot(&s.brokerage, &s.aapl, "2024-05-02", "10", "171", "1710", None, None)
            .await;
        // Another account's snapshot of the same day: the lowest account id stands.
        f.snapshot(&s.ira, &s.aapl, "2024-05-02", "1", "171.5", "171.5", None, None)
            .await;
        let data = app
            .query(
                &token,
                "query($id: ID!) { node(id: $id) { ... on Security {
                    priceHistory(from: \"2024-05-01\", to: \"2024-05-31\") { date price source }
                    transactions(first: 2) { totalCount nodes { name } pageInfo { hasNextPage } }
                    holdings { quantity }
                } } }",
                json!({ "id": gid(NodeKind::Security, s.aapl.id) }),
            )
            .await;
        let security = &data["node"];
        let first_is_brokerage = s.brokerage.id < s.ira.id;
        assert_eq!(
            security["priceHistory"],
            json!([
                { "date": "2024-05-01", "price": "170.25", "source": "INSTITUTION" },
                { "date": "2024-05-01", "price": "170.1", "source": "CLOSE" },
                { "date": "2024-05-02", "price": if first_is_brokerage { "171" } else { "171.5" }, "source": "INSTITUTION" },
                { "date": "2024-05-30", "price": "1.5", "source": "CLOSE" },
            ])
        );
        assert_eq!(security["transactions"]["totalCount"], 3);
        assert_eq!(
            security["transactions"]["nodes"],
            json!([{ "name": "Tax withheld on dividend" }, { "name": "DIVIDEND Apple Inc." }])
        );
        assert_eq!(security["transactions"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(security["holdings"], json!([{ "quantity": "10" }]));
    })
    .await;
}

const DASHBOARD: &str = "{ portfolio {
    totals { currency marketValue costBasis unrealizedGain weight }
    bySecurityType { securityType currency marketValue weight }
    valueHistory(interval: MONTH) { date currency marketValue observed }
    incomeAndCosts { month currency dividends interest fees }
} }";

#[tokio::test]
async fn cached_figures_last_until_the_next_sync() {
    use crate::plaid_support::{REFRESH, on_each_backend_linked};
    use investments::db::entities::investment_holdings;
    use investments::plaid::simulator::SimulatorConfig;

    let config = SimulatorConfig {
        transactions_per_item: 200,
        ..Default::default()
    };
    on_each_backend_linked(config, |app, token, item| async move {
        // The dashboard in one request, computed once...
        let before = app.statement_count();
        let cold = app.query(&token, DASHBOARD, json!({})).await;
        let cold_statements = app.statement_count() - before;
        assert!(
            !cold["portfolio"]["valueHistory"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(
            !cold["portfolio"]["incomeAndCosts"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // ...then served from the cache: the data version (the token is cached too),
        // even after the rows change behind the API's back (no sync, no new version).
        investment_holdings::Entity::update_many()
            .col_expr(
                investment_holdings::Column::InstitutionValue,
                Expr::value(investments::db::Numeric(dec("1"))),
            )
            .exec(&app.db)
            .await
            .unwrap();
        let before = app.statement_count();
        let warm = app.query(&token, DASHBOARD, json!({})).await;
        assert_eq!(app.statement_count() - before, 1, "the data version");
        assert!(cold_statements > 2);
        assert_eq!(warm, cold);

        // A sync invalidates: a sold position and Plaid's values are back.
        let plaid = app.simulator().data(&item.plaid_item_id).unwrap();
        let sold = &plaid.holdings[0];
        assert!(app.simulator().sell_position(
            &item.plaid_item_id,
            &sold.account_id,
            &sold.security_id
        ));
        app.query(&token, REFRESH, json!({ "id": item.id })).await;
        let fresh = app.query(&token, DASHBOARD, json!({})).await;
        let currency_of = |h: &investments::plaid::types::Holding| {
            h.iso_currency_code
                .clone()
                .or_else(|| h.unofficial_currency_code.clone())
                .unwrap()
        };
        let currency = currency_of(sold);
        let total_of = |data: &Value| {
            data["portfolio"]["totals"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["currency"] == currency.as_str())
                .map(|t| dec(t["marketValue"].as_str().unwrap()))
                .unwrap_or_default()
        };
        let expected: Decimal = app
            .simulator()
            .data(&item.plaid_item_id)
            .unwrap()
            .holdings
            .iter()
            .filter(|h| currency_of(h) == currency)
            .map(|h| h.institution_value)
            .sum();
        assert_eq!(total_of(&fresh), expected);
        assert_eq!(total_of(&cold) - sold.institution_value, expected);
    })
    .await;
}

/// Figures beyond `Decimal`'s 28 digits answer a clear error, on both databases, instead
/// of a panic, a float or a wrapped number.
#[tokio::test]
async fn a_total_too_large_to_be_exact_is_an_overflow_error() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let f = Fixture::new(&app, user);
        let item = f.item("item-big", "ins_109508", "Big Bank").await;
        let security = f
            .security(SecuritySpec::usd(
                "sec-big",
                Some("Big"),
                Some("BIG"),
                "equity",
            ))
            .await;
        // Two holdings of 5 × 10^28 each: their sum, 10^29, is beyond 7.9 × 10^28.
        for key in ["acc-a", "acc-b"] {
            let account = f.account(&item, key, key, "investment", "brokerage").await;
            f.holding(
                &account,
                &security,
                "1",
                "50000000000000000000000000000",
                None,
            )
            .await;
        }
        let code = app
            .error_code(
                &token,
                "{ portfolio { totals { currency marketValue } } }",
                json!({}),
            )
            .await;
        assert_eq!(code, "ARITHMETIC_OVERFLOW");
    })
    .await;
}

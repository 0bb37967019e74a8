//! Portfolio totals: one entry per currency, groupings by account, institution and security
//! type, holdings without cost basis counted and kept out of gain.

use investments::auth::Scope;
use investments::graphql::ids::NodeKind;
use serde_json::json;

use crate::common::on_each_backend_as;
use crate::fixtures::{Standard, gid};

const FIGURES: &str = "currency marketValue costBasis unrealizedGain unrealizedGainPercent holdingsCount holdingsWithoutCostBasis";

#[tokio::test]
async fn totals_per_currency_and_group() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        let s = Standard::seed(&app, user).await;
        let query = format!(
            "query($f: PortfolioFilter) {{ portfolio(filter: $f) {{
                totals {{ {FIGURES} }}
                byAccount {{ account {{ name }} {FIGURES} }}
                byInstitution {{ institutionId institutionName {FIGURES} }}
                bySecurityType {{ securityType {FIGURES} }}
            }} }}"
        );
        let data = app.query(&token, &query, json!({ "f": null })).await;
        let p = &data["portfolio"];
        assert_eq!(
            p["totals"],
            json!([
                { "currency": "BTC", "marketValue": "0.00293644", "costBasis": "0.002",
                  "unrealizedGain": "0.00093644", "unrealizedGainPercent": "46.8220",
                  "holdingsCount": 1, "holdingsWithoutCostBasis": 0 },
                { "currency": "USD", "marketValue": "3120.25", "costBasis": "1522.0",
                  "unrealizedGain": "398.00", "unrealizedGainPercent": "26.1498",
                  "holdingsCount": 4, "holdingsWithoutCostBasis": 1 },
            ])
        );
        let by_account: Vec<(String, String, String)> = p["byAccount"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["account"]["name"].as_str().unwrap().to_owned(),
                    g["currency"].as_str().unwrap().to_owned(),
                    g["marketValue"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            by_account,
            [
                ("Crypto Exchange".into(), "BTC".into(), "0.00293644".into()),
                ("Brokerage".into(), "USD".into(), "3100.75".into()),
                ("Plaid IRA".into(), "USD".into(), "10".into()),
                ("Plaid 401k".into(), "USD".into(), "9.5".into()),
            ]
        );
        let brokerage = &p["byAccount"][1];
        assert_eq!(brokerage["costBasis"], "1500");
        assert_eq!(brokerage["unrealizedGain"], "400.50");
        assert_eq!(brokerage["holdingsWithoutCostBasis"], 1);
        let ira = &p["byAccount"][2];
        assert_eq!(ira["unrealizedGain"], "-2.5");
        assert_eq!(ira["unrealizedGainPercent"], "-20.0000");

        let by_institution: Vec<(String, String, String)> = p["byInstitution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["institutionName"].as_str().unwrap().to_owned(),
                    g["currency"].as_str().unwrap().to_owned(),
                    g["marketValue"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            by_institution,
            [
                ("Tartan Bank".into(), "BTC".into(), "0.00293644".into()),
                ("First Platypus Bank".into(), "USD".into(), "3110.75".into()),
                ("Tartan Bank".into(), "USD".into(), "9.5".into()),
            ]
        );
        let types: Vec<(String, String)> = p["bySecurityType"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["securityType"].as_str().unwrap().to_owned(),
                    g["marketValue"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            types,
            [
                ("cryptocurrency".into(), "0.00293644".into()),
                ("equity".into(), "1900.50".into()),
                ("etf".into(), "1200.25".into()),
                ("mutual fund".into(), "10".into()),
                ("cash".into(), "9.5".into()),
            ]
        );

        // Filtered by account, item or institution.
        for filter in [
            json!({ "accountIds": [gid(NodeKind::Account, s.k401.id)] }),
            json!({ "itemIds": [gid(NodeKind::PlaidItem, s.item_b.id)], "accountIds": [gid(NodeKind::Account, s.k401.id)] }),
            json!({ "institutionIds": ["ins_109511"], "accountIds": [gid(NodeKind::Account, s.k401.id), gid(NodeKind::Account, s.brokerage.id)] }),
        ] {
            let data = app.query(&token, &query, json!({ "f": filter })).await;
            assert_eq!(
                data["portfolio"]["totals"],
                json!([{ "currency": "USD", "marketValue": "9.5", "costBasis": "9.5",
                         "unrealizedGain": "0.0", "unrealizedGainPercent": "0.0000",
                         "holdingsCount": 1, "holdingsWithoutCostBasis": 0 }]),
                "{filter}"
            );
        }
        let data = app
            .query(&token, &query, json!({ "f": { "institutionIds": ["ins_109508"] } }))
            .await;
        assert_eq!(data["portfolio"]["totals"][0]["marketValue"], "3110.75");
    })
    .await;
}

#[tokio::test]
async fn holding_gain_fields() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (user, token) = app.viewer();
        Standard::seed(&app, user).await;
        let data = app
            .query(
                &token,
                "{ holdings { nodes { security { tickerSymbol } costBasis unrealizedGain unrealizedGainPercent currency } } }",
                json!({}),
            )
            .await;
        let nodes = data["holdings"]["nodes"].as_array().unwrap();
        assert_eq!(nodes[0]["unrealizedGain"], "400.50");
        assert_eq!(nodes[0]["unrealizedGainPercent"], "26.7000");
        assert_eq!(nodes[1]["costBasis"], json!(null));
        assert_eq!(nodes[1]["unrealizedGain"], json!(null));
        assert_eq!(nodes[4]["currency"], "BTC");
    })
    .await;
}

//! Every root field, nested field and `node(id:)` lookup is limited to the caller's data:
//! another user's ids behave exactly as ids that do not exist.

use investments::auth::Scope;
use investments::graphql::ids::NodeKind;
use serde_json::{Value, json};

use crate::common::on_each_backend_as;
use crate::fixtures::{Standard, gid};

const EVERYTHING: &str = r#"{
  viewer { id name apiTokens { id } }
  items(first: 500) { totalCount nodes { id plaidItemId accounts { id } } }
  accounts(first: 500) { totalCount nodes { id plaidAccountId holdings { id } item { id } } }
  securities(first: 500) { totalCount nodes { id plaidSecurityId holdings { id account { id } } } }
  holdings(first: 500) { totalCount nodes { id account { id } security { id } } }
  investmentTransactions(first: 500) { totalCount nodes { id plaidInvestmentTransactionId account { id } security { id } } }
  portfolio { totals { currency marketValue holdingsCount } byAccount { account { id } marketValue } }
}"#;

/// Every id and Plaid id in a response.
fn ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if (k == "id" || k.starts_with("plaid"))
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_owned());
                }
                ids(v, out);
            }
        }
        Value::Array(list) => list.iter().for_each(|v| ids(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn each_user_sees_only_their_own_data() {
    on_each_backend_as("alice", Scope::Read, |app| async move {
        let (alice, alice_token) = app.viewer();
        let (bob, bob_token) = app.user("bob", Scope::Read).await;
        let a = Standard::seed(&app, alice).await;
        Standard::seed(&app, bob).await;

        let alice_view = app.query(&alice_token, EVERYTHING, json!({})).await;
        let bob_view = app.query(&bob_token, EVERYTHING, json!({})).await;
        for view in [&alice_view, &bob_view] {
            assert_eq!(view["items"]["totalCount"], 2);
            assert_eq!(view["accounts"]["totalCount"], 4);
            assert_eq!(view["securities"]["totalCount"], 5);
            assert_eq!(view["holdings"]["totalCount"], 5);
            assert_eq!(view["investmentTransactions"]["totalCount"], 12);
            assert_eq!(view["viewer"]["apiTokens"].as_array().unwrap().len(), 1);
            assert_eq!(view["portfolio"]["totals"][1]["holdingsCount"], 4);
        }
        let (mut alice_ids, mut bob_ids) = (Vec::new(), Vec::new());
        ids(&alice_view, &mut alice_ids);
        ids(&bob_view, &mut bob_ids);
        assert!(alice_ids.len() > 50);
        let shared: Vec<&String> = alice_ids.iter().filter(|id| bob_ids.contains(id)).collect();
        assert!(shared.is_empty(), "ids seen by both users: {shared:?}");

        // node(id:) on every kind: alice's ids are null for bob, exactly like ids that do
        // not exist.
        let node = "query($id: ID!) { node(id: $id) { id __typename } }";
        let alice_objects = [
            gid(NodeKind::User, alice),
            gid(NodeKind::PlaidItem, a.item_a.id),
            gid(NodeKind::Account, a.brokerage.id),
            gid(NodeKind::Security, a.aapl.id),
            alice_view["holdings"]["nodes"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            alice_view["investmentTransactions"]["nodes"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            alice_view["viewer"]["apiTokens"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        ];
        for id in &alice_objects {
            let own = app.query(&alice_token, node, json!({ "id": id })).await;
            assert_eq!(own["node"]["id"], *id, "alice resolves her own {id}");
            let (status, other) = app.post(Some(&bob_token), node, json!({ "id": id })).await;
            let (_, missing) = app
                .post(
                    Some(&bob_token),
                    node,
                    json!({ "id": gid(NodeKind::Account, 999_999) }),
                )
                .await;
            assert_eq!(status, 200);
            assert_eq!(other, json!({ "data": { "node": null } }), "{id}");
            assert_eq!(other, missing, "same answer as an id that does not exist");
        }

        // Filters naming alice's ids find nothing for bob.
        let filtered = app
            .query(
                &bob_token,
                r#"query($acc: [ID!], $item: [ID!], $sec: [ID!]) {
                    t: investmentTransactions(filter: {accountIds: $acc}) { totalCount }
                    i: investmentTransactions(filter: {itemIds: $item}) { totalCount }
                    s: investmentTransactions(filter: {securityIds: $sec}) { totalCount }
                    h: holdings(filter: {accountIds: $acc}) { totalCount }
                    a: accounts(filter: {itemIds: $item}) { totalCount }
                    p: portfolio(filter: {itemIds: $item}) { totals { marketValue } }
                }"#,
                json!({
                    "acc": [gid(NodeKind::Account, a.brokerage.id)],
                    "item": [gid(NodeKind::PlaidItem, a.item_a.id)],
                    "sec": [gid(NodeKind::Security, a.aapl.id)],
                }),
            )
            .await;
        for key in ["t", "i", "s", "h", "a"] {
            assert_eq!(filtered[key]["totalCount"], 0, "{key}");
        }
        assert_eq!(filtered["p"]["totals"], json!([]));

        // Revoking someone else's token is NOT_FOUND, like a token that does not exist.
        let (_, bob_writer) = app.user("bob", Scope::Write).await;
        let revoke = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { revokedTokenId } }";
        let alice_token_id = alice_view["viewer"]["apiTokens"][0]["id"].clone();
        assert_eq!(
            app.error_code(&bob_writer, revoke, json!({ "id": alice_token_id }))
                .await,
            "NOT_FOUND"
        );
        let still = app
            .query(&alice_token, "{ viewer { name } }", json!({}))
            .await;
        assert_eq!(still["viewer"]["name"], "alice");
    })
    .await;
}

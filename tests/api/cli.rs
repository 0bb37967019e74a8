//! The binary: `export-schema` prints the committed SDL; `token create` prints only a token
//! that the server then accepts.

use std::process::Command;

use serde_json::json;

use crate::common::post_graphql;
use crate::plaid_support::set_scenario;

const BIN: &str = env!("CARGO_BIN_EXE_investments");

#[test]
fn export_schema_prints_the_committed_schema() {
    let out = Command::new(BIN)
        .arg("export-schema")
        .output()
        .expect("run");
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

#[tokio::test]
async fn token_create_prints_only_a_working_token() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let out = Command::new(BIN)
        .args(["token", "create", "--user", "carol", "--scope", "read"])
        .env("DATABASE_URL", &url)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {stdout:?}");
    let token = lines[0];

    let conn = investments::db::connect(&investments::db::DbConfig::new(&url))
        .await
        .unwrap();
    let viewer = investments::auth::authenticate(&conn, token)
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
    assert_eq!(viewer.scope, investments::auth::Scope::Read);
    let user = investments::db::users::find(&conn, viewer.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.name, "carol");
    let _ = json!({});
}

/// `investments sync` syncs every item and exits non-zero when any failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_command_exit_code() {
    use investments::plaid::simulator::{Simulator, SimulatorConfig};
    use migration::MigratorTrait;

    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cron.db").display());
    let db = investments::db::connect(&investments::db::DbConfig::new(&url))
        .await
        .unwrap();
    migration::Migrator::up(&db, None).await.unwrap();
    let sync = crate::common::sync_service(&db, &simulator, None);
    let users = investments::db::unscoped::Unscoped::new(&db).users();
    let user = users.find_or_create("cron").await.unwrap();
    let owner = users.scope_of(user.id);
    let mut items = Vec::new();
    for institution in ["ins_109508", "ins_109511"] {
        let outcome = sync.sandbox_link(&owner, institution, None).await.unwrap();
        items.push(outcome.item.plaid_item_id);
    }
    let run = |simulator: &Simulator| {
        Command::new(BIN)
            .arg("sync")
            .env("DATABASE_URL", &url)
            .env("PLAID_ENV", "sandbox")
            .env("PLAID_BASE_URL", simulator.url())
            .env("PLAID_CLIENT_ID", &simulator.config().client_id)
            .env("PLAID_SECRET", &simulator.config().secret)
            .env(
                "INVESTMENTS_ENCRYPTION_KEY",
                crate::common::TEST_ENCRYPTION_KEY,
            )
            .output()
            .expect("run")
    };
    // The binary blocks this thread; the simulator serves from a runtime of its own.
    let out = tokio::task::block_in_place(|| run(&simulator));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 items, 0 failed"), "{stdout}");

    set_scenario(&simulator, &items[1], |s| s.login_required = true);
    let out = tokio::task::block_in_place(|| run(&simulator));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("ITEM_LOGIN_REQUIRED") && stdout.contains("2 items, 1 failed"),
        "{stdout}"
    );
}

/// The offline demo: two items linked and synced, the printed token queries both
/// holdings and transactions, and GraphiQL gets the token from the printed URL's fragment,
/// never from the page (which any origin could fetch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_synced_sample_data() {
    let dir = tempfile::tempdir().unwrap();
    let demo = investments::demo::prepare(&investments::demo::DemoOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_file: dir.path().join("demo.db"),
        seed: 42,
    })
    .await
    .unwrap();
    let address = demo.address;
    let token = demo.token.clone();
    let _simulator = demo.simulator;
    let graphiql_url = demo.graphiql_url.clone();
    tokio::spawn(async move { axum::serve(demo.listener, demo.router).await.unwrap() });
    let client = reqwest::Client::new();
    let page = client
        .get(format!("http://{address}/graphiql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&token), "the token is in no served page");
    assert!(
        page.contains("window.location.hash"),
        "the page reads the fragment"
    );
    assert_eq!(
        graphiql_url,
        format!("http://{address}/graphiql#token={token}")
    );
    let base_url = format!("http://{address}");
    let (_, body) = post_graphql(
        &client,
        &base_url,
        Some(&token),
        &json!({ "query": "{ items { totalCount nodes { institutionName status } } holdings { totalCount } investmentTransactions { totalCount } }" }),
    )
    .await;
    let data = &body["data"];
    assert_eq!(data["items"]["totalCount"], 2, "{body}");
    assert!(data["holdings"]["totalCount"].as_i64().unwrap() > 0);
    assert!(
        data["investmentTransactions"]["totalCount"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert_ne!(
        data["items"]["nodes"][0]["institutionName"],
        data["items"]["nodes"][1]["institutionName"]
    );

    // The printed dashboard query answers in one request, with a year of weekly history
    // (the demo's backfill) and returns over that year.
    let query = json!({ "query": investments::demo::DASHBOARD_QUERY });
    let (_, body) = post_graphql(&client, &base_url, Some(&token), &query).await;
    assert!(body.get("errors").is_none(), "{body}");
    let portfolio = &body["data"]["portfolio"];
    let history = portfolio["valueHistory"].as_array().unwrap();
    assert!(history.len() >= 52, "{} weekly points", history.len());
    assert!(history.iter().all(|p| p["observed"] == true));
    assert_eq!(
        history.last().unwrap()["marketValue"],
        portfolio["totals"][0]["marketValue"]
    );
    assert!(
        portfolio["returns"][0]["timeWeightedReturn"].is_string(),
        "{body}"
    );
    assert!(!portfolio["incomeAndCosts"].as_array().unwrap().is_empty());
}

//! `GET /metrics` over real HTTP, its token, and the `x-request-id` header, on SQLite and
//! PostgreSQL. The recorder is one per test process and other tests run alongside: exact
//! counts are asserted on series with this test's own operation names, the rest as growth
//! between two scrapes.

use std::collections::{BTreeMap, HashMap};

use investments::auth::Scope;
use investments::http::HttpOptions;
use investments::plaid::client::Secret;
use investments::plaid::simulator::SimulatorConfig;
use serde_json::json;

use crate::common::{TestApp, backends, on_each_backend, on_each_backend_with_plaid};
use crate::plaid_support::{REFRESH, link, set_scenario};

/// A scrape: every series by name and labels, and the page itself.
struct Scrape {
    series: HashMap<(String, BTreeMap<String, String>), f64>,
    text: String,
}

impl Scrape {
    fn parse(text: String) -> Scrape {
        let mut series = HashMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (key, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = match key.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (key, ""),
            };
            let labels = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("label=value");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            let value: f64 = value.parse().expect("a number");
            series.insert((name.to_owned(), labels), value);
        }
        Scrape { series, text }
    }

    /// The sum of the series of `name` having (at least) `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.series
            .iter()
            .filter(|((n, l), _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

async fn scrape(app: &TestApp, headers: &[(&str, &str)]) -> Scrape {
    let response = app.get("/metrics", headers).await;
    assert_eq!(response.status().as_u16(), 200, "[{:?}]", app.backend);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    Scrape::parse(response.text().await.unwrap())
}

fn tag() -> String {
    use rand::Rng;
    format!("{:08x}", rand::rng().random::<u32>())
}

#[tokio::test]
async fn syncs_plaid_calls_graphql_requests_cache_and_pool_are_counted() {
    let config = SimulatorConfig {
        transactions_per_item: 40,
        ..Default::default()
    };
    on_each_backend_with_plaid(config, |app| async move {
        let tag = tag();
        let (_, write) = app.user("metrics", Scope::Write).await;
        let (_, read) = app.user("metrics", Scope::Read).await;
        let before = scrape(&app, &[]).await;

        // A sync at linking, then two named queries of the same analytics figure.
        let item = link(&app, &write, "ins_109508").await;
        let ok = format!("MetricsOk{tag}");
        let query = format!("query {ok} {{ portfolio {{ totals {{ currency marketValue }} }} }}");
        app.query(&read, &query, json!({})).await;
        app.query(&read, &query, json!({})).await;
        // A refresh refused to a read token, then one that fails at Plaid.
        let refresh = format!("MetricsRefresh{tag}");
        let mutation = REFRESH.replacen("mutation(", &format!("mutation {refresh}("), 1);
        let vars = json!({ "id": item.id });
        assert_eq!(
            app.error_code(&read, &mutation, vars.clone()).await,
            "FORBIDDEN"
        );
        set_scenario(app.simulator(), &item.plaid_item_id, |s| {
            s.login_required = true
        });
        assert_eq!(
            app.error_code(&write, &mutation, vars).await,
            "ITEM_LOGIN_REQUIRED"
        );

        let after = scrape(&app, &[]).await;
        let grew = |name: &str, labels: &[(&str, &str)]| {
            after.sum(name, labels) - before.sum(name, labels)
        };

        // GraphQL: exact, on this test's own operation names.
        let requests = "investments_graphql_requests_total";
        assert_eq!(
            after.sum(requests, &[("operation", &ok), ("code", "OK")]),
            2.0
        );
        assert_eq!(after.sum(requests, &[("operation", &ok)]), 2.0);
        let refreshes = [("operation", refresh.as_str())];
        assert_eq!(
            after.sum(requests, &[refreshes[0], ("code", "FORBIDDEN")]),
            1.0
        );
        assert_eq!(
            after.sum(requests, &[refreshes[0], ("code", "ITEM_LOGIN_REQUIRED")]),
            1.0
        );
        let latency = "investments_graphql_request_duration_seconds";
        assert_eq!(
            after.sum(&format!("{latency}_count"), &[("operation", &ok)]),
            2.0
        );
        assert_eq!(
            after.sum(
                &format!("{latency}_bucket"),
                &[("operation", &ok), ("le", "+Inf")]
            ),
            2.0
        );
        assert_eq!(after.sum(&format!("{latency}_count"), &refreshes), 2.0);

        // Syncs: the link's success and the refresh's failure.
        let runs = "investments_sync_runs_total";
        assert!(grew(runs, &[("trigger", "link"), ("outcome", "succeeded")]) >= 1.0);
        assert!(grew(runs, &[("trigger", "manual"), ("outcome", "failed")]) >= 1.0);
        let run_latency = "investments_sync_run_duration_seconds_count";
        assert!(
            grew(
                run_latency,
                &[("trigger", "link"), ("outcome", "succeeded")]
            ) >= 1.0
        );
        assert!(grew(run_latency, &[("trigger", "manual"), ("outcome", "failed")]) >= 1.0);

        // Plaid: each endpoint the link called, with its status; the refusal's 400.
        let calls = "investments_plaid_requests_total";
        for endpoint in [
            "/sandbox/public_token/create",
            "/item/public_token/exchange",
            "/investments/holdings/get",
            "/investments/transactions/get",
        ] {
            assert!(
                grew(calls, &[("endpoint", endpoint), ("status", "200")]) >= 1.0,
                "{endpoint}"
            );
            let count = "investments_plaid_request_duration_seconds_count";
            assert!(grew(count, &[("endpoint", endpoint)]) >= 1.0, "{endpoint}");
        }
        assert!(grew(calls, &[("status", "400")]) >= 1.0);

        // Analytics: the first query computed, the second found it.
        let lookups = "investments_analytics_cache_lookups_total";
        assert!(grew(lookups, &[("result", "miss")]) >= 1.0);
        assert!(grew(lookups, &[("result", "hit")]) >= 1.0);

        // The pool of this server, read at the scrape.
        let max = after.sum("investments_db_pool_max_connections", &[]);
        assert_eq!(max, f64::from(app.db_config.max_connections));
        let pool = "investments_db_pool_connections";
        let in_use = after.sum(pool, &[("state", "in_use")]);
        let idle = after.sum(pool, &[("state", "idle")]);
        assert!(
            in_use + idle >= 1.0 && in_use + idle <= max,
            "{in_use} + {idle}"
        );

        for histogram in [
            "investments_sync_run_duration_seconds",
            "investments_plaid_request_duration_seconds",
            "investments_graphql_request_duration_seconds",
        ] {
            assert!(
                after
                    .text
                    .contains(&format!("# TYPE {histogram} histogram")),
                "{histogram} is not a histogram"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_metrics_token_is_required_when_set() {
    for backend in backends() {
        let options = HttpOptions {
            metrics_token: Some(Secret::new("metrics-s3cret")),
            ..Default::default()
        };
        let app = TestApp::builder(backend).with_http(options).start().await;
        let refused = app.get("/metrics", &[]).await;
        assert_eq!(refused.status().as_u16(), 401, "[{backend:?}]");
        assert!(refused.headers().contains_key("www-authenticate"));
        let wrong = app
            .get("/metrics", &[("authorization", "Bearer metrics-s3cre")])
            .await;
        assert_eq!(wrong.status().as_u16(), 401);
        // An API token is no metrics token either.
        let (_, api_token) = app.user("alice", Scope::Write).await;
        let bearer = format!("Bearer {api_token}");
        let api = app.get("/metrics", &[("authorization", &bearer)]).await;
        assert_eq!(api.status().as_u16(), 401);
        let page = scrape(&app, &[("authorization", "Bearer metrics-s3cret")]).await;
        assert!(page.text.contains("investments_db_pool_max_connections"));

        // Without a token configured, the page is open.
        let open = TestApp::start(backend).await;
        scrape(&open, &[]).await;
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    on_each_backend(|app| async move {
        let made = app.get("/healthz", &[]).await;
        assert_eq!(made.status().as_u16(), 200);
        let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "a UUID: {id}");
        let again = app.get("/healthz", &[]).await;
        assert_ne!(again.headers()["x-request-id"], id.as_str());

        let echoed = app
            .get("/healthz", &[("x-request-id", "trace-abc-123")])
            .await;
        assert_eq!(echoed.headers()["x-request-id"], "trace-abc-123");

        // Refusals too.
        let (status, _) = app.post(None, "{ viewer { name } }", json!({})).await;
        assert_eq!(status, 401);
        let refused = app
            .get("/export/holdings.csv", &[("x-request-id", "trace-refused")])
            .await;
        assert_eq!(refused.status().as_u16(), 401);
        assert_eq!(refused.headers()["x-request-id"], "trace-refused");
    })
    .await;
}

//! Test support: a real server on a loopback port over a fresh database (SQLite file, and
//! a PostgreSQL schema of its own when `TEST_DATABASE_URL` is set), plus fixtures written
//! through the project's own data layer.

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;

use std::time::Duration;

use investments::app::AppBuilder;
use investments::auth::{self, Scope};
use investments::clock::Clock;
use investments::crypto::TokenCipher;
use investments::db::unscoped::Unscoped;
use investments::db::{self, DbConfig};
use investments::http::HttpOptions;
use investments::plaid::client::{PlaidClient, RetryPolicy};
use investments::plaid::simulator::scenario::ScenarioFile;
use investments::plaid::simulator::{Simulator, SimulatorConfig};
use investments::sync::{SyncOptions, SyncService};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends every database test runs on. PostgreSQL is expected when
/// `TEST_DATABASE_URL` is set, and then a test fails (never skips) if it is unreachable.
pub fn backends() -> Vec<Backend> {
    let mut list = vec![Backend::Sqlite];
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        list.push(Backend::Postgres);
    }
    list
}

/// Removes a PostgreSQL test schema when the test ends, even if it panicked.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        // This blocks the test's runtime thread: a sync the test left running there
        // cannot end its transaction, so a DROP waiting for that transaction's locks would
        // wait forever. After the lock timeout the schema is left to the database's own
        // drop (CI drops the whole database).
        let sql = format!(
            "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.schema
        );
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(conn) = db::connect(&DbConfig::new(url)).await {
                    let _ = conn.execute_unprepared(&sql).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

fn unique_name() -> String {
    use rand::Rng;
    let suffix: u64 = rand::rng().random();
    format!("t_{}_{suffix:016x}", std::process::id())
}

/// Encryption key of the test servers.
pub const TEST_ENCRYPTION_KEY: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Retries as in production, but milliseconds apart.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(5),
    }
}

/// A sync engine talking to `simulator` over loopback, as a server replica would.
pub fn sync_service(
    db: &DatabaseConnection,
    simulator: &Simulator,
    webhook_url: Option<String>,
) -> SyncService {
    let mut config = simulator.client_config();
    config.retry = fast_retry();
    SyncService::new(
        db.clone(),
        Arc::new(PlaidClient::new(config).expect("client")),
        Arc::new(TokenCipher::from_hex(TEST_ENCRYPTION_KEY).expect("key")),
        SyncOptions {
            webhook_url,
            clock: simulator.config().clock.clone(),
            ..Default::default()
        },
    )
}

/// A running server over its own database.
pub struct TestApp {
    pub backend: Backend,
    pub base_url: String,
    pub db: DatabaseConnection,
    /// How to open another pool on the same database (a second replica).
    pub db_config: DbConfig,
    /// The Plaid simulator and the server's sync engine, when started with Plaid.
    pub plaid: Option<(Simulator, SyncService)>,
    /// The users the builder's [`TestAppBuilder::with_user`] made: name, id and token.
    users: Vec<(String, i64, String)>,
    /// SQL statements run by the server's connection pool so far, in order.
    pub statements: Arc<Mutex<Vec<sea_orm::Statement>>>,
    client: reqwest::Client,
    _sqlite_dir: Option<tempfile::TempDir>,
    _schema: Option<SchemaGuard>,
}

/// How a [`TestApp`] is started: `TestApp::builder(backend)`, then what it needs.
pub struct TestAppBuilder {
    backend: Backend,
    plaid: Option<SimulatorConfig>,
    http: HttpOptions,
    limits: Option<investments::graphql::Limits>,
    users: Vec<(String, Scope)>,
}

impl TestAppBuilder {
    /// The started app has a user `name` with a token of `scope`, ready before the test
    /// begins: see [`TestApp::viewer`] and [`TestApp::user_named`]. Called again, it adds
    /// another user.
    pub fn with_user(mut self, name: &str, scope: Scope) -> Self {
        self.users.push((name.to_owned(), scope));
        self
    }

    /// Plaid is a simulator with `config`.
    pub fn with_plaid(mut self, config: SimulatorConfig) -> Self {
        self.plaid = Some(config);
        self
    }

    /// Plaid plays `tests/scenarios/{name}.json`, on a manual clock at noon of its day 1
    /// that the simulator, the sync engine and the server share.
    pub fn with_scenario(self, name: &str) -> Self {
        self.with_plaid(scenario_config(name))
    }

    /// These HTTP options (CORS, timeouts, rate limit, persisted-only manifest).
    pub fn with_http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// The GraphQL schema enforces `limits`.
    pub fn with_limits(mut self, limits: investments::graphql::Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    pub async fn start(self) -> TestApp {
        let users = self.users.clone();
        let mut app =
            TestApp::start_configured(self.backend, self.plaid, self.http, self.limits).await;
        for (name, scope) in users {
            let (id, token) = app.user(&name, scope).await;
            app.users.push((name, id, token));
        }
        app
    }
}

impl TestApp {
    /// A server over a fresh database of `backend`, configured step by step.
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            plaid: None,
            http: HttpOptions::default(),
            limits: None,
            users: Vec::new(),
        }
    }

    /// A server with nothing but its database.
    pub async fn start(backend: Backend) -> TestApp {
        Self::builder(backend).start().await
    }

    pub fn simulator(&self) -> &Simulator {
        &self.plaid.as_ref().expect("started with Plaid").0
    }

    pub fn sync(&self) -> &SyncService {
        &self.plaid.as_ref().expect("started with Plaid").1
    }

    /// (user id, token) of the first user the builder made ([`TestAppBuilder::with_user`]).
    pub fn viewer(&self) -> (i64, String) {
        let (_, id, token) = self.users.first().expect("started with_user");
        (*id, token.clone())
    }

    /// (user id, token) of the user `name` the builder made ([`TestAppBuilder::with_user`]).
    pub fn user_named(&self, name: &str) -> (i64, String) {
        let (_, id, token) = self
            .users
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no user {name} started with_user"));
        (*id, token.clone())
    }

    /// A raw request to `path` on this server (for headers, methods and bodies the
    /// helpers below do not send).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url))
    }

    /// A raw request to `path` with these URL query parameters.
    pub fn request_with_params<V: AsRef<str>>(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &[(&str, V)],
    ) -> reqwest::RequestBuilder {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base_url), params)
            .expect("URL");
        self.client.request(method, url)
    }

    async fn start_configured(
        backend: Backend,
        simulator: Option<SimulatorConfig>,
        options: HttpOptions,
        limits: Option<investments::graphql::Limits>,
    ) -> TestApp {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
                    .unwrap_or_else(|_| "investments=warn".into()),
            )
            .with_test_writer()
            .try_init();
        let (config, sqlite_dir, schema) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (DbConfig::new(url), Some(dir), None)
            }
            Backend::Postgres => {
                let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
                let schema = unique_name();
                let admin = db::connect(&DbConfig::new(url.clone()))
                    .await
                    .unwrap_or_else(|e| {
                        panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}")
                    });
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                    .await
                    .expect("create test schema");
                admin.close().await.ok();
                let guard = SchemaGuard {
                    url: url.clone(),
                    schema: schema.clone(),
                };
                let mut config = DbConfig::new(url);
                // Its connections are known by the schema's name in `pg_stat_activity`:
                // fault tests terminate this test's connections and no other test's.
                config.application_name = Some(schema.clone());
                config.schema = Some(schema);
                config.max_connections = 5;
                (config, None, Some(guard))
            }
        };
        let mut conn = db::connect(&config).await.expect("connect test database");
        let config = config.clone();
        Migrator::up(&conn, None).await.expect("migrations");
        let statements = Arc::new(Mutex::new(Vec::new()));
        let log = statements.clone();
        conn.set_metric_callback(move |info| {
            if std::env::var("TEST_SQL").is_ok() {
                eprintln!(
                    "SQL: {}",
                    &info.statement.sql[..info.statement.sql.len().min(150)]
                );
            }
            log.lock().unwrap().push(info.statement.clone());
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let plaid = match simulator {
            Some(config) => {
                let simulator = Simulator::start(config).await.expect("simulator");
                let sync = sync_service(
                    &conn,
                    &simulator,
                    Some(format!("http://{addr}/webhooks/plaid")),
                );
                Some((simulator, sync))
            }
            None => None,
        };
        // One clock for the server and its Plaid: the simulator's when there is one.
        let clock = plaid
            .as_ref()
            .map(|(s, _)| s.config().clock.clone())
            .unwrap_or_default();
        let router = AppBuilder::new(conn.clone())
            .clock(clock)
            .sync(plaid.as_ref().map(|(_, s)| s.clone()))
            .limits(limits.unwrap_or_default())
            .http(options)
            .router();
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("server");
        });
        TestApp {
            backend,
            base_url: format!("http://{addr}"),
            db: conn,
            db_config: config,
            plaid,
            users: Vec::new(),
            statements,
            client: reqwest::Client::new(),
            _sqlite_dir: sqlite_dir,
            _schema: schema,
        }
    }

    /// POSTs `query`, which must be refused with `code` before any SQL but the token
    /// lookup. Returns the response body.
    pub async fn refused_before_sql(
        &self,
        token: &str,
        query: &str,
        variables: Value,
        code: &str,
    ) -> Value {
        let mark = self.statement_count();
        let (_, body) = self.post(Some(token), query, variables).await;
        let backend = self.backend;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "[{backend:?}] {query}: {body}"
        );
        assert_eq!(
            self.work_since(mark),
            Vec::<String>::new(),
            "[{backend:?}] no SQL ran: {query}"
        );
        body
    }

    /// The statements run since `mark`, but the token lookup: the work a request did.
    pub fn work_since(&self, mark: usize) -> Vec<String> {
        self.statements_since(mark)
            .into_iter()
            .map(|s| s.sql)
            .filter(|sql| !sql.contains("api_tokens"))
            .collect()
    }

    /// GETs `path` with these URL query parameters, with `token` if any.
    pub async fn get_with_params<V: AsRef<str>>(
        &self,
        token: Option<&str>,
        path: &str,
        params: &[(&str, V)],
    ) -> reqwest::Response {
        let mut request = self.request_with_params(reqwest::Method::GET, path, params);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// GETs `path` with these headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base_url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    /// A user with a token of `scope`; returns (user id, token).
    pub async fn user(&self, name: &str, scope: Scope) -> (i64, String) {
        let users = Unscoped::new(&self.db).users();
        let user = users
            .find_or_create(name)
            .await
            .unwrap_or_else(|e| panic!("create user: {}", e.message()));
        let issued = auth::issue_token(&users.scope_of(user.id), "test", scope)
            .await
            .unwrap_or_else(|e| panic!("issue token: {}", e.message()));
        (user.id, issued.token)
    }

    /// POSTs a GraphQL request; returns the HTTP status and the JSON body.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        self.post_body(token, json!({ "query": query, "variables": variables }))
            .await
    }

    /// POSTs `body` (a GraphQL request: `query`, `variables`, `operationName`...) as JSON;
    /// returns the HTTP status and the JSON body.
    pub async fn post_body(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        post_graphql(&self.client, &self.base_url, token, &body).await
    }

    /// The connection `connection` (a root field) in the answer to a query that must
    /// succeed, with its list of `nodes`.
    pub async fn connection(
        &self,
        token: &str,
        query: &str,
        variables: Value,
        connection: &str,
    ) -> Value {
        let data = self.query(token, query, variables).await;
        assert!(
            data[connection]["nodes"].is_array(),
            "[{:?}] no {connection} nodes: {data}",
            self.backend
        );
        data[connection].clone()
    }

    /// Runs a query that must succeed; returns `data`.
    pub async fn query(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        assert_eq!(status, 200, "[{:?}] {body}", self.backend);
        assert!(
            body.get("errors").is_none(),
            "[{:?}] unexpected errors: {body}",
            self.backend
        );
        body["data"].clone()
    }

    /// Runs a query that must fail; returns the `extensions.code` of its first error.
    pub async fn error_code(&self, token: &str, query: &str, variables: Value) -> String {
        let (_, body) = self.post(Some(token), query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("[{:?}] expected an error: {body}", self.backend))
            .to_owned()
    }

    /// The statements run since the count was `mark` (see [`TestApp::statement_count`]).
    pub fn statements_since(&self, mark: usize) -> Vec<sea_orm::Statement> {
        self.statements.lock().unwrap()[mark..].to_vec()
    }

    pub fn statement_count(&self) -> usize {
        self.statements.lock().unwrap().len()
    }
}

/// POSTs `body` (a GraphQL request) as JSON to the server at `base_url` (this app's, or
/// another replica's or process's); returns the HTTP status and the JSON body.
pub async fn post_graphql(
    client: &reqwest::Client,
    base_url: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = client.post(format!("{base_url}/graphql")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// The nodes of `connection` (see [`TestApp::connection`]), all on one page: its
/// `totalCount` is their number.
pub fn all_on_one_page(connection: &Value) -> &Value {
    let count = connection["nodes"].as_array().map(Vec::len);
    assert_eq!(
        Some(connection["totalCount"].clone()),
        count.map(Value::from),
        "totalCount is the number of nodes: {connection}"
    );
    &connection["nodes"]
}

/// `field` of every node of the JSON array `nodes`, as strings.
pub fn strings(nodes: &Value, field: &str) -> Vec<String> {
    nodes
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {nodes}"))
        .iter()
        .map(|n| {
            n[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {n}"))
                .to_owned()
        })
        .collect()
}

/// Longest one test may run on one backend: a test awaiting an event that never comes
/// fails with its name instead of hanging the suite.
const TEST_LIMIT: Duration = Duration::from_secs(240);

pub async fn bounded(backend: Backend, test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("[{backend:?}] still running after {TEST_LIMIT:?}: an awaited event never came");
    }
}

/// Runs `test` once per backend, each time on a fresh server that `configure` sets up
/// (Plaid, HTTP options, limits, users: see [`TestAppBuilder`]).
pub async fn on_each_backend_with<C, F, Fut>(configure: C, test: F)
where
    C: Fn(TestAppBuilder) -> TestAppBuilder,
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("-- on {backend:?}");
        let app = configure(TestApp::builder(backend)).start().await;
        bounded(backend, test(app)).await;
    }
}

/// Runs `test` once per backend, each time on a fresh server with a Plaid simulator.
pub async fn on_each_backend_with_plaid<F, Fut>(config: SimulatorConfig, test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_with(|b| b.with_plaid(config.clone()), test).await;
}

/// Runs `test` once per backend on a server whose Plaid is a simulator with `config`,
/// where alice has a write token: `test(app, alice's token)`.
pub async fn on_each_backend_as_alice<F, Fut>(config: SimulatorConfig, test: F)
where
    F: Fn(TestApp, String) -> Fut,
    Fut: Future<Output = ()>,
{
    as_alice(|b| b.with_plaid(config.clone()), test).await;
}

/// Runs `test` once per backend on a server living through the scenario
/// `tests/scenarios/{name}.json` (see [`TestAppBuilder::with_scenario`]), where alice has
/// a write token: `test(app, alice's token)`.
pub async fn on_each_backend_as_alice_in<F, Fut>(scenario: &str, test: F)
where
    F: Fn(TestApp, String) -> Fut,
    Fut: Future<Output = ()>,
{
    as_alice(|b| b.with_scenario(scenario), test).await;
}

/// Runs `test(app, alice's token)` once per backend on a server `configure` sets up, where
/// alice has a write token.
async fn as_alice<C, F, Fut>(configure: C, test: F)
where
    C: Fn(TestAppBuilder) -> TestAppBuilder,
    F: Fn(TestApp, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let test = &test;
    let configure = |b| configure(b).with_user("alice", Scope::Write);
    on_each_backend_with(configure, |app| async move {
        let (_, token) = app.viewer();
        test(app, token).await;
    })
    .await;
}

/// The simulator configuration that plays `tests/scenarios/{name}.json` from its day 1.
pub fn scenario_config(name: &str) -> SimulatorConfig {
    let path = format!("{}/tests/scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let file = ScenarioFile::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
    SimulatorConfig {
        clock: Clock::at_noon(file.start),
        scenario: Some(Arc::new(file)),
        ..Default::default()
    }
}

/// Runs `test` once per backend, each time on a fresh server living through the scenario
/// `tests/scenarios/{name}.json` (see [`TestAppBuilder::with_scenario`]).
pub async fn on_each_backend_with_scenario<F, Fut>(name: &str, test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_with(|b| b.with_scenario(name), test).await;
}

/// Runs `test` once per backend, each time on a fresh server and database where the user
/// `name` has a token of `scope` ([`TestApp::viewer`]).
pub async fn on_each_backend_as<F, Fut>(name: &str, scope: Scope, test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_with(|b| b.with_user(name, scope), test).await;
}

/// Runs `test` once per backend, each time on a fresh server and database.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_with(|b| b, test).await;
}

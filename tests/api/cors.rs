//! CORS over HTTP: the API answers browsers of the configured origins (any by default),
//! the playground and its assets carry no CORS headers at all, and the playground gets a
//! token only from the URL fragment, so no other origin can read one from a page.

use investments::auth::Scope;
use investments::http::HttpOptions;
use reqwest::Method;

use crate::common::{TestApp, backends, bounded, on_each_backend, on_each_backend_as};

const EVIL: &str = "https://evil.example";
const APP: &str = "https://app.example";

/// The names of the `access-control-*` headers of a response.
fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// A CORS preflight of `method` on `path` from `origin`, with the headers a GraphQL client
/// sends.
async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> reqwest::Response {
    app.request(Method::OPTIONS, path)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_playground_carries_no_cors_headers() {
    on_each_backend(|app| async move {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for path in ["/graphiql", "/graphiql/assets/graphiql.min.js", "/"] {
            let response = client
                .get(format!("{}{path}", app.base_url))
                .header("Origin", EVIL)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success() || response.status().is_redirection(),
                "{path}: {}",
                response.status()
            );
            assert_eq!(cors_headers(&response), Vec::<String>::new(), "{path}");
        }
        for path in ["/graphiql", "/graphiql/assets/graphiql.min.js"] {
            let response = preflight(&app, path, EVIL, "GET").await;
            assert!(
                !response.status().is_success(),
                "{path}: no preflight answer"
            );
            assert_eq!(cors_headers(&response), Vec::<String>::new(), "{path}");
        }
        // The API answers any origin by default.
        let (_, token) = app.user("alice", Scope::Read).await;
        let response = app
            .request(reqwest::Method::POST, "/graphql")
            .header("Origin", EVIL)
            .bearer_auth(&token)
            .json(&serde_json::json!({ "query": "{ viewer { name } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            header(&response, "access-control-allow-credentials"),
            None,
            "never with credentials"
        );
    })
    .await;
}

#[tokio::test]
async fn the_api_answers_cors_for_the_configured_origins_only() {
    for backend in backends() {
        bounded(backend, async {
            let options = HttpOptions {
                cors_origins: vec![APP.to_owned()],
                ..Default::default()
            };
            let app = TestApp::builder(backend)
                .with_http(options)
                .with_user("alice", Scope::Read)
                .start()
                .await;
            let (_, token) = app.viewer();

            let response = preflight(&app, "/graphql", APP, "POST").await;
            assert_eq!(response.status(), 200);
            assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
            let methods = header(&response, "access-control-allow-methods").unwrap();
            assert!(
                methods.contains("POST") && methods.contains("GET"),
                "{methods}"
            );
            let headers = header(&response, "access-control-allow-headers").unwrap();
            assert!(
                headers.contains("authorization") && headers.contains("content-type"),
                "{headers}"
            );

            for path in [
                "/graphql?query=%7Bviewer%7Bname%7D%7D",
                "/export/holdings.csv",
                "/healthz",
            ] {
                let response = app
                    .request(reqwest::Method::GET, path)
                    .header("Origin", APP)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{path}");
                assert_eq!(
                    header(&response, "access-control-allow-origin"),
                    Some(APP),
                    "{path}"
                );
                assert_eq!(
                    header(&response, "access-control-expose-headers"),
                    Some("x-request-id"),
                    "{path}"
                );
            }

            // The API's own refusals are readable by the browser too: the body limit's 413.
            let response = app
                .request(reqwest::Method::POST, "/graphql")
                .header("Origin", APP)
                .header("Content-Type", "application/json")
                .body(vec![b' '; 2 * 1024 * 1024])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 413);
            assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));

            // Another origin is not allowed: no allow-origin, so its browser hides the answer.
            let response = preflight(&app, "/graphql", EVIL, "POST").await;
            assert_eq!(header(&response, "access-control-allow-origin"), None);
            let response = app
                .request(reqwest::Method::GET, "/healthz")
                .header("Origin", EVIL)
                .send()
                .await
                .unwrap();
            assert_eq!(header(&response, "access-control-allow-origin"), None);
        })
        .await;
    }
}

#[tokio::test]
async fn the_playground_takes_its_token_from_the_fragment() {
    on_each_backend_as("alice", Scope::Write, |app| async move {
        let (_, token) = app.viewer();
        let page = app.get("/graphiql", &[]).await.text().await.unwrap();
        assert!(!page.contains(&token));
        assert!(!page.contains("Bearer inv_"), "no token in the page");
        // The page's script reads `#token=...`, clears it from the address bar, and starts
        // GraphiQL's Headers pane and its WebSocket with it.
        for needle in [
            "new URLSearchParams(window.location.hash.slice(1)).get('token')",
            "history.replaceState(null, '', window.location.pathname + window.location.search)",
            "headers: initialHeaders,",
            "defaultHeaders: initialHeaders,",
            "wsConnectionParams: authorization,",
        ] {
            assert!(page.contains(needle), "{needle} missing from:\n{page}");
        }
    })
    .await;
}

use investments::auth::Scope;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let current = investments::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is stale: run `cargo run -- export-schema > schema.graphql`"
    );
}

const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;

fn described(v: &Value) -> bool {
    v["description"]
        .as_str()
        .is_some_and(|d| !d.trim().is_empty())
}

/// GraphiQL's own introspection query passes the depth and complexity limits, and every
/// type, field, argument, input field and enum value of ours has a description.
#[tokio::test]
async fn playground_introspection_works_and_everything_is_described() {
    let app = TestApp::builder(Backend::Sqlite)
        .with_user("alice", Scope::Read)
        .start()
        .await;
    let (_, token) = app.viewer();
    let data = app.query(&token, INTROSPECTION, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    assert_eq!(data["__schema"]["mutationType"]["name"], "Mutation");
    let mut missing = Vec::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            if !described(field) {
                missing.push(format!("{name}.{}", field["name"]));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(arg) {
                    missing.push(format!("{name}.{}({})", field["name"], arg["name"]));
                }
            }
        }
        for input in ty["inputFields"].as_array().into_iter().flatten() {
            if !described(input) {
                missing.push(format!("{name}.{}", input["name"]));
            }
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            if !described(value) {
                missing.push(format!("{name}.{}", value["name"]));
            }
        }
    }
    assert!(missing.is_empty(), "without a description: {missing:?}");
}

/// The ```graphql examples of the README and docs/features, with the name of each operation
/// in them (`None` for a lone anonymous one).
pub(crate) fn documented_operations() -> Vec<(String, String, Option<String>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![format!("{root}/README.md")];
    for entry in std::fs::read_dir(format!("{root}/docs/features")).unwrap() {
        files.push(entry.unwrap().path().display().to_string());
    }
    let mut operations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for block in text.split("```graphql\n").skip(1) {
            let block = block.split("```").next().unwrap().to_owned();
            let names: Vec<String> = block
                .lines()
                .filter_map(|l| {
                    let l = l.trim_start();
                    let rest = l
                        .strip_prefix("query ")
                        .or_else(|| l.strip_prefix("mutation "))?;
                    Some(
                        rest.split(|c: char| !c.is_alphanumeric())
                            .next()?
                            .to_owned(),
                    )
                })
                .filter(|n| !n.is_empty())
                .collect();
            if names.is_empty() {
                operations.push((file.clone(), block, None));
            } else {
                for name in names {
                    operations.push((file.clone(), block.clone(), Some(name)));
                }
            }
        }
    }
    operations
}

/// A placeholder for each required variable of `document`; only ID and String ones are
/// documented.
pub(crate) fn placeholders(document: &str) -> Value {
    let mut variables = serde_json::Map::new();
    for part in document.split('$').skip(1) {
        if let Some((var, ty)) = part.split_once(':') {
            let ty = ty.trim_start();
            if ty.starts_with("ID!") || ty.starts_with("String!") {
                variables.insert(var.trim().to_owned(), json!("placeholder"));
            }
        }
    }
    Value::Object(variables)
}

/// Every GraphQL example in the README and the feature docs parses and validates against
/// the schema (what it returns depends on the data; that it is a valid query does not).
#[tokio::test]
async fn documented_queries_are_valid() {
    let app = TestApp::builder(Backend::Sqlite)
        .with_user("alice", Scope::Write)
        .start()
        .await;
    let (_, token) = app.viewer();
    let operations = documented_operations();
    assert!(
        operations.len() >= 10,
        "found {} examples",
        operations.len()
    );
    for (file, document, name) in operations {
        let mut body = json!({ "query": document, "variables": placeholders(&document) });
        if let Some(name) = &name {
            body["operationName"] = json!(name);
        }
        // As the spec's media type, a document that does not parse, validate or coerce
        // its arguments is a 4xx without `data`; one that ran is a 200 with `data`, and
        // its only errors are those of fields (with a path): placeholder ids, no Plaid.
        let response = app
            .request(reqwest::Method::POST, "/graphql")
            .bearer_auth(&token)
            .header("accept", "application/graphql-response+json")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let response: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{file} {name:?}: {response}\n{document}");
        assert!(
            response.get("data").is_some(),
            "{file} {name:?}: {response}\n{document}"
        );
        for error in response["errors"].as_array().into_iter().flatten() {
            let code = error["extensions"]["code"].as_str().unwrap_or("");
            assert!(
                error["path"].is_array()
                    && matches!(code, "BAD_USER_INPUT" | "NOT_FOUND" | "PLAID_UNAVAILABLE"),
                "{file} {name:?}: {error}\n{document}"
            );
        }
    }
}

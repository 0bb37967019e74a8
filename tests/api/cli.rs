//! The binary: `export-schema` prints the committed SDL; `token create` prints only a token
//! that the server then accepts.

use std::process::Command;

use serde_json::json;

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

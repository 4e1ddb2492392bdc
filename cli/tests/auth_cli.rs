//! `smelt` commands against a `smelt server --auth`: they log in from the
//! variables MLflow's client reads, say what to set when the server wants a
//! login, and manage API tokens and read the audit log.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Server, free_port, smelt_command, stderr, stdout};
use serde_json::Value;

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery";

/// The login a command runs with.
enum Login<'a> {
    Anonymous,
    Password(&'a str, &'a str),
    Token(&'a str),
}

/// `smelt ARGS` with exactly `login`'s variables set (the caller's are removed).
fn smelt_as(home: &Path, login: &Login, args: &[&str]) -> Output {
    let mut command: Command = smelt_command(home);
    command
        .env_remove("MLFLOW_TRACKING_USERNAME")
        .env_remove("MLFLOW_TRACKING_PASSWORD")
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACKING_INSECURE_TLS")
        .env_remove("MLFLOW_TRACKING_SERVER_CERT_PATH")
        .env_remove("MLFLOW_TRACKING_CLIENT_CERT_PATH")
        .env_remove("MLFLOW_WORKSPACE")
        .env_remove("SMELT_SERVER");
    match login {
        Login::Anonymous => {}
        Login::Password(user, password) => {
            command
                .env("MLFLOW_TRACKING_USERNAME", user)
                .env("MLFLOW_TRACKING_PASSWORD", password);
        }
        Login::Token(token) => {
            command.env("MLFLOW_TRACKING_TOKEN", token);
        }
    }
    command.args(args).output().expect("the smelt binary runs")
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

fn refused(output: Output, what: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what} should fail\nstdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

/// `smelt server --auth` with a known admin, on a free port.
fn start_server(home: &Path) -> Server {
    let port = free_port();
    let log = home.with_extension(format!("server-{port}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let child = smelt_command(home)
        .env("SMELT_ADMIN_USERNAME", ADMIN)
        .env("SMELT_ADMIN_PASSWORD", PASSWORD)
        .env_remove("SMELT_AUTH")
        .env_remove("SMELT_DEFAULT_PERMISSION")
        .args(["server", "--auth", "--port", &port.to_string()])
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("smelt server starts");
    let mut server = Server { child, port, log };
    server.wait_healthy();
    server
}

#[test]
fn commands_log_in_use_tokens_and_read_the_audit_log() {
    let server_home = tempfile::tempdir().unwrap();
    let server = start_server(server_home.path());
    // The client's own SMELT_HOME: nothing local is used.
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let uri = server.uri();
    let admin = Login::Password(ADMIN, PASSWORD);
    let remote = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--tracking-uri".to_string(), uri.clone()]);
        all
    };
    let run = |login: &Login, args: &[&str]| {
        let all = remote(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        smelt_as(home, login, &all)
    };

    // No login: the tracking store says which variables to set.
    let error = refused(
        run(&Login::Anonymous, &["experiments", "list"]),
        "anonymous list",
    );
    assert!(
        error.contains(
            "the server requires a login: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
        ),
        "{error}"
    );
    // So does Smelt's own API.
    let error = refused(
        run(&Login::Anonymous, &["tokens", "list"]),
        "anonymous tokens",
    );
    assert!(error.contains("the server requires a login"), "{error}");
    // A wrong password is named as such.
    let error = refused(
        run(
            &Login::Password(ADMIN, "not the password"),
            &["experiments", "list"],
        ),
        "wrong password",
    );
    assert!(
        error.contains("did not accept the login of 'admin'"),
        "{error}"
    );

    // The admin's password works for the store and makes a token.
    ok(
        run(&admin, &["experiments", "create", "audited"]),
        "create as admin",
    );
    let listed = ok(run(&admin, &["experiments", "list"]), "list as admin");
    assert!(listed.contains("audited"), "{listed}");
    let created = run(
        &admin,
        &[
            "tokens",
            "create",
            "--name",
            "ci",
            "--expires",
            "1d",
            "--read-only",
        ],
    );
    let explanation = stderr(&created);
    let token = ok(created, "tokens create").trim().to_string();
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "{token}"
    );
    assert!(explanation.contains("shown only now"), "{explanation}");
    assert!(
        explanation.contains(&format!("export MLFLOW_TRACKING_TOKEN={token}")),
        "{explanation}"
    );

    // The token alone reads, but may not write (read-only) nor make tokens.
    let listed = ok(
        run(&Login::Token(&token), &["experiments", "list"]),
        "list with token",
    );
    assert!(listed.contains("audited"), "{listed}");
    let error = refused(
        run(
            &Login::Token(&token),
            &["experiments", "create", "denied-write"],
        ),
        "create with a read-only token",
    );
    assert!(error.contains("permission denied: "), "{error}");
    let error = refused(
        run(
            &Login::Token(&token),
            &["tokens", "create", "--name", "again"],
        ),
        "a token making a token",
    );
    assert!(error.contains("permission denied: "), "{error}");

    // The listing shows the token's use, never its secret.
    let tokens: Value = serde_json::from_str(&ok(
        run(&admin, &["tokens", "list", "--json"]),
        "tokens list --json",
    ))
    .unwrap();
    let ci = &tokens["tokens"][0];
    assert_eq!(ci["name"], "ci");
    assert_eq!(ci["read_only"], true);
    assert!(ci["last_used_at"].is_i64(), "{tokens}");
    assert!(ci["expires_at"].is_i64(), "{tokens}");
    assert!(!tokens.to_string().contains(&token));
    let table = ok(run(&admin, &["tokens", "list"]), "tokens list");
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("ci "))
        .unwrap_or_default();
    assert!(row.contains("yes"), "{table}");
    assert!(!row.contains("never"), "last use is shown: {table}");

    // Revoked, the token stops at once.
    let revoked = ok(run(&admin, &["tokens", "revoke", "ci"]), "tokens revoke");
    assert!(revoked.contains("revoked token ci"), "{revoked}");
    let error = refused(
        run(&Login::Token(&token), &["experiments", "list"]),
        "revoked token",
    );
    assert!(
        error.contains("did not accept MLFLOW_TRACKING_TOKEN"),
        "{error}"
    );
    let error = refused(
        run(&admin, &["tokens", "revoke", "nope"]),
        "revoke a missing token",
    );
    assert!(error.contains("smelt tokens list"), "{error}");

    // The audit log: the admin's creation and the token's denied write.
    let audit: Value = serde_json::from_str(&ok(
        run(&admin, &["audit", "--since", "1h", "--json"]),
        "audit --json",
    ))
    .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    let find = |status: u64, user: &str| {
        entries.iter().find(|e| {
            e["path"] == "/api/2.0/mlflow/experiments/create"
                && e["status"] == status
                && e["username"] == user
        })
    };
    assert!(find(200, ADMIN).is_some(), "{audit}");
    assert!(
        find(403, ADMIN).is_some(),
        "the token's write was refused: {audit}"
    );
    let table = ok(run(&admin, &["audit", "--since", "1h"]), "audit");
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "time", "user", "address", "method", "path", "status", "action", "resource",
    ] {
        assert!(header.contains(column), "{table}");
    }
    assert!(
        table.contains("/api/2.0/mlflow/experiments/create"),
        "{table}"
    );

    // Only admins read it: a user made with MLflow's users API is refused.
    create_user(&uri, "bob", "bob's long password");
    let bob = Login::Password("bob", "bob's long password");
    ok(run(&bob, &["experiments", "list"]), "bob lists");
    let error = refused(run(&bob, &["audit", "--since", "1h"]), "audit as bob");
    assert!(error.contains("permission denied: "), "{error}");

    // A wrong age is a usage error (exit 2) that says what to write.
    let output = run(&admin, &["audit", "--since", "soon"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("90s, 15m, 1h or 7d"),
        "{}",
        stderr(&output)
    );
}

/// `POST /api/2.0/mlflow/users/create` as the admin, as MLflow's
/// `AuthServiceClient.create_user` sends it.
fn create_user(uri: &str, username: &str, password: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{uri}/api/2.0/mlflow/users/create"))
            .basic_auth(ADMIN, Some(PASSWORD))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "users/create answered {status}");
}

/// The quickstart drives its own server as an anonymous plain-HTTP client,
/// so it refuses the flags that would lock that client out, saying what to
/// run instead, before it starts anything.
#[test]
fn the_quickstart_refuses_auth_and_tls() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let pem = home.path().join("x.pem");
    std::fs::write(&pem, "not a certificate").unwrap();
    let pem = pem.display().to_string();
    for (flags, named) in [
        (vec!["--auth"], "--auth"),
        (vec!["--tls-cert", &pem, "--tls-key", &pem], "--tls-cert"),
    ] {
        let mut args = vec!["quickstart", "--port", &port];
        args.extend(flags);
        let output = smelt_command(home.path())
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{}", stdout(&output));
        let message = stderr(&output);
        assert!(
            message.contains(&format!("does not take {named}")),
            "{message}"
        );
        assert!(message.contains("smelt server"), "{message}");
        assert!(!home.path().join("quickstart").exists(), "nothing started");
    }
}

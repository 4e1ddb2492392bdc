//! Running the `smelt` binary from tests, isolated from the caller's environment.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub const SMELT: &str = env!("CARGO_BIN_EXE_smelt");

/// A `smelt` command isolated from the caller's environment, with `home` as SMELT_HOME.
pub fn smelt_command(home: &Path) -> Command {
    let mut command = Command::new(SMELT);
    command
        .env("SMELT_HOME", home)
        .env_remove("SMELT_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("SMELT_DATABASE_URL")
        .env_remove("SMELT_ARTIFACTS")
        .env_remove("SMELT_HOST")
        .env_remove("SMELT_PORT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs `smelt ARGS` to completion.
pub fn smelt(home: &Path, args: &[&str]) -> Output {
    smelt_command(home)
        .args(args)
        .output()
        .expect("the smelt binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `smelt ARGS` and insists it succeeds; returns stdout.
pub fn smelt_ok(home: &Path, args: &[&str]) -> String {
    let output = smelt(home, args);
    assert!(
        output.status.success(),
        "smelt {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Runs `smelt ARGS --json` and parses its output.
pub fn smelt_json(home: &Path, args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let text = smelt_ok(home, &all);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("smelt {all:?} printed invalid JSON ({e}):\n{text}"))
}

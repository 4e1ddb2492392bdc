//! `smelt audit`: the audit log of a `smelt server --auth` (every write,
//! refused request and login, recorded by `smelt-identity`), for admins.

use std::time::Duration;

use clap::Args;
use smelt_api::identity::{AUDIT_PATH, AuditEntry, AuditList};

use crate::config::GlobalArgs;
use crate::error::hinted;
use crate::output::{self, print_json, print_table};
use crate::remote::{NO_BODY, ServerArg, call};

/// The most lines the server answers at once.
const MAX_LIMIT: u32 = 10_000;

pub const LONG_ABOUT: &str = "\
The audit log of a `smelt server --auth`, oldest first: who changed what, from
where, and what the server answered. Every write is recorded (creating an
experiment, logging a metric, deploying an endpoint, granting a permission),
and so are refused requests (401, 403) and logins. Only admins may read it:

  export MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=...
  smelt audit --since 1h --server http://HOST:5000
  smelt audit --since 7d --limit 10000 --json > audit.json

Reads are not recorded (they would drown the writes).";

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How far back: 90s, 15m, 1h, 7d
    #[arg(long, value_name = "AGE", default_value = "1d", value_parser = parse_since)]
    since: Duration,
    /// At most this many lines (the oldest first), 1 to 10000
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LIMIT)))]
    limit: u32,
    #[command(flatten)]
    server: ServerArg,
}

fn parse_since(text: &str) -> Result<Duration, String> {
    smelt_identity::audit::parse_age(text).ok_or_else(|| {
        format!("'{text}' is not an age: give a number and a unit, e.g. 90s, 15m, 1h or 7d")
    })
}

pub async fn run(global: &GlobalArgs, args: AuditArgs) -> anyhow::Result<()> {
    let client = crate::remote::client()?;
    let base = args.server.url(global)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let since_ms = now_ms
        .saturating_sub(i64::try_from(args.since.as_millis()).unwrap_or(i64::MAX))
        .max(0);
    let mut url = reqwest::Url::parse(&format!("{base}{AUDIT_PATH}")).map_err(|e| {
        hinted(
            format!("invalid server URL {base}: {e}"),
            "give --server http://HOST:PORT",
        )
    })?;
    url.query_pairs_mut()
        .append_pair("since_ms", &since_ms.to_string())
        .append_pair("limit", &args.limit.to_string());
    let list: AuditList = call(
        &client,
        reqwest::Method::GET,
        url.as_str(),
        NO_BODY,
        "is the server started with --auth? Only it keeps an audit log",
    )
    .await?;
    if global.json {
        return print_json(serde_json::to_value(&list)?);
    }
    if list.entries.is_empty() {
        eprintln!("nothing recorded in that time; widen it with --since 7d");
        return Ok(());
    }
    print_table(&table(&list.entries));
    if list.entries.len() == args.limit as usize {
        eprintln!(
            "showing the oldest {} lines; raise --limit or shorten --since for the rest",
            args.limit
        );
    }
    Ok(())
}

fn table(entries: &[AuditEntry]) -> comfy_table::Table {
    let mut table = output::table([
        "time", "user", "address", "method", "path", "status", "action", "resource",
    ]);
    for entry in entries {
        table.add_row(vec![
            output::time(Some(entry.at)),
            entry.username.clone().unwrap_or_else(|| "-".into()),
            entry.address.clone().unwrap_or_default(),
            entry.method.clone(),
            entry.path.clone(),
            entry.status.to_string(),
            entry.action.clone(),
            entry.resource.clone().unwrap_or_default(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_ages() {
        assert_eq!(parse_since("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_since("yesterday").unwrap_err().contains("7d"));
    }

    #[test]
    fn a_refused_login_has_no_user() {
        let entry = AuditEntry {
            at: 0,
            username: None,
            address: Some("127.0.0.1".into()),
            method: "POST".into(),
            path: "/api/2.0/mlflow/experiments/create".into(),
            status: 401,
            action: "mlflow/experiments/create".into(),
            resource: None,
        };
        let text = table(&[entry]).to_string();
        // Piped tables are plain columns: date, time, user, address, ...
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row[2..4], ["-", "127.0.0.1"], "{text}");
        assert_eq!(row[6], "401", "{text}");
    }
}

//! `smelt tokens …`: API tokens of a `smelt server --auth`, for scripts, CI
//! and notebooks that should not hold a password. The server makes, hashes,
//! checks and revokes them (`smelt-identity`); this prints.

use std::time::Duration;

use clap::Subcommand;
use smelt_api::Empty;
use smelt_api::identity::{CreateToken, TOKENS_PATH, TokenCreated, TokenInfo, TokenList};

use crate::config::GlobalArgs;
use crate::error::hinted;
use crate::output::{self, print_json, print_table};
use crate::remote::{NO_BODY, ServerArg, call};

const HINT: &str = "`smelt tokens list` shows your tokens";

pub const LONG_ABOUT: &str = "\
API tokens of a `smelt server --auth`: a token stands for you, so scripts, CI
jobs and notebooks need no password. MLflow's client and every smelt command
send it from MLFLOW_TRACKING_TOKEN (as `Authorization: Bearer`).

Making a token needs a password login (a token cannot make tokens):

  export MLFLOW_TRACKING_USERNAME=alice MLFLOW_TRACKING_PASSWORD=...
  smelt tokens create --name ci --expires 30d --read-only --server http://HOST:5000

The token is printed once; the server keeps only its hash. Then, in CI:

  export MLFLOW_TRACKING_TOKEN=smelt_...   # and unset the user name and password,
                                           # which MLflow's client prefers

`smelt tokens list` shows when each token was last used; `smelt tokens revoke
ci` stops it at once.";

const CREATE_ABOUT: &str = "\
Makes a token and prints it once, alone on stdout (the explanation goes to
stderr), so a script can keep it:

  export MLFLOW_TRACKING_TOKEN=$(smelt tokens create --name ci --expires 30d)

A --read-only token passes only reads (listing, searching, downloading); an
--endpoint token (an invoke key) may only call that endpoint's inference
routes. Either way a token never has more rights than its user. Making a
token needs MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD: tokens
cannot make tokens.";

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token; it is printed once
    #[command(long_about = CREATE_ABOUT)]
    Create {
        /// A name for the token, unique among your tokens (ci, notebook)
        #[arg(long)]
        name: String,
        /// How long it works: 90s, 15m, 12h or 30d [default: until revoked]
        #[arg(long, value_name = "AGE", value_parser = parse_lifetime)]
        expires: Option<Duration>,
        /// Only reads pass: it can list, search and download, not change anything
        #[arg(long)]
        read_only: bool,
        /// Make an invoke key: it may only call this endpoint's inference
        /// (POST /endpoints/ENDPOINT/invocations, /v2/models/ENDPOINT/infer)
        #[arg(long, value_name = "ENDPOINT")]
        endpoint: Option<String>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List your tokens (never their secrets), with when each was last used
    #[command(visible_alias = "ls")]
    List {
        /// Another user's tokens (admins only)
        #[arg(long)]
        username: Option<String>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Revoke a token by name: it stops working at once
    Revoke {
        /// The token's name (see `smelt tokens list`)
        name: String,
        /// Revoke another user's token (admins only)
        #[arg(long)]
        username: Option<String>,
        #[command(flatten)]
        server: ServerArg,
    },
}

/// `--expires`: the identity crate's age syntax, as `smelt audit --since`.
fn parse_lifetime(text: &str) -> Result<Duration, String> {
    smelt_identity::audit::parse_age(text)
        .filter(|age| !age.is_zero())
        .ok_or_else(|| {
            format!(
                "'{text}' is not a lifetime: give a number and a unit, e.g. 90s, 15m, 12h or 30d"
            )
        })
}

/// The tokens API's URL on `base`: the collection, or one token by `name`
/// (one path segment, escaped by the URL builder), with `?username=NAME`
/// when one is given.
fn tokens_url(
    base: &str,
    name: Option<&str>,
    username: Option<&str>,
) -> anyhow::Result<reqwest::Url> {
    let invalid = || {
        hinted(
            format!("invalid server URL {base}"),
            "give --server http://HOST:PORT",
        )
    };
    let mut url = reqwest::Url::parse(&format!("{base}{TOKENS_PATH}")).map_err(|_| invalid())?;
    if let Some(name) = name {
        url.path_segments_mut().map_err(|()| invalid())?.push(name);
    }
    if let Some(username) = username {
        url.query_pairs_mut().append_pair("username", username);
    }
    Ok(url)
}

pub async fn run(global: &GlobalArgs, command: TokensCommand) -> anyhow::Result<()> {
    let client = crate::remote::client()?;
    match command {
        TokensCommand::Create {
            name,
            expires,
            read_only,
            endpoint,
            server,
        } => {
            let base = server.url(global)?;
            let request = CreateToken {
                name,
                expires_in_seconds: expires.map(|age| age.as_secs()),
                read_only,
                endpoint,
            };
            let created: TokenCreated = call(
                &client,
                reqwest::Method::POST,
                &format!("{base}{TOKENS_PATH}"),
                Some(&request),
                HINT,
            )
            .await?;
            if global.json {
                return print_json(serde_json::to_value(&created)?);
            }
            println!("{}", created.token);
            eprintln!("{}", explain(&created.info, &created.token));
            Ok(())
        }
        TokensCommand::List { username, server } => {
            let base = server.url(global)?;
            let url = tokens_url(&base, None, username.as_deref())?;
            let list: TokenList =
                call(&client, reqwest::Method::GET, url.as_str(), NO_BODY, HINT).await?;
            if global.json {
                return print_json(serde_json::to_value(&list)?);
            }
            if list.tokens.is_empty() {
                eprintln!("no tokens yet; make one with `smelt tokens create --name NAME`");
                return Ok(());
            }
            print_table(&table(&list.tokens));
            Ok(())
        }
        TokensCommand::Revoke {
            name,
            username,
            server,
        } => {
            let base = server.url(global)?;
            let url = tokens_url(&base, Some(&name), username.as_deref())?;
            let answer: Empty = call(
                &client,
                reqwest::Method::DELETE,
                url.as_str(),
                NO_BODY,
                HINT,
            )
            .await?;
            if global.json {
                return print_json(serde_json::to_value(answer)?);
            }
            println!("revoked token {name}");
            Ok(())
        }
    }
}

/// What to do with a new token, for stderr.
fn explain(info: &TokenInfo, token: &str) -> String {
    let mut kind = Vec::new();
    if info.read_only {
        kind.push("read-only".to_string());
    }
    if let Some(endpoint) = &info.endpoint {
        kind.push(format!("invokes endpoint {endpoint} only"));
    }
    kind.push(match info.expires_at {
        Some(at) => format!("expires {} UTC", output::time(Some(at))),
        None => "never expires".to_string(),
    });
    format!(
        "\ntoken '{}' of {} ({}).\n\
         It is shown only now: the server keeps only its hash. Use it as MLflow's client does:\n\n    \
         export MLFLOW_TRACKING_TOKEN={token}\n\n\
         (unset MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD there: when both are set they win).",
        info.name,
        info.username,
        kind.join(", ")
    )
}

/// One row per token, oldest first as the server lists them.
fn table(tokens: &[TokenInfo]) -> comfy_table::Table {
    let mut table = output::table([
        "name",
        "created",
        "expires",
        "last used",
        "revoked",
        "read-only",
        "endpoint",
    ]);
    let or = |ms: Option<i64>, absent: &str| match ms {
        Some(_) => output::time(ms),
        None => absent.to_string(),
    };
    for token in tokens {
        table.add_row(vec![
            token.name.clone(),
            output::time(Some(token.created_at)),
            or(token.expires_at, "never"),
            or(token.last_used_at, "never"),
            or(token.revoked_at, ""),
            if token.read_only { "yes" } else { "no" }.to_string(),
            token.endpoint.clone().unwrap_or_default(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_api::identity::token_path;

    #[test]
    fn lifetimes_read_as_a_person_writes_them() {
        assert_eq!(parse_lifetime("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_lifetime("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_lifetime("0d").is_err());
        assert!(parse_lifetime("a month").unwrap_err().contains("30d"));
    }

    #[test]
    fn token_names_are_one_escaped_path_segment() {
        let url = tokens_url("http://h:5000", Some("ci"), None).unwrap();
        assert_eq!(url.as_str(), format!("http://h:5000{}", token_path("ci")));
        let url = tokens_url("http://h:5000/prefix", Some("my token?"), Some("bob smith")).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:5000/prefix/api/2.0/smelt/tokens/my%20token%3F?username=bob+smith"
        );
    }

    #[test]
    fn the_table_says_never_for_missing_times() {
        let info = TokenInfo {
            name: "ci".into(),
            username: "alice".into(),
            read_only: true,
            endpoint: None,
            created_at: 0,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        let text = table(std::slice::from_ref(&info)).to_string();
        assert!(text.contains("never"), "{text}");
        assert!(explain(&info, "smelt_x").contains("export MLFLOW_TRACKING_TOKEN=smelt_x"));
    }
}

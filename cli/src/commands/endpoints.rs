//! `smelt endpoints …`: model endpoints hosted by a running `smelt server`
//! (weighted variants, a shadow, batching, capture), through its API.

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use smelt_serving::http::manage::ENDPOINTS_PATH;

use crate::commands::serve::BatchingArgs;
use crate::config::GlobalArgs;
use crate::output::{self, print_json, print_table};
use crate::remote::{ServerArg, call};

const HINT: &str = "`smelt endpoints list` shows the server's endpoints";

pub const DEFINE_ABOUT: &str = "\
Each --variant is a model reference with an optional traffic weight, and the
share of traffic a variant gets is its weight over the sum of weights:

  smelt endpoints create iris \\
      --variant models:/iris@champion=90 --variant models:/iris@challenger=10

A variant is named after its alias (champion), version (v3) or run; name it
yourself with NAME:REF=WEIGHT (e.g. blue:models:/iris/3=50). A --shadow gets
a copy of every request; its answers are captured and logged, never returned.
Every variant is loaded before the command returns, so a wrong reference
fails here. Invoke with POST /endpoints/NAME/invocations (MLflow protocol) or
POST /v2/models/NAME/infer; answers say which variant and version answered
(headers smelt-variant, smelt-model-version).";

#[derive(Debug, Subcommand)]
pub enum EndpointsCommand {
    /// Create an endpoint
    #[command(long_about = DEFINE_ABOUT)]
    Create(DefineArgs),
    /// Replace an endpoint's variants and settings (old variants answer until the new load)
    #[command(long_about = DEFINE_ABOUT)]
    Update(DefineArgs),
    /// Delete an endpoint
    Delete {
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List endpoints with the versions they serve
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        server: ServerArg,
    },
    /// Show one endpoint
    Show {
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
}

#[derive(Debug, Args)]
pub struct DefineArgs {
    /// The endpoint's name (letters, digits, '-', '_', '.')
    name: String,
    /// [NAME:]MODEL_REFERENCE[=WEIGHT], repeatable
    #[arg(long = "variant", required = true, value_name = "VARIANT")]
    variants: Vec<String>,
    /// [NAME:]MODEL_REFERENCE that receives a copy of every request
    #[arg(long, value_name = "VARIANT")]
    shadow: Option<String>,
    /// Percentage of requests captured for monitoring (0 to 100)
    #[arg(long, default_value_t = 0.0, value_name = "PERCENT")]
    capture_percent: f64,
    #[command(flatten)]
    batching: BatchingArgs,
    #[command(flatten)]
    server: ServerArg,
}

impl DefineArgs {
    fn spec(&self) -> anyhow::Result<Value> {
        let variants = self
            .variants
            .iter()
            .map(|text| parse_variant(text, true))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let shadow = self
            .shadow
            .as_deref()
            .map(|text| parse_variant(text, false))
            .transpose()?;
        let mut spec = json!({
            "name": self.name,
            "variants": variants,
            "batching": self.batching.config(),
            "capture": { "sample_percent": self.capture_percent },
        });
        if let Some(shadow) = shadow {
            spec["shadow"] = shadow;
        }
        Ok(spec)
    }
}

/// `[NAME:]REF[=WEIGHT]`. The name is whatever precedes the first ':' when
/// that is not a URI scheme (`models`, `runs`, `file`).
fn parse_variant(text: &str, weighted: bool) -> anyhow::Result<Value> {
    let text = text.trim();
    let (name, rest) = match text.split_once(':') {
        Some((name, rest)) if !matches!(name, "models" | "runs" | "file") => (name, rest),
        _ => ("", text),
    };
    let (model, weight) = match rest.rsplit_once('=') {
        Some((model, weight)) if weighted => {
            let weight: u32 = weight.trim().parse().map_err(|_| {
                crate::error::hinted(
                    format!("'{text}': the weight '{weight}' is not a whole number"),
                    "write --variant models:/iris@champion=90",
                )
            })?;
            (model, weight)
        }
        _ => (rest, 1),
    };
    Ok(json!({ "name": name, "model": model.trim(), "weight": weight }))
}

pub async fn run(global: &GlobalArgs, command: EndpointsCommand) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let (method, server, path, body) = match &command {
        EndpointsCommand::Create(args) => (
            reqwest::Method::POST,
            &args.server,
            String::new(),
            Some(args.spec()?),
        ),
        EndpointsCommand::Update(args) => (
            reqwest::Method::PUT,
            &args.server,
            format!("/{}", args.name),
            Some(args.spec()?),
        ),
        EndpointsCommand::Delete { name, server } => {
            (reqwest::Method::DELETE, server, format!("/{name}"), None)
        }
        EndpointsCommand::List { server } => (reqwest::Method::GET, server, String::new(), None),
        EndpointsCommand::Show { name, server } => {
            (reqwest::Method::GET, server, format!("/{name}"), None)
        }
    };
    let base = server.url(global)?;
    let answer = call(
        &client,
        method,
        &format!("{base}{ENDPOINTS_PATH}{path}"),
        body,
        HINT,
    )
    .await?;
    if global.json {
        return print_json(answer);
    }
    match command {
        EndpointsCommand::Delete { name, .. } => {
            println!("deleted endpoint {name}");
            Ok(())
        }
        EndpointsCommand::List { .. } => {
            let endpoints = answer["endpoints"].as_array().cloned().unwrap_or_default();
            print_endpoints(&endpoints);
            Ok(())
        }
        _ => {
            let endpoint = &answer["endpoint"];
            print_endpoints(std::slice::from_ref(endpoint));
            println!(
                "invoke: POST {base}{}  or  POST {base}{}",
                endpoint["invocations_path"].as_str().unwrap_or_default(),
                endpoint["oip_path"].as_str().unwrap_or_default()
            );
            Ok(())
        }
    }
}

/// One row per variant (and shadow).
fn print_endpoints(endpoints: &[Value]) {
    let mut table = output::table(["endpoint", "variant", "role", "model", "traffic", "serving"]);
    for endpoint in endpoints {
        let name = endpoint["name"].as_str().unwrap_or_default();
        let variants = endpoint["variants"].as_array().cloned().unwrap_or_default();
        let shadow = endpoint["shadow"]
            .as_object()
            .map(|_| endpoint["shadow"].clone());
        for (variant, role) in variants
            .iter()
            .map(|v| (v, "variant"))
            .chain(shadow.iter().map(|v| (v, "shadow")))
        {
            let serving = &variant["serving"];
            table.add_row(vec![
                name.to_string(),
                variant["name"].as_str().unwrap_or_default().to_string(),
                role.to_string(),
                variant["model"].as_str().unwrap_or_default().to_string(),
                match variant["traffic_share"].as_f64() {
                    Some(share) => format!("{:.0}%", share * 100.0),
                    None => "copy".into(),
                },
                match (serving["model"].as_str(), serving["version"].as_str()) {
                    (Some(model), Some(version)) => format!("{model}/{version}"),
                    _ => "not loaded".into(),
                },
            ]);
        }
    }
    print_table(&table);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse_with_optional_names_and_weights() {
        assert_eq!(
            parse_variant("models:/iris@champion=90", true).unwrap(),
            json!({"name": "", "model": "models:/iris@champion", "weight": 90})
        );
        assert_eq!(
            parse_variant("blue:models:/iris/3=50", true).unwrap(),
            json!({"name": "blue", "model": "models:/iris/3", "weight": 50})
        );
        assert_eq!(
            parse_variant("runs:/abc/model", true).unwrap(),
            json!({"name": "", "model": "runs:/abc/model", "weight": 1})
        );
        assert!(parse_variant("models:/iris@a=ninety", true).is_err());
    }
}

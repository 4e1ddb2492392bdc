//! `smelt endpoints …`: model endpoints hosted by a running `smelt server`
//! (weighted variants, a shadow, batching, capture), through its API.

use clap::{Args, Subcommand};
use smelt_api::Empty;
use smelt_api::endpoints::{
    CaptureConfig, ENDPOINTS_PATH, EndpointList, EndpointResponse, EndpointSpec, EndpointView,
    VariantSpec, endpoint_path,
};

use crate::config::GlobalArgs;
use crate::output::{self, print_json, print_table};
use crate::remote::{NO_BODY, ServerArg, call};
use crate::shared::serving::BatchingArgs;

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
    fn spec(&self) -> anyhow::Result<EndpointSpec> {
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
        Ok(EndpointSpec {
            name: self.name.clone(),
            variants,
            shadow,
            batching: self.batching.config(),
            capture: CaptureConfig {
                sample_percent: self.capture_percent,
            },
        })
    }
}

/// `[NAME:]REF[=WEIGHT]`. The name is whatever precedes the first ':' when
/// that is not a URI scheme (`models`, `runs`, `file`).
fn parse_variant(text: &str, weighted: bool) -> anyhow::Result<VariantSpec> {
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
    Ok(VariantSpec {
        name: name.to_string(),
        model: model.trim().to_string(),
        weight,
    })
}

pub async fn run(global: &GlobalArgs, command: EndpointsCommand) -> anyhow::Result<()> {
    let client = crate::remote::client()?;
    match &command {
        EndpointsCommand::Create(args) => {
            let base = args.server.url(global)?;
            let url = format!("{base}{ENDPOINTS_PATH}");
            let answer: EndpointResponse = call(
                &client,
                reqwest::Method::POST,
                &url,
                Some(&args.spec()?),
                HINT,
            )
            .await?;
            show_one(global, &base, &answer)
        }
        EndpointsCommand::Update(args) => {
            let base = args.server.url(global)?;
            let url = format!("{base}{}", endpoint_path(&args.name));
            let answer: EndpointResponse = call(
                &client,
                reqwest::Method::PUT,
                &url,
                Some(&args.spec()?),
                HINT,
            )
            .await?;
            show_one(global, &base, &answer)
        }
        EndpointsCommand::Show { name, server } => {
            let base = server.url(global)?;
            let url = format!("{base}{}", endpoint_path(name));
            let answer: EndpointResponse =
                call(&client, reqwest::Method::GET, &url, NO_BODY, HINT).await?;
            show_one(global, &base, &answer)
        }
        EndpointsCommand::Delete { name, server } => {
            let base = server.url(global)?;
            let url = format!("{base}{}", endpoint_path(name));
            let answer: Empty = call(&client, reqwest::Method::DELETE, &url, NO_BODY, HINT).await?;
            if global.json {
                return print_json(serde_json::to_value(answer)?);
            }
            println!("deleted endpoint {name}");
            Ok(())
        }
        EndpointsCommand::List { server } => {
            let base = server.url(global)?;
            let url = format!("{base}{ENDPOINTS_PATH}");
            let answer: EndpointList =
                call(&client, reqwest::Method::GET, &url, NO_BODY, HINT).await?;
            if global.json {
                return print_json(serde_json::to_value(&answer)?);
            }
            print_endpoints(&answer.endpoints);
            Ok(())
        }
    }
}

/// One endpoint as the server answered it, with where to invoke it.
fn show_one(global: &GlobalArgs, base: &str, answer: &EndpointResponse) -> anyhow::Result<()> {
    if global.json {
        return print_json(serde_json::to_value(answer)?);
    }
    let endpoint = &answer.endpoint;
    print_endpoints(std::slice::from_ref(endpoint));
    println!(
        "invoke: POST {base}{}  or  POST {base}{}",
        endpoint.invocations_path, endpoint.oip_path
    );
    Ok(())
}

/// One row per variant (and shadow).
fn print_endpoints(endpoints: &[EndpointView]) {
    let mut table = output::table(["endpoint", "variant", "role", "model", "traffic", "serving"]);
    for endpoint in endpoints {
        for (variant, role) in endpoint
            .variants
            .iter()
            .map(|v| (v, "variant"))
            .chain(endpoint.shadow.iter().map(|v| (v, "shadow")))
        {
            table.add_row(vec![
                endpoint.name.clone(),
                variant.name.clone(),
                role.to_string(),
                variant.model.clone(),
                match variant.traffic_share {
                    Some(share) => format!("{:.0}%", share * 100.0),
                    None => "copy".into(),
                },
                match &variant.serving {
                    Some(version) => version.label(),
                    None => "not loaded".into(),
                },
            ]);
        }
    }
    print_table(&table);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(name: &str, model: &str, weight: u32) -> VariantSpec {
        VariantSpec {
            name: name.into(),
            model: model.into(),
            weight,
        }
    }

    #[test]
    fn variants_parse_with_optional_names_and_weights() {
        assert_eq!(
            parse_variant("models:/iris@champion=90", true).unwrap(),
            variant("", "models:/iris@champion", 90)
        );
        assert_eq!(
            parse_variant("blue:models:/iris/3=50", true).unwrap(),
            variant("blue", "models:/iris/3", 50)
        );
        assert_eq!(
            parse_variant("runs:/abc/model", true).unwrap(),
            variant("", "runs:/abc/model", 1)
        );
        assert!(parse_variant("models:/iris@a=ninety", true).is_err());
    }
}

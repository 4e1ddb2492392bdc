//! The endpoints API (`/api/2.0/smelt/endpoints`): model endpoints hosted by
//! a server, with weighted variants, a shadow, batching and capture.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /api/2.0/smelt/endpoints` | [`EndpointSpec`] | [`EndpointResponse`] |
//! | `GET /api/2.0/smelt/endpoints` | | [`EndpointList`], by name |
//! | `GET /api/2.0/smelt/endpoints/{name}` | | [`EndpointResponse`] |
//! | `PUT /api/2.0/smelt/endpoints/{name}` | [`EndpointSpec`] (name optional) | [`EndpointResponse`] |
//! | `DELETE /api/2.0/smelt/endpoints/{name}` | | [`crate::Empty`] |
//!
//! [`EndpointSpec`] is also what the server keeps in its tracking store
//! (definition kind `endpoint`), so it only gains fields with defaults.
//! Checking a spec (names, references, limits) needs serving's model
//! references and lives there (`smelt_serving::EndpointSpecExt::normalized`).

use serde::{Deserialize, Serialize};

/// Where the endpoints API lives.
pub const ENDPOINTS_PATH: &str = "/api/2.0/smelt/endpoints";

/// The path of one endpoint in the API.
pub fn endpoint_path(name: &str) -> String {
    format!("{ENDPOINTS_PATH}/{name}")
}

/// Where an endpoint answers MLflow's scoring protocol.
pub fn invocations_path(name: &str) -> String {
    format!("/endpoints/{name}/invocations")
}

/// Where an endpoint answers the Open Inference Protocol.
pub fn oip_infer_path(name: &str) -> String {
    format!("/v2/models/{name}/infer")
}

/// An endpoint as its owner defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// Letters, digits, `-`, `_`, `.`. A `PUT` may leave it out (the path
    /// names the endpoint); a `POST` must give it.
    #[serde(default)]
    pub name: String,
    /// Variants sharing the traffic by weight.
    pub variants: Vec<VariantSpec>,
    /// Receives a copy of every request; its answer is captured and
    /// logged, never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<VariantSpec>,
    /// How each variant batches requests.
    #[serde(default)]
    pub batching: BatchConfig,
    /// How much traffic is captured for monitoring.
    #[serde(default)]
    pub capture: CaptureConfig,
}

/// One model behind an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Defaults to what the model reference names: the alias, `v3`,
    /// `latest`, the run id's start or the folder name.
    #[serde(default)]
    pub name: String,
    /// `models:/NAME@ALIAS`, `models:/NAME/VERSION`, `runs:/ID/PATH` or a folder.
    pub model: String,
    /// Share of traffic: weight / sum of weights.
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// How a variant batches. Every field has a measured default (see
/// README.md, "Serving").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    /// Most rows one model call takes.
    pub max_batch_rows: usize,
    /// How long a worker waits for more requests once it has some, in
    /// microseconds (0: run whatever is waiting at once).
    pub max_delay_us: u64,
    /// Most rows waiting in the queue before requests are refused with 503.
    pub queue_rows: usize,
    /// Worker threads running the model (0: one per core).
    pub workers: usize,
    /// How long a request may wait for its answer, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch_rows: 256,
            max_delay_us: 0,
            queue_rows: 65_536,
            workers: 0,
            timeout_ms: 30_000,
        }
    }
}

/// Traffic capture for monitoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    /// Percentage of requests captured, 0 to 100.
    pub sample_percent: f64,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            sample_percent: 0.0,
        }
    }
}

/// What the API shows of an endpoint: its settings and what serves now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointView {
    /// The endpoint's name.
    pub name: String,
    /// Every variant has a loaded version.
    pub ready: bool,
    /// The weighted variants.
    pub variants: Vec<VariantView>,
    /// The shadow, if any (`null` otherwise).
    pub shadow: Option<VariantView>,
    /// Its batching settings.
    pub batching: BatchConfig,
    /// Its capture settings.
    pub capture: CaptureConfig,
    /// Where it answers MLflow's scoring protocol ([`invocations_path`]).
    pub invocations_path: String,
    /// Where it answers the Open Inference Protocol ([`oip_infer_path`]).
    pub oip_path: String,
}

/// One variant (or the shadow) as it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantView {
    /// The variant's name.
    pub name: String,
    /// The model reference it follows.
    pub model: String,
    /// Its weight.
    pub weight: u32,
    /// Its share of traffic, 0 to 1; `null` for the shadow, which gets a copy.
    pub traffic_share: Option<f64>,
    /// The version answering now; `null` until one loaded.
    pub serving: Option<ServingVersion>,
    /// Whether a version is loaded.
    pub ready: bool,
}

/// The concrete version a variant serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingVersion {
    /// Registered model name, or the run id / folder name.
    pub model: String,
    /// Registry version, or the run id / `local`.
    pub version: String,
    /// The immutable URI it was loaded from.
    pub uri: String,
}

impl ServingVersion {
    /// `MODEL/VERSION`, as response headers and listings name a version.
    pub fn label(&self) -> String {
        format!("{}/{}", self.model, self.version)
    }
}

/// One endpoint: the answer to create, get and update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointResponse {
    /// The endpoint as it runs now.
    pub endpoint: EndpointView,
}

/// Every endpoint, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointList {
    /// The endpoints.
    pub endpoints: Vec<EndpointView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_spec_reads_with_defaults_and_writes_without_an_absent_shadow() {
        let spec: EndpointSpec = serde_json::from_value(json!({
            "name": "iris",
            "variants": [{"model": "models:/iris@champion"}]
        }))
        .unwrap();
        assert_eq!(spec.variants[0].weight, 1);
        assert_eq!(spec.variants[0].name, "");
        assert_eq!(spec.batching, BatchConfig::default());
        assert_eq!(spec.capture.sample_percent, 0.0);
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            json!({
                "name": "iris",
                "variants": [{"name": "", "model": "models:/iris@champion", "weight": 1}],
                "batching": {"max_batch_rows": 256, "max_delay_us": 0, "queue_rows": 65536,
                             "workers": 0, "timeout_ms": 30000},
                "capture": {"sample_percent": 0.0}
            })
        );
    }

    #[test]
    fn a_full_spec_round_trips_and_unknown_fields_are_refused() {
        let wire = json!({
            "name": "iris",
            "variants": [{"name": "blue", "model": "models:/iris/3", "weight": 90},
                         {"name": "green", "model": "models:/iris/4", "weight": 10}],
            "shadow": {"name": "next", "model": "runs:/abc/model", "weight": 1},
            "batching": {"max_batch_rows": 64, "max_delay_us": 500, "queue_rows": 1024,
                         "workers": 2, "timeout_ms": 1000},
            "capture": {"sample_percent": 12.5}
        });
        let spec: EndpointSpec = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&spec).unwrap(), wire);
        let mut typo = wire.clone();
        typo["variant"] = json!([]);
        assert!(serde_json::from_value::<EndpointSpec>(typo).is_err());
        let mut typo = wire;
        typo["batching"]["max_rows"] = json!(1);
        assert!(serde_json::from_value::<EndpointSpec>(typo).is_err());
    }

    #[test]
    fn an_update_may_leave_the_name_to_the_path() {
        let spec: EndpointSpec =
            serde_json::from_value(json!({"variants": [{"model": "/models/a"}]})).unwrap();
        assert_eq!(spec.name, "");
    }

    #[test]
    fn an_endpoint_view_has_its_wire_shape() {
        let wire = json!({"endpoint": {
            "name": "iris", "ready": true,
            "variants": [{"name": "champion", "model": "models:/iris@champion", "weight": 1,
                          "traffic_share": 1.0, "ready": true,
                          "serving": {"model": "iris", "version": "3", "uri": "models:/iris/3"}}],
            "shadow": null,
            "batching": {"max_batch_rows": 256, "max_delay_us": 0, "queue_rows": 65536,
                         "workers": 0, "timeout_ms": 30000},
            "capture": {"sample_percent": 100.0},
            "invocations_path": "/endpoints/iris/invocations",
            "oip_path": "/v2/models/iris/infer"
        }});
        let view = EndpointResponse {
            endpoint: EndpointView {
                name: "iris".into(),
                ready: true,
                variants: vec![VariantView {
                    name: "champion".into(),
                    model: "models:/iris@champion".into(),
                    weight: 1,
                    traffic_share: Some(1.0),
                    serving: Some(ServingVersion {
                        model: "iris".into(),
                        version: "3".into(),
                        uri: "models:/iris/3".into(),
                    }),
                    ready: true,
                }],
                shadow: None,
                batching: BatchConfig::default(),
                capture: CaptureConfig {
                    sample_percent: 100.0,
                },
                invocations_path: invocations_path("iris"),
                oip_path: oip_infer_path("iris"),
            },
        };
        assert_eq!(serde_json::to_value(&view).unwrap(), wire);
        assert_eq!(
            serde_json::from_value::<EndpointResponse>(wire).unwrap(),
            view
        );
        assert_eq!(
            view.endpoint.variants[0].serving.as_ref().unwrap().label(),
            "iris/3"
        );
        assert_eq!(endpoint_path("iris"), "/api/2.0/smelt/endpoints/iris");
    }

    #[test]
    fn an_unloaded_variant_and_a_shadow_say_so_with_nulls() {
        let variant: VariantView = serde_json::from_value(json!({
            "name": "next", "model": "runs:/abc/model", "weight": 1,
            "traffic_share": null, "serving": null, "ready": false
        }))
        .unwrap();
        assert_eq!(variant.traffic_share, None);
        assert_eq!(variant.serving, None);
        let list: EndpointList = serde_json::from_value(json!({"endpoints": []})).unwrap();
        assert!(list.endpoints.is_empty());
    }
}

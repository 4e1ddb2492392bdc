//! Endpoints: a name, weighted variants (each a model reference), an
//! optional shadow, batching and capture settings.
//!
//! [`EndpointSpec`] is what users write and what the tracking store keeps
//! (JSON, kind `endpoint`); the type is `smelt-api`'s, its checks
//! ([`EndpointSpecExt::normalized`]) are here. [`Endpoint`] is the running form: each variant
//! holds its current [`LoadedModel`] in an `ArcSwap`, so a request takes a
//! consistent version with one atomic load, and a hot swap is one atomic
//! store; requests already holding the old version finish on it, and the
//! old version's queue stops when the last of them lets go.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::batcher::BatchConfigExt;
use crate::error::{Result, ServeError};
use crate::loaded::LoadedModel;
use crate::metrics::{ServingMetrics, VariantMetrics};
use crate::source::{ModelUri, parse_reference};

/// An endpoint's definition (what users write and the store keeps) is
/// `smelt-api`'s; checking one needs model references, so it is here.
pub use smelt_api::endpoints::{CaptureConfig, EndpointSpec, VariantSpec};

/// Serving's checks of an [`EndpointSpec`].
pub trait EndpointSpecExt: Sized {
    /// Checks the spec and fills in variant names.
    fn normalized(self) -> Result<EndpointSpec>;
}

impl EndpointSpecExt for EndpointSpec {
    fn normalized(mut self) -> Result<EndpointSpec> {
        if self.name.is_empty() {
            return Err(ServeError::InvalidInput(
                "the endpoint spec needs a name".into(),
            ));
        }
        validate_name(&self.name)?;
        if self.variants.is_empty() {
            return Err(ServeError::InvalidInput(format!(
                "endpoint '{}' needs at least one variant",
                self.name
            )));
        }
        self.batching.validate()?;
        let rate = self.capture.sample_percent;
        if !(0.0..=100.0).contains(&rate) {
            return Err(ServeError::InvalidInput(format!(
                "capture.sample_percent must be between 0 and 100, got {rate}"
            )));
        }
        let mut taken: Vec<String> = Vec::new();
        for variant in self.variants.iter_mut().chain(self.shadow.as_mut()) {
            let reference = parse_reference(&variant.model)?;
            if variant.name.trim().is_empty() {
                variant.name = unique(default_variant_name(&reference), &taken);
            }
            validate_name(&variant.name)?;
            if taken.contains(&variant.name) {
                return Err(ServeError::InvalidInput(format!(
                    "two variants of endpoint '{}' are named '{}'; give one a name",
                    self.name, variant.name
                )));
            }
            taken.push(variant.name.clone());
        }
        if self.variants.iter().all(|v| v.weight == 0) {
            return Err(ServeError::InvalidInput(
                "at least one variant needs a weight above 0".into(),
            ));
        }
        Ok(self)
    }
}

/// Names appear in URLs, headers and metric labels: keep them plain.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ServeError::InvalidInput(format!(
            "'{name}' is not a valid name: use 1 to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

fn default_variant_name(reference: &ModelUri) -> String {
    let name = match reference {
        ModelUri::Alias { alias, .. } => alias.clone(),
        ModelUri::Version { version, .. } => format!("v{version}"),
        ModelUri::Latest { .. } => "latest".into(),
        ModelUri::Run { run_id, .. } => run_id.chars().take(8).collect(),
        ModelUri::Folder(path) => path
            .file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned()),
        // `parse_reference` refuses the other forms.
        ModelUri::Stage { .. }
        | ModelUri::LoggedModel { .. }
        | ModelUri::ServerArtifact { .. }
        | ModelUri::Location { .. } => "model".into(),
    };
    plain_name(&name)
}

/// `text` as a name [`validate_name`] accepts: other characters become
/// `-`, at most 64 of them, `model` when nothing usable is left.
pub fn plain_name(text: &str) -> String {
    let plain: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if plain.is_empty() || plain.starts_with('.') {
        "model".into()
    } else {
        plain
    }
}

fn unique(name: String, taken: &[String]) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..)
        .map(|i| format!("{name}-{i}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(name)
}

/// A running variant.
pub struct Variant {
    pub spec: VariantSpec,
    pub reference: ModelUri,
    pub name: Arc<str>,
    /// The name as a response header value.
    pub name_header: axum::http::HeaderValue,
    /// `None` until the first version loads (after a restart whose load
    /// failed, say): requests get 503 meanwhile.
    pub current: ArcSwapOption<LoadedModel>,
    pub metrics: VariantMetrics,
}

impl Variant {
    pub fn new(
        endpoint: &str,
        spec: VariantSpec,
        metrics: &Arc<ServingMetrics>,
    ) -> Result<Variant> {
        Ok(Variant {
            // Names were checked to be plain ASCII by `normalized`.
            name_header: axum::http::HeaderValue::from_str(&spec.name).map_err(|_| {
                ServeError::InvalidInput(format!("'{}' is not a valid name", spec.name))
            })?,
            reference: parse_reference(&spec.model)?,
            name: spec.name.as_str().into(),
            metrics: metrics.variant(endpoint, &spec.name),
            current: ArcSwapOption::empty(),
            spec,
        })
    }

    /// The version serving now.
    pub fn loaded(&self) -> Result<Arc<LoadedModel>> {
        self.current.load_full().ok_or_else(|| {
            ServeError::Unavailable(format!(
                "variant '{}' ({}) is not loaded yet",
                self.name, self.spec.model
            ))
        })
    }
}

/// A running endpoint.
pub struct Endpoint {
    pub spec: EndpointSpec,
    pub name: Arc<str>,
    pub variants: Vec<Variant>,
    pub shadow: Option<Variant>,
    total_weight: u64,
}

impl Endpoint {
    /// Builds the running form of a normalized spec; nothing is loaded yet.
    pub fn new(spec: EndpointSpec, metrics: &Arc<ServingMetrics>) -> Result<Endpoint> {
        let variants = spec
            .variants
            .iter()
            .map(|v| Variant::new(&spec.name, v.clone(), metrics))
            .collect::<Result<Vec<_>>>()?;
        let shadow = spec
            .shadow
            .clone()
            .map(|v| Variant::new(&spec.name, v, metrics))
            .transpose()?;
        Ok(Endpoint {
            name: spec.name.as_str().into(),
            total_weight: variants.iter().map(|v| u64::from(v.spec.weight)).sum(),
            variants,
            shadow,
            spec,
        })
    }

    /// Picks the variant for a request: the one named by `target` (as
    /// SageMaker's TargetVariant), else at random by weight.
    pub fn choose(&self, target: Option<&str>) -> Result<&Variant> {
        if let Some(target) = target {
            return self
                .variants
                .iter()
                .find(|v| &*v.name == target)
                .ok_or_else(|| {
                    ServeError::NotFound(format!(
                        "endpoint '{}' has no variant '{target}' (it has: {})",
                        self.name,
                        self.variant_names().join(", ")
                    ))
                });
        }
        if self.variants.len() == 1 {
            return Ok(&self.variants[0]);
        }
        let mut ticket = rand::random_range(0..self.total_weight.max(1));
        for variant in &self.variants {
            let weight = u64::from(variant.spec.weight);
            if ticket < weight {
                return Ok(variant);
            }
            ticket -= weight;
        }
        Ok(&self.variants[0])
    }

    pub fn variant_names(&self) -> Vec<&str> {
        self.variants.iter().map(|v| &*v.name).collect()
    }

    /// Every variant, shadow included.
    pub fn all_variants(&self) -> impl Iterator<Item = &Variant> {
        self.variants.iter().chain(self.shadow.as_ref())
    }

    /// Ready when every variant has a version loaded.
    pub fn is_ready(&self) -> bool {
        self.all_variants().all(|v| v.current.load().is_some())
    }

    /// Whether to capture this request.
    pub fn sample(&self) -> bool {
        let rate = self.spec.capture.sample_percent;
        rate >= 100.0 || (rate > 0.0 && rand::random::<f64>() * 100.0 < rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batcher::BatchConfig;

    fn spec(variants: &[(&str, u32)]) -> EndpointSpec {
        EndpointSpec {
            name: "iris".into(),
            variants: variants
                .iter()
                .map(|(model, weight)| VariantSpec {
                    name: String::new(),
                    model: model.to_string(),
                    weight: *weight,
                })
                .collect(),
            shadow: None,
            batching: BatchConfig::default(),
            capture: CaptureConfig::default(),
        }
    }

    #[test]
    fn variant_names_come_from_the_references() {
        let spec = spec(&[
            ("models:/iris@champion", 90),
            ("models:/iris/3", 10),
            ("models:/wine@champion", 0),
        ])
        .normalized()
        .unwrap();
        let names: Vec<_> = spec.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["champion", "v3", "champion-2"]);
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let error = |s: EndpointSpec| s.normalized().unwrap_err().to_string();
        assert!(error(spec(&[])).contains("at least one variant"));
        assert!(error(spec(&[("models:/iris@a", 0)])).contains("weight above 0"));
        assert!(error(spec(&[("models:/iris", 1)])).contains("names no version"));
        let mut bad_name = spec(&[("models:/iris@a", 1)]);
        bad_name.name = "has space".into();
        assert!(error(bad_name).contains("not a valid name"));
        let mut bad_rate = spec(&[("models:/iris@a", 1)]);
        bad_rate.capture.sample_percent = 101.0;
        assert!(error(bad_rate).contains("between 0 and 100"));
    }

    #[test]
    fn traffic_follows_the_weights() {
        let metrics = Arc::new(ServingMetrics::new());
        let endpoint = Endpoint::new(
            spec(&[
                ("models:/iris@champion", 90),
                ("models:/iris@challenger", 10),
            ])
            .normalized()
            .unwrap(),
            &metrics,
        )
        .unwrap();
        let challenger = (0..20_000)
            .filter(|_| &*endpoint.choose(None).unwrap().name == "challenger")
            .count();
        // 10 % of 20,000 = 2,000; 5 standard deviations is ±212.
        assert!((1_788..=2_212).contains(&challenger), "{challenger}");
        assert_eq!(
            &*endpoint.choose(Some("challenger")).unwrap().name,
            "challenger"
        );
        assert!(endpoint.choose(Some("nope")).is_err());
    }

    #[test]
    fn specs_round_trip_through_json_with_defaults() {
        let parsed: EndpointSpec = serde_json::from_str(
            r#"{"name": "iris", "variants": [{"model": "models:/iris@champion"}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.variants[0].weight, 1);
        assert_eq!(parsed.batching, BatchConfig::default());
        let unknown = serde_json::from_str::<EndpointSpec>(
            r#"{"name": "iris", "variants": [], "colour": 1}"#,
        );
        assert!(unknown.unwrap_err().to_string().contains("unknown field"));
    }
}

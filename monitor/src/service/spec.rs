//! What a monitor is: the endpoint it watches, its reference, its windows,
//! its schedule and its alerts. Stored as JSON in the tracking store
//! (definition kind `monitor`).

use serde::{Deserialize, Serialize};

use crate::drift::DEFAULT_DRIFT_SHARE;
use crate::live::WindowSize;

/// A monitor as its owner defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// Its name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// The endpoint whose captured traffic it reads.
    pub endpoint: String,
    /// What the traffic is compared with: a model reference
    /// (`models:/NAME@ALIAS`, `models:/NAME/VERSION`, `runs:/ID/model`)
    /// whose `profile.json` is used, or a path to a profile.
    pub reference: String,
    /// How traffic is cut into windows.
    pub window: WindowSize,
    /// The share of drifted columns at which a window counts as drifted.
    #[serde(default = "default_drift_share")]
    pub drift_share: f64,
    /// How often new traffic is read, in seconds.
    #[serde(default = "default_every")]
    pub every_seconds: u64,
    /// Where alerts go besides the log.
    #[serde(default)]
    pub alerts: AlertSpec,
    /// Tests chosen per column (`column → test name`), overriding the
    /// default rule.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tests: std::collections::BTreeMap<String, String>,
}

/// Alert delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    /// A URL that receives a JSON POST per drifted window.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Retries after a failed POST (with doubling back-off from 0.5 s).
    #[serde(default = "default_retries")]
    pub retries: u32,
}

impl Default for AlertSpec {
    // Written out: a derived default would give 0 retries when `alerts` is
    // absent, unlike an `alerts` object without `retries`.
    fn default() -> Self {
        AlertSpec {
            webhook: None,
            retries: default_retries(),
        }
    }
}

fn default_drift_share() -> f64 {
    DEFAULT_DRIFT_SHARE
}

fn default_every() -> u64 {
    60
}

fn default_retries() -> u32 {
    3
}

impl MonitorSpec {
    /// The per-column test choices as a plan (names were validated).
    pub fn plan(&self) -> crate::drift::TestPlan {
        self.tests
            .iter()
            .filter_map(|(column, test)| Some((column, crate::drift::TestKind::parse(test)?)))
            .fold(crate::drift::TestPlan::default(), |plan, (column, kind)| {
                plan.with_override(column.clone(), kind)
            })
    }

    /// Checks the spec; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let plain = |name: &str| {
            !name.is_empty()
                && name.len() <= 64
                && !name.starts_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !plain(&self.name) {
            return Err(format!(
                "'{}' is not a valid monitor name: use 1 to 64 letters, digits, '-', '_' or '.'",
                self.name
            ));
        }
        if !plain(&self.endpoint) {
            return Err(format!("'{}' is not an endpoint name", self.endpoint));
        }
        if self.reference.trim().is_empty() {
            return Err(
                "the monitor needs a reference (a model reference or a profile.json)".into(),
            );
        }
        match self.window {
            WindowSize::Rows(0) => return Err("window rows must be at least 1".into()),
            WindowSize::Minutes(0) => return Err("window minutes must be at least 1".into()),
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.drift_share) {
            return Err(format!(
                "drift_share must be between 0 and 1, got {}",
                self.drift_share
            ));
        }
        if self.every_seconds == 0 {
            return Err("every_seconds must be at least 1".into());
        }
        for (column, test) in &self.tests {
            if crate::drift::TestKind::parse(test).is_none() {
                return Err(format!(
                    "unknown drift test '{test}' for column '{column}': use {}",
                    crate::drift::TEST_NAMES
                ));
            }
        }
        if let Some(url) = &self.alerts.webhook
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!("the webhook '{url}' must be an http(s) URL"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MonitorSpec {
        serde_json::from_str(
            r#"{"name": "m", "endpoint": "e", "reference": "models:/x/1", "window": {"rows": 10},
                "tests": {"age": "psi"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn specs_take_defaults_and_check_every_field() {
        let good = spec();
        assert_eq!(good.every_seconds, 60);
        assert_eq!(good.alerts.retries, 3);
        assert!(good.validate().is_ok());
        assert_eq!(
            good.plan()
                .test_for("age", crate::drift::ColumnKind::Numeric, 10, 100),
            crate::drift::TestKind::Psi
        );
        let mut bad = spec();
        bad.tests.insert("x".into(), "magic".into());
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("unknown drift test 'magic'")
        );
        let mut bad = spec();
        bad.window = WindowSize::Rows(0);
        assert!(bad.validate().unwrap_err().contains("at least 1"));
        let mut bad = spec();
        bad.alerts.webhook = Some("ftp://x".into());
        assert!(bad.validate().unwrap_err().contains("http(s)"));
        let mut bad = spec();
        bad.name = "no spaces".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("not a valid monitor name")
        );
    }
}

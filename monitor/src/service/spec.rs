//! What a monitor is: the endpoint it watches, its reference, its windows,
//! its schedule and its alerts. Stored as JSON in the tracking store
//! (definition kind `monitor`). The types are `smelt-api`'s; the checks that
//! need the drift tests ([`MonitorSpecExt`]) are here.

use crate::live::WindowSize;

/// A monitor's spec and alert settings are `smelt-api`'s (clients send
/// them); what they mean for the drift tests is here.
pub use smelt_api::monitors::{AlertSpec, MonitorSpec};

/// The monitor's reading of a [`MonitorSpec`].
pub trait MonitorSpecExt {
    /// The per-column test choices as a plan (names were validated).
    fn plan(&self) -> crate::drift::TestPlan;
    /// Checks the spec; the message says what to fix.
    fn validate(&self) -> Result<(), String>;
}

impl MonitorSpecExt for MonitorSpec {
    fn plan(&self) -> crate::drift::TestPlan {
        self.tests
            .iter()
            .filter_map(|(column, test)| Some((column, crate::drift::TestKind::parse(test)?)))
            .fold(crate::drift::TestPlan::default(), |plan, (column, kind)| {
                plan.with_override(column.clone(), kind)
            })
    }

    fn validate(&self) -> Result<(), String> {
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

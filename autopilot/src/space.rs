//! Search spaces: each hyperparameter has a domain that maps to and from the
//! unit interval, where the samplers ([`crate::tpe`]) work.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Where a hyperparameter's values lie.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// A real number in `[low, high]`, searched on a log scale when `log`.
    Float { low: f64, high: f64, log: bool },
    /// An integer in `[low, high]`, searched on a log scale when `log`.
    Int { low: i64, high: i64, log: bool },
    /// One of a few named choices.
    Choice(&'static [&'static str]),
}

/// A hyperparameter's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Float(f64),
    Choice(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{}", smelt_data::frame::format_number(*x)),
            Value::Choice(s) => f.write_str(s),
        }
    }
}

/// One configuration of a learner: hyperparameter name → value.
pub type Config = BTreeMap<String, Value>;

/// A named hyperparameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub domain: Domain,
}

impl Param {
    pub fn float(name: &'static str, low: f64, high: f64, log: bool) -> Self {
        Param {
            name,
            domain: Domain::Float { low, high, log },
        }
    }

    pub fn int(name: &'static str, low: i64, high: i64, log: bool) -> Self {
        Param {
            name,
            domain: Domain::Int { low, high, log },
        }
    }

    pub fn choice(name: &'static str, choices: &'static [&'static str]) -> Self {
        Param {
            name,
            domain: Domain::Choice(choices),
        }
    }
}

impl Domain {
    /// Number of categories for a choice, `None` for numbers.
    pub fn categories(&self) -> Option<usize> {
        match self {
            Domain::Choice(c) => Some(c.len()),
            _ => None,
        }
    }

    /// The value at position `u ∈ [0, 1]` (for a choice: category `⌊u·n⌋`).
    pub fn from_unit(&self, u: f64) -> Value {
        let u = u.clamp(0.0, 1.0);
        match self {
            Domain::Float { low, high, log } => Value::Float(if *log {
                (low.ln() + u * (high.ln() - low.ln())).exp()
            } else {
                low + u * (high - low)
            }),
            Domain::Int { low, high, log } => {
                let (l, h) = (*low as f64 - 0.5, *high as f64 + 0.5);
                let x = if *log {
                    let l = (*low as f64).max(0.5);
                    (l.ln() + u * (h.ln() - l.ln())).exp()
                } else {
                    l + u * (h - l)
                };
                Value::Int((x.round() as i64).clamp(*low, *high))
            }
            Domain::Choice(choices) => {
                let i = ((u * choices.len() as f64) as usize).min(choices.len() - 1);
                Value::Choice(choices[i].to_string())
            }
        }
    }

    /// The unit-interval position of `value` (a choice maps to its bucket's centre).
    pub fn to_unit(&self, value: &Value) -> f64 {
        let u = match (self, value) {
            (Domain::Float { low, high, log }, Value::Float(x)) => {
                if *log {
                    (x.ln() - low.ln()) / (high.ln() - low.ln())
                } else {
                    (x - low) / (high - low)
                }
            }
            (Domain::Int { low, high, log }, Value::Int(i)) => {
                let (l, h) = (*low as f64 - 0.5, *high as f64 + 0.5);
                if *log {
                    let l = (*low as f64).max(0.5);
                    ((*i as f64).ln() - l.ln()) / (h.ln() - l.ln())
                } else {
                    (*i as f64 - l) / (h - l)
                }
            }
            (Domain::Choice(choices), Value::Choice(s)) => {
                let i = choices.iter().position(|c| c == s).unwrap_or(0);
                (i as f64 + 0.5) / choices.len() as f64
            }
            _ => 0.5,
        };
        u.clamp(0.0, 1.0)
    }
}

/// A uniformly random configuration of `space`.
pub fn sample(space: &[Param], rng: &mut impl Rng) -> Config {
    space
        .iter()
        .map(|p| (p.name.to_string(), p.domain.from_unit(rng.random())))
        .collect()
}

/// Reads a float from a config, `default` when absent or of another type.
pub fn get_f64(config: &Config, name: &str, default: f64) -> f64 {
    match config.get(name) {
        Some(Value::Float(x)) => *x,
        Some(Value::Int(i)) => *i as f64,
        _ => default,
    }
}

pub fn get_usize(config: &Config, name: &str, default: usize) -> usize {
    match config.get(name) {
        Some(Value::Int(i)) => (*i).max(0) as usize,
        Some(Value::Float(x)) => x.max(0.0).round() as usize,
        _ => default,
    }
}

pub fn get_choice<'a>(config: &'a Config, name: &str, default: &'a str) -> &'a str {
    match config.get(name) {
        Some(Value::Choice(s)) => s,
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_positions_round_trip() {
        let domains = [
            Domain::Float {
                low: 1e-4,
                high: 10.0,
                log: true,
            },
            Domain::Float {
                low: 0.0,
                high: 1.0,
                log: false,
            },
            Domain::Int {
                low: 2,
                high: 64,
                log: true,
            },
            Domain::Int {
                low: 1,
                high: 5,
                log: false,
            },
            Domain::Choice(&["gini", "entropy"]),
        ];
        for domain in &domains {
            for step in 0..=20 {
                let value = domain.from_unit(step as f64 / 20.0);
                let back = domain.from_unit(domain.to_unit(&value));
                assert_eq!(back, value, "{domain:?} at {step}");
            }
        }
        // Integer ends are reachable.
        let d = Domain::Int {
            low: 1,
            high: 5,
            log: false,
        };
        assert_eq!(d.from_unit(0.0), Value::Int(1));
        assert_eq!(d.from_unit(1.0), Value::Int(5));
    }
}

//! What one server replica tells the others after it changed something they
//! all serve. Several `smelt server` processes on one database and one NATS
//! act as one: a replica that creates an endpoint or moves an alias
//! publishes a [`Change`], and every replica (itself included) brings its
//! endpoints up to date at once instead of at its next poll.
//!
//! A change names what to look at again, never the new state: the database
//! stays the one truth, so a change that arrives late, twice or not at all
//! (the periodic re-read catches up) never leaves a replica wrong.

use serde::{Deserialize, Serialize};

/// One change, as published between replicas (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// An endpoint was created, updated or deleted: read its definition again.
    Endpoint {
        /// The endpoint's name.
        name: String,
    },
    /// The model registry changed (an alias moved, a version was created or
    /// deleted, a stage changed): resolve every movable model reference again.
    Registry,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_have_a_fixed_wire_shape() {
        let change = Change::Endpoint {
            name: "churn".into(),
        };
        assert_eq!(
            serde_json::to_string(&change).unwrap(),
            r#"{"kind":"endpoint","name":"churn"}"#
        );
        assert_eq!(
            serde_json::to_string(&Change::Registry).unwrap(),
            r#"{"kind":"registry"}"#
        );
        let read: Change = serde_json::from_str(r#"{"kind":"registry"}"#).unwrap();
        assert_eq!(read, Change::Registry);
        assert!(serde_json::from_str::<Change>(r#"{"kind":"other"}"#).is_err());
    }
}

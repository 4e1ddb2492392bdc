//! Smelt's identity API beside MLflow's auth routes: API tokens
//! (`/api/2.0/smelt/tokens`) and the audit log (`/api/2.0/smelt/audit`).
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /api/2.0/smelt/tokens` | [`CreateToken`] | [`TokenCreated`] (the secret, once) |
//! | `GET /api/2.0/smelt/tokens` | | [`TokenList`] (the caller's; `?username=` for admins) |
//! | `DELETE /api/2.0/smelt/tokens/{name}` | | [`crate::Empty`] |
//! | `GET /api/2.0/smelt/audit?since_ms=&limit=` | | [`AuditList`] (admins) |

use serde::{Deserialize, Serialize};

/// Where the tokens API lives.
pub const TOKENS_PATH: &str = "/api/2.0/smelt/tokens";
/// Where the audit log is read.
pub const AUDIT_PATH: &str = "/api/2.0/smelt/audit";

/// The path of one token.
pub fn token_path(name: &str) -> String {
    format!("{TOKENS_PATH}/{name}")
}

/// `POST /api/2.0/smelt/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Unique among the caller's tokens (`ci`, `notebook`).
    pub name: String,
    /// Lifetime in seconds; none means it never expires.
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
    /// Only reads pass.
    #[serde(default)]
    pub read_only: bool,
    /// Make an invoke key: it may only call this endpoint's inference.
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// Whose it is.
    pub username: String,
    /// Only reads pass.
    pub read_only: bool,
    /// The endpoint of an invoke key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// When it stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Last use (recorded at most once a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// The answer to create: the secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreated {
    /// Use as `MLFLOW_TRACKING_TOKEN` (or `Authorization: Bearer`).
    pub token: String,
    /// What was stored.
    pub info: TokenInfo,
}

/// The caller's tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    /// Oldest first, revoked ones included.
    pub tokens: Vec<TokenInfo>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// Who (absent for a refused login without a user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path, without the query string.
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// What was done (`mlflow/runs/log-metric`, `users/permissions/grant`, `login`).
    pub action: String,
    /// What it was done to (`experiment:12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// `GET /api/2.0/smelt/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    /// Oldest first.
    pub entries: Vec<AuditEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_bodies_have_their_wire_shape() {
        let create: CreateToken = serde_json::from_value(
            json!({"name": "ci", "expires_in_seconds": 60, "read_only": true}),
        )
        .unwrap();
        assert_eq!(create.expires_in_seconds, Some(60));
        assert!(
            serde_json::from_value::<CreateToken>(json!({"name": "x", "scope": "all"})).is_err()
        );
        let info = TokenInfo {
            name: "ci".into(),
            username: "alice".into(),
            read_only: false,
            endpoint: None,
            created_at: 1,
            expires_at: None,
            last_used_at: Some(2),
            revoked_at: None,
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"name": "ci", "username": "alice", "read_only": false, "created_at": 1, "last_used_at": 2})
        );
        assert_eq!(token_path("ci"), "/api/2.0/smelt/tokens/ci");
    }

    #[test]
    fn audit_entries_have_their_wire_shape() {
        let entry = AuditEntry {
            at: 5,
            username: Some("bob".into()),
            address: Some("127.0.0.1".into()),
            method: "POST".into(),
            path: "/api/2.0/mlflow/runs/create".into(),
            status: 200,
            action: "mlflow/runs/create".into(),
            resource: Some("experiment:1".into()),
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["resource"], "experiment:1");
        assert_eq!(serde_json::from_value::<AuditEntry>(json).unwrap(), entry);
    }
}

//! MLflow's permission levels and resource types, and how grants on one
//! resource fold into one effective permission.
//!
//! Levels and their capabilities are MLflow 3.17's (`mlflow/server/auth/permissions.py`):
//! READ reads; USE also uses (invokes an endpoint); EDIT also updates; MANAGE
//! also deletes and grants; DENY is an explicit veto that wins over any
//! positive grant it is folded with. NO_PERMISSIONS is only ever a server
//! default, never a grant.

use smelt_tracking::{Error, ErrorCode};

/// One permission level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read only.
    Read,
    /// Read and use (invoke endpoints).
    Use,
    /// Read, use and change.
    Edit,
    /// Everything, including deleting and granting.
    Manage,
    /// An explicit veto.
    Deny,
    /// Nothing (a server default, not a grant).
    NoPermissions,
}

/// What a request needs to be able to do to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// See it.
    Read,
    /// Invoke it (endpoints).
    Use,
    /// Change it.
    Update,
    /// Delete it.
    Delete,
    /// Grant others permissions on it.
    Manage,
}

impl Capability {
    /// Whether it only reads (read-only tokens pass only these).
    pub fn is_read(self) -> bool {
        self == Capability::Read
    }

    /// The name used in messages.
    pub fn verb(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::Use => "use",
            Capability::Update => "update",
            Capability::Delete => "delete",
            Capability::Manage => "manage",
        }
    }
}

impl Permission {
    /// Every level, in MLflow's order.
    pub const ALL: [Permission; 6] = [
        Permission::Read,
        Permission::Use,
        Permission::Edit,
        Permission::Manage,
        Permission::NoPermissions,
        Permission::Deny,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Use => "USE",
            Permission::Edit => "EDIT",
            Permission::Manage => "MANAGE",
            Permission::Deny => "DENY",
            Permission::NoPermissions => "NO_PERMISSIONS",
        }
    }

    /// Parses a wire name; MLflow's message for anything else.
    pub fn parse(name: &str) -> Result<Permission, Error> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid permission '{name}'. Valid permissions are: ('READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS', 'DENY')"
                ))
            })
    }

    /// Parses a level a grant on a resource may carry (not NO_PERMISSIONS).
    pub fn parse_grant(name: &str, resource_type: &str) -> Result<Permission, Error> {
        let permission = Permission::parse(name)?;
        if permission == Permission::NoPermissions {
            return Err(Error::invalid(format!(
                "Invalid permission '{name}' for resource_type='{resource_type}'. Resource-level grants accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE')."
            )));
        }
        Ok(permission)
    }

    /// Whether this level allows a capability.
    pub fn allows(self, capability: Capability) -> bool {
        let rank = self.rank();
        match capability {
            Capability::Read => rank >= 1,
            Capability::Use => rank >= 2,
            Capability::Update => rank >= 3,
            Capability::Delete | Capability::Manage => rank >= 4,
        }
    }

    /// MLflow's `PERMISSION_PRIORITY`: DENY below everything so it never wins
    /// a maximum (it is folded separately, as a veto).
    fn rank(self) -> i8 {
        match self {
            Permission::Deny => -1,
            Permission::NoPermissions => 0,
            Permission::Read => 1,
            Permission::Use => 2,
            Permission::Edit => 3,
            Permission::Manage => 4,
        }
    }

    /// The stronger of two positive levels.
    pub fn max(self, other: Permission) -> Permission {
        if self.rank() >= other.rank() {
            self
        } else {
            other
        }
    }

    /// A positive grant never resolves below the server's default (MLflow's
    /// `floor_positive_permission`); a veto stays a veto.
    pub fn floored(self, default: Permission) -> Permission {
        match self {
            Permission::Deny | Permission::NoPermissions => self,
            positive => positive.max(default),
        }
    }
}

/// Resource types a grant may name: MLflow's, then Smelt's own.
pub const RESOURCE_TYPES: &[&str] = &[
    "experiment",
    "registered_model",
    "prompt",
    "scorer",
    "gateway_secret",
    "gateway_endpoint",
    "gateway_model_definition",
    "mcp_server",
    "run",
    "trace",
    "assessment",
    "logged_model",
    "review_queue",
    "registered_model_version",
    "prompt_version",
    "scorer_version",
    "mcp_server_version",
    ENDPOINT,
    MONITOR,
];

/// Smelt's serving endpoints: USE invokes, EDIT updates, MANAGE deletes.
pub const ENDPOINT: &str = "endpoint";
/// Smelt's drift monitors.
pub const MONITOR: &str = "monitor";
/// MLflow's experiments (runs, logged models, artifacts and jobs follow theirs).
pub const EXPERIMENT: &str = "experiment";
/// MLflow's registered models (versions and aliases follow theirs).
pub const REGISTERED_MODEL: &str = "registered_model";

/// Sub-resource tiers: only wildcard (`*`) grants, as in MLflow, because a
/// per-id grant could not be honoured in searches.
const WILDCARD_ONLY: &[&str] = &[
    "run",
    "trace",
    "assessment",
    "logged_model",
    "review_queue",
    "registered_model_version",
    "prompt_version",
    "scorer_version",
    "mcp_server_version",
];

/// Checks a resource type, with MLflow's message.
pub fn validate_resource_type(resource_type: &str) -> Result<(), Error> {
    if resource_type == "workspace" {
        return Err(Error::invalid(
            "resource_type='workspace' is not a per-resource grant; use the roles API.",
        ));
    }
    if RESOURCE_TYPES.contains(&resource_type) {
        return Ok(());
    }
    let mut valid: Vec<&str> = RESOURCE_TYPES.to_vec();
    valid.sort_unstable();
    Err(Error::invalid(format!(
        "Invalid resource type '{resource_type}'. Valid resource types are: {valid:?}"
    )))
}

/// Checks a role permission's pattern for its type.
pub fn validate_pattern(resource_type: &str, pattern: &str) -> Result<(), Error> {
    if pattern == "*" || !WILDCARD_ONLY.contains(&resource_type) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid resource_pattern '{pattern}' for resource_type='{resource_type}'. This resource type supports only wildcard ('*') grants."
    )))
}

/// A grant as folding sees it: a type, an id or `*`, a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The resource type.
    pub resource_type: String,
    /// An id, or `*`.
    pub pattern: String,
    /// Its level.
    pub permission: Permission,
}

/// MLflow's `fold_grants_for_key`: of the grants that apply to one resource,
/// a DENY vetoes; otherwise the strongest wins; `None` when none applies
/// (the caller then falls back to the next key or the default).
pub fn fold(grants: &[Grant], resource_type: &str, resource_id: &str) -> Option<Permission> {
    let mut best: Option<Permission> = None;
    for grant in grants {
        if grant.resource_type != resource_type {
            continue;
        }
        let applies = grant.pattern == "*"
            || (!WILDCARD_ONLY.contains(&resource_type) && grant.pattern == resource_id);
        if !applies {
            continue;
        }
        if grant.permission == Permission::Deny {
            return Some(Permission::Deny);
        }
        best = Some(best.map_or(grant.permission, |b| b.max(grant.permission)));
    }
    best
}

/// The 403 answer's error.
pub fn denied(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::PermissionDenied, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(resource_type: &str, pattern: &str, permission: Permission) -> Grant {
        Grant {
            resource_type: resource_type.into(),
            pattern: pattern.into(),
            permission,
        }
    }

    #[test]
    fn levels_allow_what_mlflow_says() {
        use Capability::*;
        let table = [
            (Permission::Read, [true, false, false, false, false]),
            (Permission::Use, [true, true, false, false, false]),
            (Permission::Edit, [true, true, true, false, false]),
            (Permission::Manage, [true, true, true, true, true]),
            (Permission::Deny, [false; 5]),
            (Permission::NoPermissions, [false; 5]),
        ];
        for (permission, allowed) in table {
            for (capability, want) in [Read, Use, Update, Delete, Manage].into_iter().zip(allowed) {
                assert_eq!(
                    permission.allows(capability),
                    want,
                    "{permission:?} {capability:?}"
                );
            }
        }
    }

    #[test]
    fn deny_vetoes_and_the_strongest_positive_grant_wins() {
        let grants = [
            grant("experiment", "*", Permission::Read),
            grant("experiment", "7", Permission::Edit),
            grant("registered_model", "m", Permission::Deny),
        ];
        assert_eq!(fold(&grants, "experiment", "7"), Some(Permission::Edit));
        assert_eq!(fold(&grants, "experiment", "8"), Some(Permission::Read));
        assert_eq!(
            fold(&grants, "registered_model", "m"),
            Some(Permission::Deny)
        );
        assert_eq!(fold(&grants, "registered_model", "n"), None);
        let vetoed = [
            grant("experiment", "7", Permission::Manage),
            grant("experiment", "*", Permission::Deny),
        ];
        assert_eq!(fold(&vetoed, "experiment", "7"), Some(Permission::Deny));
    }

    #[test]
    fn sub_resource_tiers_take_only_wildcards() {
        assert!(validate_pattern("run", "abc").is_err());
        assert!(validate_pattern("run", "*").is_ok());
        assert!(validate_pattern("experiment", "12").is_ok());
        let grants = [grant("run", "abc", Permission::Manage)];
        assert_eq!(fold(&grants, "run", "abc"), None);
    }

    #[test]
    fn grants_never_resolve_below_the_default_but_vetoes_stay() {
        assert_eq!(Permission::Read.floored(Permission::Edit), Permission::Edit);
        assert_eq!(
            Permission::Manage.floored(Permission::Read),
            Permission::Manage
        );
        assert_eq!(
            Permission::Deny.floored(Permission::Manage),
            Permission::Deny
        );
    }

    #[test]
    fn bad_names_are_refused_with_mlflows_messages() {
        assert!(
            Permission::parse("ADMIN")
                .unwrap_err()
                .message
                .contains("Invalid permission")
        );
        assert!(Permission::parse_grant("NO_PERMISSIONS", "experiment").is_err());
        assert!(validate_resource_type("experiment").is_ok());
        assert!(validate_resource_type("endpoint").is_ok());
        assert!(
            validate_resource_type("cluster")
                .unwrap_err()
                .message
                .contains("Invalid resource type")
        );
    }
}

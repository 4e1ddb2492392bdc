//! A caller's effective permission on a resource, as MLflow resolves it:
//! admins manage everything; otherwise the grants that apply (the user's own
//! and their roles', folded by [`permission::fold`]: DENY vetoes, else the
//! strongest) decide, never below the server's default; with no grant, the
//! default. Sub-resources (a run, a logged model, a model version) first ask
//! their own tier's wildcard grants, then their parent's.
//!
//! A user's grants are read once and kept for [`GRANTS_TTL`]; a change made
//! through this server forgets them at once. Which experiment a run or
//! logged model belongs to never changes, so that is kept for good.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smelt_tracking::store::identity::IdentityStore;
use smelt_tracking::{Error, ErrorCode, TrackingStore};

use crate::authenticate::Caller;
use crate::permission::{self, Grant, Permission};

/// How long a user's grants are used without reading them again.
pub const GRANTS_TTL: Duration = Duration::from_secs(5);

/// What a request touches, as the request names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An experiment by id.
    Experiment(String),
    /// An experiment by name.
    ExperimentByName(String),
    /// A run (its experiment's permission, after `run` wildcard grants).
    Run(String),
    /// A logged model (its experiment's).
    LoggedModel(String),
    /// A registered model by name.
    RegisteredModel(String),
    /// A version of a registered model (after `registered_model_version` grants).
    ModelVersion(String),
    /// A serving endpoint.
    Endpoint(String),
    /// A drift monitor.
    Monitor(String),
}

/// A target resolved to the (type, id) keys whose grants govern it, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The keys, most specific first; the first with a grant governs.
    pub keys: Vec<(&'static str, String)>,
    /// The resource as audit lines name it (`experiment:12`).
    pub label: String,
}

/// A user's grants and when they were read.
type CachedGrants = (Arc<Vec<Grant>>, Instant);

/// Resolves targets and permissions.
pub struct Resolver {
    store: Arc<dyn IdentityStore>,
    tracking: Arc<dyn TrackingStore>,
    /// The server's default permission (MLflow's `default_permission`).
    pub default: Permission,
    grants: Mutex<HashMap<i64, CachedGrants>>,
    parents: Mutex<HashMap<String, String>>,
}

impl Resolver {
    /// A resolver over the identity and tracking stores.
    pub fn new(
        store: Arc<dyn IdentityStore>,
        tracking: Arc<dyn TrackingStore>,
        default: Permission,
    ) -> Resolver {
        Resolver {
            store,
            tracking,
            default,
            grants: Mutex::new(HashMap::new()),
            parents: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets a user's grants (they changed), or everyone's.
    pub fn forget(&self, user_id: Option<i64>) {
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        match user_id {
            Some(id) => {
                grants.remove(&id);
            }
            None => grants.clear(),
        }
    }

    /// A user's grants and their roles' permissions, as one list.
    pub async fn grants(&self, user_id: i64) -> Result<Arc<Vec<Grant>>, Error> {
        {
            let grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((list, at)) = grants.get(&user_id)
                && at.elapsed() < GRANTS_TTL
            {
                return Ok(list.clone());
            }
        }
        // The user's own grants are their personal role's permissions, so
        // this one list holds grants and roles alike.
        let mut list = Vec::new();
        for role in self.store.list_user_role_permissions(user_id).await? {
            if let Ok(level) = Permission::parse(&role.permission) {
                list.push(Grant {
                    resource_type: role.resource_type,
                    pattern: role.resource_pattern,
                    permission: level,
                });
            }
        }
        let list = Arc::new(list);
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        grants.insert(user_id, (list.clone(), Instant::now()));
        Ok(list)
    }

    /// The experiment a run or logged model belongs to (kept: it never changes).
    async fn parent_experiment(&self, key: &str, lookup: Lookup<'_>) -> Result<String, Error> {
        if let Some(id) = self
            .parents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return Ok(id.clone());
        }
        let experiment_id = match lookup {
            Lookup::Run(run_id) => self.tracking.get_run(run_id).await?.info.experiment_id,
            Lookup::LoggedModel(model_id) => {
                self.tracking
                    .get_logged_model(model_id)
                    .await?
                    .info
                    .experiment_id
            }
        };
        let mut parents = self.parents.lock().unwrap_or_else(|e| e.into_inner());
        if parents.len() > 200_000 {
            parents.clear();
        }
        parents.insert(key.to_string(), experiment_id.clone());
        Ok(experiment_id)
    }

    /// The grant keys of a target. A target that does not exist is
    /// `RESOURCE_DOES_NOT_EXIST`, answered as the handler would.
    pub async fn resolve(&self, target: &Target) -> Result<Resolved, Error> {
        Ok(match target {
            Target::Experiment(id) => Resolved {
                keys: vec![(permission::EXPERIMENT, id.clone())],
                label: format!("experiment:{id}"),
            },
            Target::ExperimentByName(name) => {
                let experiment = self
                    .tracking
                    .get_experiment_by_name(name)
                    .await?
                    .ok_or_else(|| {
                        Error::not_found(format!("Could not find experiment with name '{name}'"))
                    })?;
                Resolved {
                    keys: vec![(permission::EXPERIMENT, experiment.experiment_id.clone())],
                    label: format!("experiment:{}", experiment.experiment_id),
                }
            }
            Target::Run(run_id) => {
                let experiment = self
                    .parent_experiment(&format!("run:{run_id}"), Lookup::Run(run_id))
                    .await?;
                Resolved {
                    keys: vec![("run", "*".into()), (permission::EXPERIMENT, experiment)],
                    label: format!("run:{run_id}"),
                }
            }
            Target::LoggedModel(model_id) => {
                let experiment = self
                    .parent_experiment(&format!("model:{model_id}"), Lookup::LoggedModel(model_id))
                    .await?;
                Resolved {
                    keys: vec![
                        ("logged_model", "*".into()),
                        (permission::EXPERIMENT, experiment),
                    ],
                    label: format!("logged_model:{model_id}"),
                }
            }
            Target::RegisteredModel(name) => Resolved {
                keys: vec![(permission::REGISTERED_MODEL, name.clone())],
                label: format!("registered_model:{name}"),
            },
            Target::ModelVersion(name) => {
                // A version of a model that does not exist is refused, not
                // 404, as MLflow refuses it (the version tier has no parent).
                match self.tracking.get_registered_model(name).await {
                    Ok(_) => {}
                    Err(e) if e.code == ErrorCode::ResourceDoesNotExist => {
                        return Err(permission::denied("Permission denied"));
                    }
                    Err(e) => return Err(e),
                }
                Resolved {
                    keys: vec![
                        ("registered_model_version", "*".into()),
                        (permission::REGISTERED_MODEL, name.clone()),
                    ],
                    label: format!("registered_model:{name}"),
                }
            }
            Target::Endpoint(name) => Resolved {
                keys: vec![(permission::ENDPOINT, name.clone())],
                label: format!("endpoint:{name}"),
            },
            Target::Monitor(name) => Resolved {
                keys: vec![(permission::MONITOR, name.clone())],
                label: format!("monitor:{name}"),
            },
        })
    }

    /// The caller's effective permission on resolved keys.
    pub async fn effective(
        &self,
        caller: &Caller,
        resolved: &Resolved,
    ) -> Result<Permission, Error> {
        if caller.is_admin {
            return Ok(Permission::Manage);
        }
        let grants = self.grants(caller.user_id).await?;
        // A workspace-wide MANAGE role makes its holder the workspace's
        // admin (MLflow: it even overrides DENY).
        let workspace_admin = grants
            .iter()
            .any(|g| g.resource_type == "workspace" && g.permission == Permission::Manage);
        if workspace_admin {
            return Ok(Permission::Manage);
        }
        Ok(governing(&grants, &resolved.keys, self.default))
    }

    /// The caller's effective permission on one (type, id).
    pub async fn effective_on(
        &self,
        caller: &Caller,
        resource_type: &'static str,
        resource_id: &str,
    ) -> Result<Permission, Error> {
        let resolved = Resolved {
            keys: vec![(resource_type, resource_id.to_string())],
            label: String::new(),
        };
        self.effective(caller, &resolved).await
    }
}

enum Lookup<'a> {
    Run(&'a str),
    LoggedModel(&'a str),
}

/// The first key with an applicable grant governs (floored at the default);
/// with none, the default.
pub fn governing(
    grants: &[Grant],
    keys: &[(&'static str, String)],
    default: Permission,
) -> Permission {
    keys.iter()
        .find_map(|(resource_type, id)| permission::fold(grants, resource_type, id))
        .map_or(default, |p| p.floored(default))
}

/// Whether an error means "no such resource" (then the handler answers it).
pub fn is_missing(error: &Error) -> bool {
    error.code == ErrorCode::ResourceDoesNotExist
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_follows_run_wildcards_first_then_its_experiment() {
        let grants = vec![
            Grant {
                resource_type: "experiment".into(),
                pattern: "3".into(),
                permission: Permission::Edit,
            },
            Grant {
                resource_type: "run".into(),
                pattern: "*".into(),
                permission: Permission::Read,
            },
        ];
        let run_keys = vec![("run", "*".to_string()), ("experiment", "3".to_string())];
        assert_eq!(
            governing(&grants, &run_keys, Permission::Read),
            Permission::Read
        );
        let experiment_keys = vec![("experiment", "3".to_string())];
        assert_eq!(
            governing(&grants, &experiment_keys, Permission::Read),
            Permission::Edit
        );
        let other = vec![("experiment", "4".to_string())];
        assert_eq!(
            governing(&grants, &other, Permission::NoPermissions),
            Permission::NoPermissions
        );
    }
}

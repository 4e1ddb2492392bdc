//! `smelt server --auth`: the identity service, its first admin, and the
//! server's [`Directory`] (what a job spec writes to, which experiment a
//! job belongs to), which the identity crate asks without depending on the
//! trainer.

use std::sync::Arc;

use async_trait::async_trait;
use clap::{Args, ValueEnum};
use smelt_identity::{AuthConfig, Bootstrap, Directory, Identity, JobTargets, Permission};
use smelt_tracking::Error;
use smelt_trainer::executor::{Executor, JobRunner};

use crate::error::hinted;

/// What a user may do where no grant says otherwise (MLflow's `default_permission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DefaultPermission {
    /// Read everything (MLflow's default)
    Read,
    /// Read, and invoke endpoints
    Use,
    /// Read and change everything, delete nothing
    Edit,
    /// Everything
    Manage,
    /// Nothing without a grant
    NoPermissions,
}

impl From<DefaultPermission> for Permission {
    fn from(value: DefaultPermission) -> Permission {
        match value {
            DefaultPermission::Read => Permission::Read,
            DefaultPermission::Use => Permission::Use,
            DefaultPermission::Edit => Permission::Edit,
            DefaultPermission::Manage => Permission::Manage,
            DefaultPermission::NoPermissions => Permission::NoPermissions,
        }
    }
}

/// The server's authentication flags.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Require a login for everything but /health: HTTP Basic (what the mlflow
    /// client sends from MLFLOW_TRACKING_USERNAME/PASSWORD), API tokens
    /// (MLFLOW_TRACKING_TOKEN) or the UI's login page. The first admin comes
    /// from SMELT_ADMIN_USERNAME (default admin) and SMELT_ADMIN_PASSWORD, or
    /// is generated and printed once
    #[arg(long, env = "SMELT_AUTH")]
    pub auth: bool,

    /// With --auth: what users may do where no grant says otherwise
    #[arg(
        long,
        env = "SMELT_DEFAULT_PERMISSION",
        value_enum,
        default_value = "READ",
        requires = "auth"
    )]
    pub default_permission: DefaultPermission,
}

/// Builds the identity service and makes sure an admin exists.
pub async fn start(
    args: &AuthArgs,
    bound: &smelt_tracking::server::BoundServer,
    executor: Arc<dyn Executor>,
    secure_cookies: bool,
) -> anyhow::Result<Option<Arc<Identity>>> {
    if !args.auth {
        return Ok(None);
    }
    let state = bound.state();
    let store = state.identity.clone().ok_or_else(|| {
        hinted(
            "this tracking store cannot keep users",
            "use a sqlite:// or postgresql:// --backend-store-uri",
        )
    })?;
    let identity = Identity::new(
        store,
        state.store.clone(),
        AuthConfig {
            default_permission: args.default_permission.into(),
            secure_cookies,
        },
        Some(Arc::new(JobDirectory { executor })),
    );
    let username = std::env::var("SMELT_ADMIN_USERNAME")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "admin".to_string());
    let password = std::env::var("SMELT_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    match identity
        .bootstrap_admin(&username, password.as_deref())
        .await
        .map_err(|e| {
            hinted(
                e.message,
                "set SMELT_ADMIN_PASSWORD to at least 12 characters",
            )
        })? {
        Bootstrap::Existing => {}
        Bootstrap::Created(name) => println!("smelt server: created the admin user '{name}'"),
        Bootstrap::Generated(name, password) => println!(
            "smelt server: created the admin user '{name}' with the password\n\n    {password}\n\nIt is shown only now; change it with `mlflow`'s AuthServiceClient or the users/update-password API."
        ),
    }
    Ok(Some(identity))
}

/// Jobs as the identity gate sees them, from the server's executor.
struct JobDirectory {
    executor: Arc<dyn Executor>,
}

#[async_trait]
impl Directory for JobDirectory {
    async fn job_targets(&self, spec_toml: &str) -> Result<JobTargets, Error> {
        let autopilot = smelt_autopilot::runner::AutopilotRunner::default();
        let is_autopilot = spec_toml
            .parse::<toml::Table>()
            .is_ok_and(|table| table.contains_key(autopilot.table()));
        if is_autopilot {
            let experiment = autopilot.check(spec_toml).map_err(Error::from)?.experiment;
            let spec =
                smelt_autopilot::AutopilotSpec::from_toml(spec_toml, "the submitted job spec")
                    .map_err(Error::from)?;
            return Ok(JobTargets {
                experiment,
                registered_model: spec.register.map(|r| r.name),
            });
        }
        let spec = smelt_trainer::spec::JobSpec::from_toml(spec_toml, "the submitted job spec")
            .map_err(Error::from)?;
        Ok(JobTargets {
            experiment: spec
                .tracking
                .experiment
                .clone()
                .unwrap_or_else(|| "Default".into()),
            registered_model: spec.register.map(|r| r.name),
        })
    }

    async fn job_experiment(&self, job_id: &str) -> Option<String> {
        self.executor.get(job_id).ok()?.experiment
    }
}

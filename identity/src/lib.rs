//! Identity for `smelt server --auth`: MLflow 3.17's basic-auth API and
//! permission model, unchanged for the official client, extended to Smelt's
//! endpoints, jobs, monitors and web UI; API tokens; UI sessions; the audit log.
//!
//! Start at [`middleware::guard`] (every request passes it), then
//! [`policy::classify`] (the one table of what each route needs) and
//! [`resolve::Resolver`] (effective permissions). Storage is tracking's
//! [`IdentityStore`]; this crate never writes SQL.

pub mod api;
pub mod audit;
pub mod authenticate;
pub mod middleware;
pub mod permission;
pub mod policy;
pub mod rate_limit;
pub mod resolve;
pub mod secrets;
pub mod session;

use std::sync::Arc;

use async_trait::async_trait;
use smelt_tracking::store::identity::IdentityStore;
use smelt_tracking::{Error, TrackingStore};

pub use authenticate::{Caller, Via};
pub use permission::{Capability, Permission};

/// What the jobs of a server are about, for permission checks. The server
/// that runs the executor implements it; this crate does not depend on the
/// trainer.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The experiment a submitted job spec writes to and the registered
    /// model it registers, or the spec's error (answered as 400).
    async fn job_targets(&self, spec_toml: &str) -> Result<JobTargets, Error>;
    /// The experiment (by name) of a queued or finished job.
    async fn job_experiment(&self, job_id: &str) -> Option<String>;
}

/// What a job will write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTargets {
    /// Experiment name.
    pub experiment: String,
    /// Registered model name, when the job registers one.
    pub registered_model: Option<String>,
}

/// How the server was configured.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Where no grant applies (MLflow's `default_permission`, default READ).
    pub default_permission: Permission,
    /// Cookies get `Secure` (the server speaks TLS).
    pub secure_cookies: bool,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            default_permission: Permission::Read,
            secure_cookies: false,
        }
    }
}

/// The identity service of one server.
pub struct Identity {
    /// Users, grants, roles, tokens, sessions, audit.
    pub store: Arc<dyn IdentityStore>,
    /// The tracking store (to find a run's experiment, create a job's).
    pub tracking: Arc<dyn TrackingStore>,
    /// Checks credentials.
    pub authenticator: authenticate::Authenticator,
    /// Resolves permissions.
    pub resolver: resolve::Resolver,
    /// Where audit lines go.
    pub audit: audit::AuditLog,
    /// How the server was configured.
    pub config: AuthConfig,
    /// Jobs' experiments, when the server runs jobs.
    pub directory: Option<Arc<dyn Directory>>,
}

/// What [`Identity::bootstrap_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Users existed already; nothing was created.
    Existing,
    /// The first admin was created with the given password.
    Created(String),
    /// The first admin was created with a generated password (print it once).
    Generated(String, String),
}

impl Identity {
    /// The identity service over a store (starts the audit writer).
    pub fn new(
        store: Arc<dyn IdentityStore>,
        tracking: Arc<dyn TrackingStore>,
        config: AuthConfig,
        directory: Option<Arc<dyn Directory>>,
    ) -> Arc<Identity> {
        Arc::new(Identity {
            authenticator: authenticate::Authenticator::new(store.clone()),
            resolver: resolve::Resolver::new(
                store.clone(),
                tracking.clone(),
                config.default_permission,
            ),
            audit: audit::AuditLog::start(store.clone()),
            store,
            tracking,
            config,
            directory,
        })
    }

    /// Creates the first admin when there are no users: with `password`
    /// when given (it must pass the password policy), else a generated one.
    /// Once users exist, nothing changes (rotate with update-password).
    pub async fn bootstrap_admin(
        &self,
        username: &str,
        password: Option<&str>,
    ) -> Result<Bootstrap, Error> {
        if self.store.count_users().await? > 0 {
            return Ok(Bootstrap::Existing);
        }
        if username.trim().is_empty() {
            return Err(Error::invalid("the admin user name is empty"));
        }
        let (password, generated) = match password {
            Some(password) => {
                secrets::check_password_policy(password)?;
                (password.to_string(), false)
            }
            None => (secrets::random_secret(), true),
        };
        let hash = hash_blocking(&password).await?;
        match self.store.create_user(username, &hash, true).await {
            Ok(_) => {}
            // Another server sharing the database made it first.
            Err(error) if error.code == smelt_tracking::ErrorCode::ResourceAlreadyExists => {
                return Ok(Bootstrap::Existing);
            }
            Err(error) => return Err(error),
        }
        Ok(if generated {
            Bootstrap::Generated(username.to_string(), password)
        } else {
            Bootstrap::Created(username.to_string())
        })
    }

    /// Whether a caller has a capability on a target (UI pages filter with it).
    pub async fn can(
        &self,
        caller: &Caller,
        target: &resolve::Target,
        capability: Capability,
    ) -> Result<bool, Error> {
        let resolved = self.resolver.resolve(target).await?;
        Ok(self
            .resolver
            .effective(caller, &resolved)
            .await?
            .allows(capability))
    }
}

/// argon2id off the async threads (it takes tens of milliseconds on purpose).
pub async fn hash_blocking(password: &str) -> Result<String, Error> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|e| Error::internal(format!("password hashing stopped: {e}")))?
}

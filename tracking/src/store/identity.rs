//! The `IdentityStore` seam: users, grants, roles, API tokens, UI sessions
//! and the audit log of `smelt server --auth`, kept in the tracking database
//! beside what they protect (so several servers on one PostgreSQL database
//! share them, and they are migrated like the rest).
//!
//! Only storage lives here. What a permission means, how passwords are
//! hashed and who may call what is `smelt-identity`'s; this trait stores
//! strings it is given and answers MLflow-style errors (`RESOURCE_ALREADY_EXISTS`,
//! `RESOURCE_DOES_NOT_EXIST`) for duplicates and missing rows.

use async_trait::async_trait;

use crate::error::Result;

/// A user as stored (the hash never leaves the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Numeric id, as MLflow's `users` table has.
    pub id: i64,
    /// The login name.
    pub username: String,
    /// A PHC string (`$argon2id$…`).
    pub password_hash: String,
    /// Admins pass every permission check.
    pub is_admin: bool,
}

/// One user's grant on one resource (a permission of their personal role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Whose grant.
    pub user_id: i64,
    /// `experiment`, `registered_model`, `endpoint`, …
    pub resource_type: String,
    /// The resource's id or name.
    pub resource_id: String,
    /// `READ`, `USE`, `EDIT`, `MANAGE` or `DENY`.
    pub permission: String,
}

/// MLflow's workspace while workspaces are off: every role and resource is
/// in it, the personal roles that hold a user's own grants included.
pub const DEFAULT_WORKSPACE: &str = "default";

/// A role: a named set of permissions in a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    /// Numeric id.
    pub id: i64,
    /// MLflow's workspace (`default` when workspaces are off).
    pub workspace: String,
    /// Unique within the workspace.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
}

/// One permission of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePermissionRecord {
    /// Numeric id.
    pub id: i64,
    /// The role it belongs to.
    pub role_id: i64,
    /// As in a grant.
    pub resource_type: String,
    /// A resource id, or `*` for every resource of the type.
    pub resource_pattern: String,
    /// As in a grant.
    pub permission: String,
}

/// A user holding a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignmentRecord {
    /// Numeric id.
    pub id: i64,
    /// The user.
    pub user_id: i64,
    /// The role.
    pub role_id: i64,
}

/// An API token as stored: its secret only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Numeric id.
    pub id: i64,
    /// The owner; the token acts as this user.
    pub user_id: i64,
    /// Unique per user (`ci`, `notebook`).
    pub name: String,
    /// Hex SHA-256 of the secret.
    pub token_hash: String,
    /// Only reads pass.
    pub read_only: bool,
    /// An invoke key: the token may only call this endpoint's inference.
    pub endpoint: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// After this it is refused.
    pub expires_at: Option<i64>,
    /// Last time it was used (recorded at most once a minute).
    pub last_used_at: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// A web UI session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hex SHA-256 of the cookie's value.
    pub session_hash: String,
    /// Who is logged in.
    pub user_id: i64,
    /// The token every form of this session carries.
    pub csrf_token: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// Who, when known (a refused login has none).
    pub username: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path (no query string: it may hold secrets).
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// What was done, e.g. `runs/log-metric`, `users/permissions/grant`, `login`.
    pub action: String,
    /// What it was done to, e.g. `experiment:12`.
    pub resource: Option<String>,
}

/// Storage of identities. Implemented by the SQL store only: a REST store
/// talks to a server that keeps its own.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Creates a user; `RESOURCE_ALREADY_EXISTS` if the name is taken.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<UserRecord>;
    /// A user by name.
    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>>;
    /// A user by id.
    async fn get_user_by_id(&self, id: i64) -> Result<Option<UserRecord>>;
    /// Every user, by id.
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    /// Whether any user exists (the first admin is created when none does).
    async fn count_users(&self) -> Result<i64>;
    /// Replaces a password hash; `RESOURCE_DOES_NOT_EXIST` if no such user.
    async fn update_password(&self, username: &str, password_hash: &str) -> Result<()>;
    /// Sets or clears the admin flag; `RESOURCE_DOES_NOT_EXIST` if no such user.
    async fn update_admin(&self, username: &str, is_admin: bool) -> Result<()>;
    /// Deletes a user with their grants, roles, tokens and sessions.
    async fn delete_user(&self, username: &str) -> Result<()>;

    /// Records a grant in the user's personal role `__user_<id>__` (made on
    /// first use, as MLflow 3.17 does); `RESOURCE_ALREADY_EXISTS` if the user
    /// has one on it.
    async fn create_grant(&self, grant: &GrantRecord) -> Result<()>;
    /// Removes a grant; `RESOURCE_DOES_NOT_EXIST` if there is none.
    async fn delete_grant(
        &self,
        user_id: i64,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<()>;
    /// Every grant of a user (their personal role's permissions).
    async fn list_grants(&self, user_id: i64) -> Result<Vec<GrantRecord>>;
    /// Removes every personal grant on a resource (it was deleted); roles an
    /// admin made keep their patterns.
    async fn delete_resource_grants(&self, resource_type: &str, resource_id: &str) -> Result<()>;
    /// Moves every personal grant on a resource to its new id (it was renamed).
    async fn rename_resource_grants(
        &self,
        resource_type: &str,
        old_id: &str,
        new_id: &str,
    ) -> Result<()>;

    /// Creates a role; `RESOURCE_ALREADY_EXISTS` if the workspace has one so named.
    async fn create_role(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<RoleRecord>;
    /// A role by id.
    async fn get_role(&self, id: i64) -> Result<Option<RoleRecord>>;
    /// Roles of one workspace, or of all.
    async fn list_roles(&self, workspace: Option<&str>) -> Result<Vec<RoleRecord>>;
    /// Renames or re-describes a role; `RESOURCE_DOES_NOT_EXIST` if absent.
    async fn update_role(
        &self,
        id: i64,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<RoleRecord>;
    /// Deletes a role with its permissions and assignments.
    async fn delete_role(&self, id: i64) -> Result<()>;
    /// Adds a permission to a role; `RESOURCE_ALREADY_EXISTS` for the same pattern twice.
    async fn add_role_permission(
        &self,
        role_id: i64,
        resource_type: &str,
        resource_pattern: &str,
        permission: &str,
    ) -> Result<RolePermissionRecord>;
    /// One role permission by id.
    async fn get_role_permission(&self, id: i64) -> Result<Option<RolePermissionRecord>>;
    /// Removes a role permission; `RESOURCE_DOES_NOT_EXIST` if absent.
    async fn remove_role_permission(&self, id: i64) -> Result<()>;
    /// Changes a role permission's level.
    async fn update_role_permission(
        &self,
        id: i64,
        permission: &str,
    ) -> Result<RolePermissionRecord>;
    /// A role's permissions.
    async fn list_role_permissions(&self, role_id: i64) -> Result<Vec<RolePermissionRecord>>;
    /// Gives a user a role; `RESOURCE_ALREADY_EXISTS` if they hold it.
    async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<RoleAssignmentRecord>;
    /// Takes a role from a user; `RESOURCE_DOES_NOT_EXIST` if they do not hold it.
    async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()>;
    /// The roles a user holds.
    async fn list_user_roles(&self, user_id: i64) -> Result<Vec<RoleRecord>>;
    /// Who holds a role.
    async fn list_role_users(&self, role_id: i64) -> Result<Vec<RoleAssignmentRecord>>;
    /// Every permission of every role a user holds.
    async fn list_user_role_permissions(&self, user_id: i64) -> Result<Vec<RolePermissionRecord>>;

    /// Stores a new token; `RESOURCE_ALREADY_EXISTS` if the user has one so named.
    async fn create_token(&self, token: &TokenRecord) -> Result<TokenRecord>;
    /// A token by the hash of its secret.
    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>>;
    /// A user's tokens, revoked ones included.
    async fn list_tokens(&self, user_id: i64) -> Result<Vec<TokenRecord>>;
    /// Revokes a user's token by name; `RESOURCE_DOES_NOT_EXIST` if absent.
    async fn revoke_token(&self, user_id: i64, name: &str, at: i64) -> Result<()>;
    /// Records that a token was used.
    async fn touch_token(&self, id: i64, at: i64) -> Result<()>;

    /// Stores a new UI session.
    async fn create_session(&self, session: &SessionRecord) -> Result<()>;
    /// A live session by the hash of its cookie.
    async fn find_session(&self, session_hash: &str, now: i64) -> Result<Option<SessionRecord>>;
    /// Ends a session (logout).
    async fn delete_session(&self, session_hash: &str) -> Result<()>;

    /// Appends audit lines, in one transaction.
    async fn append_audit(&self, records: &[AuditRecord]) -> Result<()>;
    /// Audit lines at or after `since` (ms), oldest first, at most `limit`.
    async fn list_audit(&self, since: i64, limit: i64) -> Result<Vec<AuditRecord>>;
}

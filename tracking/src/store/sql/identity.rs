//! `IdentityStore` on SQL: the `smelt_users`, `smelt_user_grants`, `smelt_roles`,
//! `smelt_role_permissions`, `smelt_user_roles`, `smelt_api_tokens`,
//! `smelt_sessions` and `smelt_audit_log` tables of migration 4.
//!
//! Deleting a user or a role removes what hangs off it by `ON DELETE CASCADE`
//! (SQLite connections run with `foreign_keys=ON`).

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::SqlStore;
use crate::error::{Error, Result};
use crate::store::identity::*;
use crate::wire::now_ms;

fn user(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
    })
}

fn role(row: &AnyRow) -> Result<RoleRecord> {
    Ok(RoleRecord {
        id: row.try_get("id")?,
        workspace: row.try_get("workspace")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
    })
}

fn role_permission(row: &AnyRow) -> Result<RolePermissionRecord> {
    Ok(RolePermissionRecord {
        id: row.try_get("id")?,
        role_id: row.try_get("role_id")?,
        resource_type: row.try_get("resource_type")?,
        resource_pattern: row.try_get("resource_pattern")?,
        permission: row.try_get("permission")?,
    })
}

fn assignment(row: &AnyRow) -> Result<RoleAssignmentRecord> {
    Ok(RoleAssignmentRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        role_id: row.try_get("role_id")?,
    })
}

fn token(row: &AnyRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        read_only: row.try_get::<i64, _>("read_only")? != 0,
        endpoint: row.try_get("endpoint")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn audit(row: &AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        at: row.try_get("at")?,
        username: row.try_get("username")?,
        address: row.try_get("address")?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(0),
        action: row.try_get("action")?,
        resource: row.try_get("resource")?,
    })
}

const USER_COLUMNS: &str = "id, username, password_hash, is_admin";
const ROLE_COLUMNS: &str = "id, workspace, name, description";
const ROLE_PERMISSION_COLUMNS: &str = "id, role_id, resource_type, resource_pattern, permission";
const TOKEN_COLUMNS: &str = "id, user_id, name, token_hash, read_only, endpoint, created_at, expires_at, last_used_at, revoked_at";

impl SqlStore {
    /// Runs a one-statement write and fails with `missing` when it touched no row.
    async fn write_one(
        &self,
        query: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
        missing: impl FnOnce() -> Error,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let affected = query.execute(&mut *tx.tx).await?.rows_affected();
        if affected == 0 {
            return Err(missing());
        }
        tx.commit().await
    }
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<UserRecord> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO smelt_users (username, password_hash, is_admin, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING RETURNING {USER_COLUMNS}"
        )))
        .bind(username.to_string())
        .bind(password_hash.to_string())
        .bind(i64::from(is_admin))
        .bind(now_ms())
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(row) = row else {
            return Err(Error::already_exists(format!(
                "User (name={username}) already exists."
            )));
        };
        let created = user(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM smelt_users WHERE username = $1"
        )))
        .bind(username.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
    }

    async fn get_user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM smelt_users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM smelt_users ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(user)
        .collect()
    }

    async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM smelt_users")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn update_password(&self, username: &str, password_hash: &str) -> Result<()> {
        let query = sqlx::query("UPDATE smelt_users SET password_hash = $2 WHERE username = $1")
            .bind(username.to_string())
            .bind(password_hash.to_string());
        self.write_one(query, || missing_user(username)).await
    }

    async fn update_admin(&self, username: &str, is_admin: bool) -> Result<()> {
        let query = sqlx::query("UPDATE smelt_users SET is_admin = $2 WHERE username = $1")
            .bind(username.to_string())
            .bind(i64::from(is_admin));
        self.write_one(query, || missing_user(username)).await
    }

    async fn delete_user(&self, username: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM smelt_users WHERE username = $1")
            .bind(username.to_string())
            .fetch_optional(&mut *tx.tx)
            .await?;
        let Some(id) = id else {
            return Err(missing_user(username));
        };
        // The personal role goes with its user (assignments, tokens and
        // sessions cascade).
        sqlx::query("DELETE FROM smelt_roles WHERE workspace = 'default' AND name = $1")
            .bind(personal_role_name(id))
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("DELETE FROM smelt_users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    async fn create_grant(&self, grant: &GrantRecord) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let role_id = personal_role(&mut tx, grant.user_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO smelt_role_permissions (role_id, resource_type, resource_pattern, permission)
             VALUES ($1, $2, $3, $4) ON CONFLICT (role_id, resource_type, resource_pattern) DO NOTHING",
        )
        .bind(role_id)
        .bind(grant.resource_type.clone())
        .bind(grant.resource_id.clone())
        .bind(grant.permission.clone())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(Error::already_exists(format!(
                "Permission on resource_type={}, resource_id={} already exists.",
                grant.resource_type, grant.resource_id
            )));
        }
        tx.commit().await
    }

    async fn delete_grant(
        &self,
        user_id: i64,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<()> {
        let query = sqlx::query(
            "DELETE FROM smelt_role_permissions WHERE resource_type = $2 AND resource_pattern = $3
             AND role_id IN (SELECT id FROM smelt_roles WHERE workspace = 'default' AND name = $1)",
        )
        .bind(personal_role_name(user_id))
        .bind(resource_type.to_string())
        .bind(resource_id.to_string());
        self.write_one(query, || {
            Error::not_found(format!(
                "Permission on resource_type={resource_type}, resource_id={resource_id} not found."
            ))
        })
        .await
    }

    async fn list_grants(&self, user_id: i64) -> Result<Vec<GrantRecord>> {
        let rows = sqlx::query(
            "SELECT p.resource_type, p.resource_pattern, p.permission FROM smelt_role_permissions p
             JOIN smelt_roles r ON r.id = p.role_id
             WHERE r.workspace = 'default' AND r.name = $1 ORDER BY p.id",
        )
        .bind(personal_role_name(user_id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(GrantRecord {
                    user_id,
                    resource_type: row.try_get("resource_type")?,
                    resource_id: row.try_get("resource_pattern")?,
                    permission: row.try_get("permission")?,
                })
            })
            .collect()
    }

    async fn delete_resource_grants(&self, resource_type: &str, resource_id: &str) -> Result<()> {
        // Only personal roles follow a resource; roles an admin made keep
        // their patterns (MLflow does the same).
        let mut tx = self.begin_write().await?;
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM smelt_role_permissions WHERE resource_type = $1 AND resource_pattern = $2
             AND role_id IN (SELECT id FROM smelt_roles WHERE {PERSONAL})"
        )))
        .bind(resource_type.to_string())
        .bind(resource_id.to_string())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn rename_resource_grants(
        &self,
        resource_type: &str,
        old_id: &str,
        new_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE smelt_role_permissions SET resource_pattern = $3
             WHERE resource_type = $1 AND resource_pattern = $2
             AND role_id IN (SELECT id FROM smelt_roles WHERE {PERSONAL})"
        )))
        .bind(resource_type.to_string())
        .bind(old_id.to_string())
        .bind(new_id.to_string())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn create_role(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<RoleRecord> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO smelt_roles (workspace, name, description) VALUES ($1, $2, $3)
             ON CONFLICT (workspace, name) DO NOTHING RETURNING {ROLE_COLUMNS}"
        )))
        .bind(workspace.to_string())
        .bind(name.to_string())
        .bind(description.map(str::to_string))
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(row) = row else {
            return Err(Error::already_exists(format!(
                "Role '{name}' already exists in workspace '{workspace}'."
            )));
        };
        let created = role(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_role(&self, id: i64) -> Result<Option<RoleRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROLE_COLUMNS} FROM smelt_roles WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(role)
        .transpose()
    }

    async fn list_roles(&self, workspace: Option<&str>) -> Result<Vec<RoleRecord>> {
        let rows = match workspace {
            Some(workspace) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {ROLE_COLUMNS} FROM smelt_roles WHERE workspace = $1 ORDER BY id"
                )))
                .bind(workspace.to_string())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {ROLE_COLUMNS} FROM smelt_roles ORDER BY id"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(role).collect()
    }

    async fn update_role(
        &self,
        id: i64,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<RoleRecord> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE smelt_roles SET name = COALESCE($2, name), description = COALESCE($3, description)
             WHERE id = $1 RETURNING {ROLE_COLUMNS}"
        )))
        .bind(id)
        .bind(name.map(str::to_string))
        .bind(description.map(str::to_string))
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Error::already_exists(
                format!("Role '{}' already exists in this workspace.", name.unwrap_or_default()),
            ),
            other => other.into(),
        })?;
        let Some(row) = row else {
            return Err(missing_role(id));
        };
        let updated = role(&row)?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_role(&self, id: i64) -> Result<()> {
        let query = sqlx::query("DELETE FROM smelt_roles WHERE id = $1").bind(id);
        self.write_one(query, || missing_role(id)).await
    }

    async fn add_role_permission(
        &self,
        role_id: i64,
        resource_type: &str,
        resource_pattern: &str,
        permission: &str,
    ) -> Result<RolePermissionRecord> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM smelt_roles WHERE id = $1")
            .bind(role_id)
            .fetch_optional(&mut *tx.tx)
            .await?;
        if exists.is_none() {
            return Err(missing_role(role_id));
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO smelt_role_permissions (role_id, resource_type, resource_pattern, permission)
             VALUES ($1, $2, $3, $4) ON CONFLICT (role_id, resource_type, resource_pattern) DO NOTHING
             RETURNING {ROLE_PERMISSION_COLUMNS}"
        )))
        .bind(role_id)
        .bind(resource_type.to_string())
        .bind(resource_pattern.to_string())
        .bind(permission.to_string())
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(row) = row else {
            return Err(Error::already_exists(format!(
                "Role {role_id} already has a permission on {resource_type} '{resource_pattern}'."
            )));
        };
        let created = role_permission(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_role_permission(&self, id: i64) -> Result<Option<RolePermissionRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROLE_PERMISSION_COLUMNS} FROM smelt_role_permissions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(role_permission)
        .transpose()
    }

    async fn remove_role_permission(&self, id: i64) -> Result<()> {
        let query = sqlx::query("DELETE FROM smelt_role_permissions WHERE id = $1").bind(id);
        self.write_one(query, || missing_role_permission(id)).await
    }

    async fn update_role_permission(
        &self,
        id: i64,
        permission: &str,
    ) -> Result<RolePermissionRecord> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE smelt_role_permissions SET permission = $2 WHERE id = $1 RETURNING {ROLE_PERMISSION_COLUMNS}"
        )))
        .bind(id)
        .bind(permission.to_string())
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(row) = row else {
            return Err(missing_role_permission(id));
        };
        let updated = role_permission(&row)?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn list_role_permissions(&self, role_id: i64) -> Result<Vec<RolePermissionRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROLE_PERMISSION_COLUMNS} FROM smelt_role_permissions WHERE role_id = $1 ORDER BY id"
        )))
        .bind(role_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(role_permission)
        .collect()
    }

    async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<RoleAssignmentRecord> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM smelt_roles WHERE id = $1")
            .bind(role_id)
            .fetch_optional(&mut *tx.tx)
            .await?;
        if exists.is_none() {
            return Err(missing_role(role_id));
        }
        let row = sqlx::query(
            "INSERT INTO smelt_user_roles (user_id, role_id) VALUES ($1, $2)
             ON CONFLICT (user_id, role_id) DO NOTHING RETURNING id, user_id, role_id",
        )
        .bind(user_id)
        .bind(role_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(row) = row else {
            return Err(Error::already_exists(format!(
                "The user already holds role {role_id}."
            )));
        };
        let created = assignment(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()> {
        let query = sqlx::query("DELETE FROM smelt_user_roles WHERE user_id = $1 AND role_id = $2")
            .bind(user_id)
            .bind(role_id);
        self.write_one(query, || {
            Error::not_found(format!("The user does not hold role {role_id}."))
        })
        .await
    }

    async fn list_user_roles(&self, user_id: i64) -> Result<Vec<RoleRecord>> {
        sqlx::query(
            "SELECT r.id, r.workspace, r.name, r.description FROM smelt_roles r
             JOIN smelt_user_roles ur ON ur.role_id = r.id WHERE ur.user_id = $1 ORDER BY r.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(role)
        .collect()
    }

    async fn list_role_users(&self, role_id: i64) -> Result<Vec<RoleAssignmentRecord>> {
        sqlx::query(
            "SELECT id, user_id, role_id FROM smelt_user_roles WHERE role_id = $1 ORDER BY id",
        )
        .bind(role_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(assignment)
        .collect()
    }

    async fn list_user_role_permissions(&self, user_id: i64) -> Result<Vec<RolePermissionRecord>> {
        sqlx::query(
            "SELECT p.id, p.role_id, p.resource_type, p.resource_pattern, p.permission
             FROM smelt_role_permissions p JOIN smelt_user_roles ur ON ur.role_id = p.role_id
             WHERE ur.user_id = $1 ORDER BY p.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(role_permission)
        .collect()
    }

    async fn create_token(&self, new: &TokenRecord) -> Result<TokenRecord> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO smelt_api_tokens (user_id, name, token_hash, read_only, endpoint, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, name) DO NOTHING
             RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(new.user_id)
        .bind(new.name.clone())
        .bind(new.token_hash.clone())
        .bind(i64::from(new.read_only))
        .bind(new.endpoint.clone())
        .bind(new.created_at)
        .bind(new.expires_at)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(row) = row else {
            return Err(Error::already_exists(format!(
                "A token named '{}' already exists; revoke it or pick another name.",
                new.name
            )));
        };
        let created = token(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM smelt_api_tokens WHERE token_hash = $1"
        )))
        .bind(token_hash.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(token)
        .transpose()
    }

    async fn list_tokens(&self, user_id: i64) -> Result<Vec<TokenRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM smelt_api_tokens WHERE user_id = $1 ORDER BY id"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token)
        .collect()
    }

    async fn revoke_token(&self, user_id: i64, name: &str, at: i64) -> Result<()> {
        let query = sqlx::query(
            "UPDATE smelt_api_tokens SET revoked_at = $3
             WHERE user_id = $1 AND name = $2 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(name.to_string())
        .bind(at);
        self.write_one(query, || {
            Error::not_found(format!("No active token named '{name}'."))
        })
        .await
    }

    async fn touch_token(&self, id: i64, at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE smelt_api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Expired sessions are swept as new ones are made: logins are rare.
        sqlx::query("DELETE FROM smelt_sessions WHERE expires_at < $1")
            .bind(now_ms())
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query(
            "INSERT INTO smelt_sessions (session_hash, user_id, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session.session_hash.clone())
        .bind(session.user_id)
        .bind(session.csrf_token.clone())
        .bind(now_ms())
        .bind(session.expires_at)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn find_session(&self, session_hash: &str, now: i64) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT session_hash, user_id, csrf_token, expires_at FROM smelt_sessions
             WHERE session_hash = $1 AND expires_at > $2",
        )
        .bind(session_hash.to_string())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SessionRecord {
                session_hash: row.try_get("session_hash")?,
                user_id: row.try_get("user_id")?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, session_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM smelt_sessions WHERE session_hash = $1")
            .bind(session_hash.to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    async fn append_audit(&self, records: &[AuditRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for record in records {
            sqlx::query(
                "INSERT INTO smelt_audit_log (at, username, address, method, path, status, action, resource)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(record.at)
            .bind(record.username.clone())
            .bind(record.address.clone())
            .bind(record.method.clone())
            .bind(record.path.clone())
            .bind(i64::from(record.status))
            .bind(record.action.clone())
            .bind(record.resource.clone())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
    }

    async fn list_audit(&self, since: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        sqlx::query(
            "SELECT at, username, address, method, path, status, action, resource
             FROM smelt_audit_log WHERE at >= $1 ORDER BY at, id LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(audit)
        .collect()
    }
}

/// Rows of personal roles (`__user_<id>__`).
const PERSONAL: &str = "workspace = 'default' AND name LIKE '\\_\\_user\\_%' ESCAPE '\\'";

/// The name of a user's personal role, which holds their own grants.
pub fn personal_role_name(user_id: i64) -> String {
    format!("__user_{user_id}__")
}

/// The id of a user's personal role, made (and assigned) on first use.
async fn personal_role(tx: &mut super::WriteTx<'_>, user_id: i64) -> Result<i64> {
    let name = personal_role_name(user_id);
    sqlx::query(
        "INSERT INTO smelt_roles (workspace, name, description) VALUES ('default', $1, NULL)
         ON CONFLICT (workspace, name) DO NOTHING",
    )
    .bind(name.clone())
    .execute(&mut *tx.tx)
    .await?;
    let role_id: i64 =
        sqlx::query_scalar("SELECT id FROM smelt_roles WHERE workspace = 'default' AND name = $1")
            .bind(name)
            .fetch_one(&mut *tx.tx)
            .await?;
    sqlx::query(
        "INSERT INTO smelt_user_roles (user_id, role_id) VALUES ($1, $2)
         ON CONFLICT (user_id, role_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(role_id)
    .execute(&mut *tx.tx)
    .await?;
    Ok(role_id)
}

fn missing_user(username: &str) -> Error {
    Error::not_found(format!("User with username={username} not found"))
}

fn missing_role(id: i64) -> Error {
    Error::not_found(format!("Role with id={id} not found"))
}

fn missing_role_permission(id: i64) -> Error {
    Error::not_found(format!("Role permission with id={id} not found"))
}

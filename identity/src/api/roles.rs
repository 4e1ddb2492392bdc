//! `/api/3.0/mlflow/roles/*`, `users/roles/list`, `roles/users/list`: roles,
//! their permissions and who holds them (MLflow 3.17's RBAC, workspaces off:
//! every role lives in workspace `default` unless named otherwise).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use smelt_tracking::api::ApiError;
use smelt_tracking::store::identity::{RoleAssignmentRecord, RolePermissionRecord, RoleRecord};
use smelt_tracking::{Error, ErrorCode};

use super::users::Empty;
use super::{Params, user};
use crate::Identity;
use crate::permission::{self, Permission};

/// MLflow's `RolePermission.to_json`.
#[derive(Serialize)]
pub(crate) struct RolePermissionJson {
    id: i64,
    permission: String,
    resource_pattern: String,
    resource_type: String,
    role_id: i64,
}

impl From<RolePermissionRecord> for RolePermissionJson {
    fn from(p: RolePermissionRecord) -> RolePermissionJson {
        RolePermissionJson {
            id: p.id,
            permission: p.permission,
            resource_pattern: p.resource_pattern,
            resource_type: p.resource_type,
            role_id: p.role_id,
        }
    }
}

/// MLflow's `Role.to_json`.
#[derive(Serialize)]
pub(crate) struct RoleJson {
    description: Option<String>,
    id: i64,
    name: String,
    permissions: Vec<RolePermissionJson>,
    workspace: String,
}

/// A role with its permissions.
pub(crate) async fn role_json(identity: &Identity, role: RoleRecord) -> Result<RoleJson, Error> {
    let permissions = identity
        .store
        .list_role_permissions(role.id)
        .await?
        .into_iter()
        .map(RolePermissionJson::from)
        .collect();
    Ok(RoleJson {
        description: role.description,
        id: role.id,
        name: role.name,
        permissions,
        workspace: role.workspace,
    })
}

#[derive(Serialize)]
pub(crate) struct RoleResponse {
    role: RoleJson,
}

#[derive(Serialize)]
pub(crate) struct RoleList {
    roles: Vec<RoleJson>,
}

#[derive(Serialize)]
pub(crate) struct RolePermissionResponse {
    role_permission: RolePermissionJson,
}

#[derive(Serialize)]
pub(crate) struct RolePermissionList {
    role_permissions: Vec<RolePermissionJson>,
}

#[derive(Serialize)]
pub(crate) struct AssignmentJson {
    id: i64,
    role_id: i64,
    user_id: i64,
}

impl From<RoleAssignmentRecord> for AssignmentJson {
    fn from(a: RoleAssignmentRecord) -> AssignmentJson {
        AssignmentJson {
            id: a.id,
            role_id: a.role_id,
            user_id: a.user_id,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct AssignmentResponse {
    assignment: AssignmentJson,
}

#[derive(Serialize)]
pub(crate) struct AssignmentList {
    assignments: Vec<AssignmentJson>,
}

fn missing_role(id: i64) -> ApiError {
    ApiError(Error::not_found(format!("Role with id={id} not found")))
}

async fn role(identity: &Identity, id: i64) -> Result<RoleRecord, ApiError> {
    identity
        .store
        .get_role(id)
        .await?
        .ok_or_else(|| missing_role(id))
}

/// The workspace a role request targets, resolved as MLflow resolves it:
/// `role_id`, else `role_permission_id`, else `workspace`. `None` when the
/// role or permission does not exist (callers refuse rather than say so).
async fn target_workspace(
    identity: &Identity,
    params: &Params,
) -> Result<Option<String>, ApiError> {
    if params.has("role_id") {
        let id = params.id("role_id")?;
        return Ok(identity.store.get_role(id).await?.map(|r| r.workspace));
    }
    if params.has("role_permission_id") {
        let id = params.id("role_permission_id")?;
        let Some(held) = identity.store.get_role_permission(id).await? else {
            return Ok(None);
        };
        return Ok(identity
            .store
            .get_role(held.role_id)
            .await?
            .map(|r| r.workspace));
    }
    match params.optional("workspace") {
        Some(workspace) if !workspace.trim().is_empty() => Ok(Some(workspace)),
        Some(_) => Err(ApiError(Error::invalid(
            "Parameter 'workspace' must be a non-empty string.",
        ))),
        None => Err(ApiError(Error::invalid(
            "Request must include one of: role_id, role_permission_id, workspace.",
        ))),
    }
}

/// Role administration (MLflow's `validate_can_manage_roles`): admins, and
/// the admins of the role's workspace. Anyone else is refused, also for a
/// role that does not exist, so a refusal does not tell whether it does.
async fn manage_roles(identity: &Identity, params: &Params) -> Result<(), ApiError> {
    if params.caller.is_admin {
        return Ok(());
    }
    let allowed = match target_workspace(identity, params).await? {
        Some(workspace) => admin_workspaces(identity, params.caller.user_id)
            .await?
            .contains(&workspace),
        None => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError(permission::denied("Permission denied")))
    }
}

/// Reading a role (MLflow's `validate_can_view_roles`): admins, and anyone
/// holding a role in the role's workspace; a missing role is a refusal.
async fn view_roles(identity: &Identity, params: &Params) -> Result<(), ApiError> {
    if params.caller.is_admin {
        return Ok(());
    }
    match target_workspace(identity, params).await? {
        Some(workspace) => member_of(identity, params, &workspace).await,
        None => Err(ApiError(permission::denied("Permission denied"))),
    }
}

/// Reading a user's roles and grants (MLflow's `validate_can_view_user_roles`):
/// the user, admins, and the admins of a workspace the user holds a role in.
/// A user that does not exist is a refusal for anyone else.
pub(crate) async fn view_user(
    identity: &Identity,
    params: &Params,
    username: &str,
) -> Result<(), ApiError> {
    if params.caller.is_admin || params.caller.username == username {
        return Ok(());
    }
    let administered = admin_workspaces(identity, params.caller.user_id).await?;
    let shares_a_workspace = match identity.store.get_user(username).await? {
        Some(target) if !administered.is_empty() => identity
            .store
            .list_user_roles(target.id)
            .await?
            .iter()
            .any(|r| administered.contains(&r.workspace)),
        _ => false,
    };
    if shares_a_workspace {
        Ok(())
    } else {
        Err(ApiError(permission::denied("Permission denied")))
    }
}

/// The workspaces `user_id` administers: those where it holds a role with
/// the grant `(workspace, *, MANAGE)`, MLflow's one workspace-admin shape.
pub(crate) async fn admin_workspaces(
    identity: &Identity,
    user_id: i64,
) -> Result<BTreeSet<String>, ApiError> {
    let mut workspaces = BTreeSet::new();
    for held in identity.store.list_user_roles(user_id).await? {
        if workspaces.contains(&held.workspace) {
            continue;
        }
        let administers = identity
            .store
            .list_role_permissions(held.id)
            .await?
            .iter()
            .any(|p| {
                p.resource_type == "workspace"
                    && p.resource_pattern == "*"
                    && p.permission == Permission::Manage.as_str()
            });
        if administers {
            workspaces.insert(held.workspace);
        }
    }
    Ok(workspaces)
}

/// Admins, or anyone holding a role in that workspace.
async fn member_of(identity: &Identity, params: &Params, workspace: &str) -> Result<(), ApiError> {
    if params.caller.is_admin {
        return Ok(());
    }
    let held = identity
        .store
        .list_user_roles(params.caller.user_id)
        .await?;
    if held.iter().any(|r| r.workspace == workspace) {
        Ok(())
    } else {
        Err(ApiError(permission::denied("Permission denied")))
    }
}

fn check_role_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError(Error::invalid("Role name cannot be empty.")));
    }
    if name.starts_with("__user_") {
        return Err(ApiError(Error::invalid(format!(
            "Role name '{name}' uses the reserved '__user_' prefix, which is held for the per-user permission representation. Choose a different name."
        ))));
    }
    Ok(())
}

/// A role permission's type, pattern and level, with MLflow's checks.
fn check_role_permission(resource_type: &str, pattern: &str, level: &str) -> Result<(), ApiError> {
    if resource_type == "workspace" {
        Permission::parse(level)?;
        if !matches!(level, "USE" | "MANAGE") {
            return Err(ApiError(Error::invalid(format!(
                "Invalid permission '{level}' for resource_type='workspace'. Workspace-wide grants accept only: ('MANAGE', 'USE')."
            ))));
        }
        if pattern != "*" {
            return Err(ApiError(Error::invalid(format!(
                "Invalid resource_pattern '{pattern}' for resource_type='workspace'. This resource type supports only wildcard ('*') grants."
            ))));
        }
        return Ok(());
    }
    permission::validate_resource_type(resource_type)?;
    Permission::parse_grant(level, resource_type)?;
    permission::validate_pattern(resource_type, pattern)?;
    Ok(())
}

pub(crate) async fn create(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RoleResponse>, ApiError> {
    manage_roles(&identity, &params).await?;
    let workspace = params.required("workspace")?;
    let name = params.required("name")?;
    check_role_name(&name)?;
    let description = params.optional("description");
    let created = identity
        .store
        .create_role(&workspace, &name, description.as_deref())
        .await
        .map_err(|e| {
            if e.code == ErrorCode::ResourceAlreadyExists {
                Error::already_exists(format!(
                    "Role (name={name}, workspace={workspace}) already exists."
                ))
            } else {
                e
            }
        })?;
    Ok(Json(RoleResponse {
        role: role_json(&identity, created).await?,
    }))
}

pub(crate) async fn get(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RoleResponse>, ApiError> {
    view_roles(&identity, &params).await?;
    let id = params.id("role_id")?;
    let found = role(&identity, id).await?;
    Ok(Json(RoleResponse {
        role: role_json(&identity, found).await?,
    }))
}

pub(crate) async fn list(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RoleList>, ApiError> {
    let workspace = params.optional("workspace");
    match &workspace {
        Some(workspace) => member_of(&identity, &params, workspace).await?,
        None => params.admin_only()?,
    }
    let mut roles = Vec::new();
    for found in identity.store.list_roles(workspace.as_deref()).await? {
        roles.push(role_json(&identity, found).await?);
    }
    Ok(Json(RoleList { roles }))
}

pub(crate) async fn update(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RoleResponse>, ApiError> {
    manage_roles(&identity, &params).await?;
    let id = params.id("role_id")?;
    let name = params.optional("name");
    let description = params.optional("description");
    if name.is_none() && description.is_none() {
        return Err(ApiError(Error::invalid(
            "At least one of 'name' or 'description' must be provided to update a role.",
        )));
    }
    if let Some(name) = &name {
        check_role_name(name)?;
    }
    role(&identity, id).await?;
    let updated = identity
        .store
        .update_role(id, name.as_deref(), description.as_deref())
        .await?;
    Ok(Json(RoleResponse {
        role: role_json(&identity, updated).await?,
    }))
}

pub(crate) async fn delete(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    manage_roles(&identity, &params).await?;
    let id = params.id("role_id")?;
    identity
        .store
        .delete_role(id)
        .await
        .map_err(|_| missing_role(id))?;
    identity.resolver.forget(None);
    Ok(Json(Empty {}))
}

pub(crate) async fn assign(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<AssignmentResponse>, ApiError> {
    manage_roles(&identity, &params).await?;
    let username = params.required("username")?;
    let id = params.id("role_id")?;
    let target = user(&identity, &username).await?;
    role(&identity, id).await?;
    let assignment = identity
        .store
        .assign_role(target.id, id)
        .await
        .map_err(|e| {
            if e.code == ErrorCode::ResourceAlreadyExists {
                Error::already_exists(format!(
                    "User role assignment (user_id={}, role_id={id}) already exists",
                    target.id
                ))
            } else {
                e
            }
        })?;
    identity.resolver.forget(Some(target.id));
    Ok(Json(AssignmentResponse {
        assignment: assignment.into(),
    }))
}

pub(crate) async fn unassign(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    manage_roles(&identity, &params).await?;
    let username = params.required("username")?;
    let id = params.id("role_id")?;
    let target = user(&identity, &username).await?;
    identity
        .store
        .unassign_role(target.id, id)
        .await
        .map_err(|_| {
            ApiError(Error::not_found(format!(
                "User role assignment (user_id={}, role_id={id}) not found",
                target.id
            )))
        })?;
    identity.resolver.forget(Some(target.id));
    Ok(Json(Empty {}))
}

pub(crate) async fn add_permission(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RolePermissionResponse>, ApiError> {
    manage_roles(&identity, &params).await?;
    let id = params.id("role_id")?;
    let resource_type = params.required("resource_type")?;
    let pattern = params.required("resource_pattern")?;
    let level = params.required("permission")?;
    check_role_permission(&resource_type, &pattern, &level)?;
    role(&identity, id).await?;
    let added = identity
        .store
        .add_role_permission(id, &resource_type, &pattern, &level)
        .await
        .map_err(|e| {
            if e.code == ErrorCode::ResourceAlreadyExists {
                Error::already_exists(format!(
                    "Role permission (role_id={id}, resource_type={resource_type}, resource_pattern={pattern}) already exists."
                ))
            } else {
                e
            }
        })?;
    identity.resolver.forget(None);
    Ok(Json(RolePermissionResponse {
        role_permission: added.into(),
    }))
}

pub(crate) async fn remove_permission(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    manage_roles(&identity, &params).await?;
    let id = params.id("role_permission_id")?;
    identity.store.remove_role_permission(id).await?;
    identity.resolver.forget(None);
    Ok(Json(Empty {}))
}

pub(crate) async fn update_permission(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RolePermissionResponse>, ApiError> {
    manage_roles(&identity, &params).await?;
    let id = params.id("role_permission_id")?;
    let level = params.required("permission")?;
    let existing = identity
        .store
        .get_role_permission(id)
        .await?
        .ok_or_else(|| {
            ApiError(Error::not_found(format!(
                "Role permission with id={id} not found"
            )))
        })?;
    check_role_permission(&existing.resource_type, &existing.resource_pattern, &level)?;
    let updated = identity.store.update_role_permission(id, &level).await?;
    identity.resolver.forget(None);
    Ok(Json(RolePermissionResponse {
        role_permission: updated.into(),
    }))
}

pub(crate) async fn list_permissions(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RolePermissionList>, ApiError> {
    view_roles(&identity, &params).await?;
    let id = params.id("role_id")?;
    role(&identity, id).await?;
    let role_permissions = identity
        .store
        .list_role_permissions(id)
        .await?
        .into_iter()
        .map(RolePermissionJson::from)
        .collect();
    Ok(Json(RolePermissionList { role_permissions }))
}

pub(crate) async fn user_roles(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<RoleList>, ApiError> {
    let username = params.required("username")?;
    view_user(&identity, &params, &username).await?;
    let target = user(&identity, &username).await?;
    let mut roles = Vec::new();
    for found in identity.store.list_user_roles(target.id).await? {
        roles.push(role_json(&identity, found).await?);
    }
    Ok(Json(RoleList { roles }))
}

pub(crate) async fn role_users(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<AssignmentList>, ApiError> {
    manage_roles(&identity, &params).await?;
    let id = params.id("role_id")?;
    role(&identity, id).await?;
    let assignments = identity
        .store
        .list_role_users(id)
        .await?
        .into_iter()
        .map(AssignmentJson::from)
        .collect();
    Ok(Json(AssignmentList { assignments }))
}

//! `/api/3.0/mlflow/users/permissions/*` and `users/current/permissions`:
//! one user's grants on one resource. A grant is a permission of the user's
//! personal role `__user_<id>__`, as in MLflow 3.17.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use smelt_tracking::api::ApiError;
use smelt_tracking::store::identity::{DEFAULT_WORKSPACE, GrantRecord};
use smelt_tracking::{Error, ErrorCode};

use super::roles::{admin_workspaces, view_user};
use super::users::Empty;
use super::{Params, user};
use crate::Identity;
use crate::permission::{self, Permission, RESOURCE_TYPES};

/// The resource type as the static name folding uses, with MLflow's errors.
fn resource_type(name: &str) -> Result<&'static str, ApiError> {
    if name == "workspace" {
        return Err(ApiError(Error::invalid(
            "resource_type 'workspace' is not supported by the per-user permission convenience APIs. Use set_workspace_permission / delete_workspace_permission for workspace-wide grants.",
        )));
    }
    permission::validate_resource_type(name)?;
    Ok(RESOURCE_TYPES
        .iter()
        .copied()
        .find(|t| *t == name)
        .unwrap_or("experiment"))
}

/// Granting and revoking need MANAGE on the resource (a wildcard: admins).
async fn may_manage(
    identity: &Identity,
    params: &Params,
    resource_type: &'static str,
    resource_id: &str,
) -> Result<(), ApiError> {
    if params.caller.is_admin {
        return Ok(());
    }
    let allowed = resource_id != "*"
        && identity
            .resolver
            .effective_on(&params.caller, resource_type, resource_id)
            .await?
            .allows(permission::Capability::Manage);
    if allowed {
        Ok(())
    } else {
        Err(ApiError(permission::denied("Permission denied")))
    }
}

pub(crate) async fn grant(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    let username = params.required("username")?;
    let type_name = params.required("resource_type")?;
    let resource_id = params.required("resource_id")?;
    let level = params.required("permission")?;
    let resource_type = resource_type(&type_name)?;
    let level = Permission::parse_grant(&level, resource_type)?;
    permission::validate_pattern(resource_type, &resource_id)?;
    may_manage(&identity, &params, resource_type, &resource_id).await?;
    let target = user(&identity, &username).await?;
    identity
        .store
        .create_grant(&GrantRecord {
            user_id: target.id,
            resource_type: resource_type.to_string(),
            resource_id: resource_id.clone(),
            permission: level.as_str().to_string(),
        })
        .await
        .map_err(|e| {
            if e.code == ErrorCode::ResourceAlreadyExists {
                Error::already_exists(format!(
                    "Permission for user={username} on resource_type={resource_type}, resource_id={resource_id} already exists."
                ))
            } else {
                e
            }
        })?;
    identity.resolver.forget(Some(target.id));
    Ok(Json(Empty {}))
}

pub(crate) async fn revoke(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    let username = params.required("username")?;
    let type_name = params.required("resource_type")?;
    let resource_id = params.required("resource_id")?;
    let resource_type = resource_type(&type_name)?;
    may_manage(&identity, &params, resource_type, &resource_id).await?;
    let target = user(&identity, &username).await?;
    identity
        .store
        .delete_grant(target.id, resource_type, &resource_id)
        .await
        .map_err(|e| {
            if e.code == ErrorCode::ResourceDoesNotExist {
                Error::not_found(format!(
                    "Permission for user={username} on resource_type={resource_type}, resource_id={resource_id} not found."
                ))
            } else {
                e
            }
        })?;
    identity.resolver.forget(Some(target.id));
    Ok(Json(Empty {}))
}

#[derive(Serialize)]
pub(crate) struct PermissionResult {
    allowed: bool,
    permission: &'static str,
}

pub(crate) async fn get(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<PermissionResult>, ApiError> {
    let username = params.required("username")?;
    let type_name = params.required("resource_type")?;
    let resource_id = params.required("resource_id")?;
    let resource_type = resource_type(&type_name)?;
    // The user, admins, and the admins of the resource's workspace (every
    // resource lives in `default` while workspaces are off).
    let workspace_admin = !params.caller.is_admin
        && params.caller.username != username
        && admin_workspaces(&identity, params.caller.user_id)
            .await?
            .contains(DEFAULT_WORKSPACE);
    if !workspace_admin {
        params.self_or_admin(&username)?;
    }
    let target = user(&identity, &username).await?;
    let subject = crate::Caller {
        user_id: target.id,
        username: target.username,
        is_admin: target.is_admin,
        via: crate::Via::Password,
    };
    let level = identity
        .resolver
        .effective_on(&subject, resource_type, &resource_id)
        .await?;
    Ok(Json(PermissionResult {
        allowed: level.allows(permission::Capability::Use),
        permission: level.as_str(),
    }))
}

#[derive(Serialize)]
pub(crate) struct ListedPermission {
    permission: String,
    resource_pattern: String,
    resource_type: String,
    role_id: i64,
    role_name: String,
    workspace: String,
}

#[derive(Serialize)]
pub(crate) struct PermissionList {
    is_admin: bool,
    permissions: Vec<ListedPermission>,
}

async fn permissions_of(
    identity: &Identity,
    username: &str,
) -> Result<Json<PermissionList>, ApiError> {
    let target = user(identity, username).await?;
    let mut permissions = Vec::new();
    for role in identity.store.list_user_roles(target.id).await? {
        for permission in identity.store.list_role_permissions(role.id).await? {
            permissions.push(ListedPermission {
                permission: permission.permission,
                resource_pattern: permission.resource_pattern,
                resource_type: permission.resource_type,
                role_id: role.id,
                role_name: role.name.clone(),
                workspace: role.workspace.clone(),
            });
        }
    }
    Ok(Json(PermissionList {
        is_admin: target.is_admin,
        permissions,
    }))
}

pub(crate) async fn list(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<PermissionList>, ApiError> {
    let username = params.required("username")?;
    view_user(&identity, &params, &username).await?;
    permissions_of(&identity, &username).await
}

pub(crate) async fn current(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<PermissionList>, ApiError> {
    permissions_of(&identity, &params.caller.username).await
}

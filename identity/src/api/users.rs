//! `/api/2.0/mlflow/users/*`: create, get, list, current, update-password,
//! update-admin, delete — MLflow's bodies, messages and who-may-call rules.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use smelt_tracking::api::ApiError;
use smelt_tracking::store::identity::UserRecord;
use smelt_tracking::{Error, ErrorCode};

use super::roles::{RoleJson, admin_workspaces, role_json};
use super::{Params, user};
use crate::{Identity, hash_blocking, secrets};

/// MLflow's `User.to_json` (the hash never leaves).
#[derive(Serialize)]
pub(crate) struct UserJson {
    id: i64,
    is_admin: bool,
    username: String,
}

impl From<&UserRecord> for UserJson {
    fn from(user: &UserRecord) -> UserJson {
        UserJson {
            id: user.id,
            is_admin: user.is_admin,
            username: user.username.clone(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct UserResponse {
    user: UserJson,
}

#[derive(Serialize)]
pub(crate) struct Empty {}

pub(crate) async fn create(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<UserResponse>, ApiError> {
    // Admins, and workspace admins, who seed the accounts they then give
    // roles to (MLflow's `validate_can_create_user`); deleting stays admin-only.
    if !params.caller.is_admin
        && admin_workspaces(&identity, params.caller.user_id)
            .await?
            .is_empty()
    {
        params.admin_only()?;
    }
    let username = params.required("username")?;
    let password = params.required("password")?;
    if username.trim().is_empty() || password.is_empty() {
        return Err(ApiError(Error::invalid(
            "Username and password cannot be empty.",
        )));
    }
    secrets::check_password_policy(&password)?;
    let hash = hash_blocking(&password).await?;
    let created = identity
        .store
        .create_user(&username, &hash, false)
        .await
        .map_err(|e| {
            if e.code == ErrorCode::ResourceAlreadyExists {
                Error::already_exists(format!("User (username={username}) already exists."))
            } else {
                e
            }
        })?;
    Ok(Json(UserResponse {
        user: UserJson::from(&created),
    }))
}

pub(crate) async fn get(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<UserResponse>, ApiError> {
    let username = params.required("username")?;
    params.self_or_admin(&username)?;
    let found = user(&identity, &username).await?;
    Ok(Json(UserResponse {
        user: UserJson::from(&found),
    }))
}

#[derive(Serialize)]
pub(crate) struct ListedUser {
    id: i64,
    is_admin: bool,
    roles: Vec<RoleJson>,
    username: String,
}

#[derive(Serialize)]
pub(crate) struct UserList {
    users: Vec<ListedUser>,
}

pub(crate) async fn list(
    State(identity): State<Arc<Identity>>,
    _params: Params,
) -> Result<Json<UserList>, ApiError> {
    let mut users = Vec::new();
    for user in identity.store.list_users().await? {
        let mut roles = Vec::new();
        for role in identity.store.list_user_roles(user.id).await? {
            roles.push(role_json(&identity, role).await?);
        }
        users.push(ListedUser {
            id: user.id,
            is_admin: user.is_admin,
            roles,
            username: user.username,
        });
    }
    Ok(Json(UserList { users }))
}

#[derive(Serialize)]
pub(crate) struct CurrentUser {
    is_basic_auth: bool,
    user: UserJson,
}

pub(crate) async fn current(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<CurrentUser>, ApiError> {
    let found = user(&identity, &params.caller.username).await?;
    Ok(Json(CurrentUser {
        is_basic_auth: matches!(params.caller.via, crate::Via::Password),
        user: UserJson::from(&found),
    }))
}

pub(crate) async fn update_password(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    let username = params.required("username")?;
    params.self_or_admin(&username)?;
    let password = params.required("password")?;
    let target = user(&identity, &username).await?;
    // Changing one's own password needs the current one, even for an admin
    // (a stolen session must not be enough to lock the owner out).
    if params.caller.username == username {
        let current = params.optional("current_password").ok_or_else(|| {
            ApiError(Error::invalid(
                "Current password is required when changing your own password.",
            ))
        })?;
        let stored = target.password_hash.clone();
        let matches =
            tokio::task::spawn_blocking(move || secrets::verify_password(&current, &stored))
                .await
                .unwrap_or(false);
        if !matches {
            return Err(ApiError(Error::invalid("Current password does not match.")));
        }
        if params.optional("current_password").as_deref() == Some(password.as_str()) {
            return Err(ApiError(Error::invalid(
                "New password must differ from the current password.",
            )));
        }
    }
    secrets::check_password_policy(&password)?;
    let hash = hash_blocking(&password).await?;
    identity.store.update_password(&username, &hash).await?;
    identity.authenticator.forget_user(target.id);
    Ok(Json(Empty {}))
}

pub(crate) async fn update_admin(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    params.admin_only()?;
    let username = params.required("username")?;
    let is_admin = params.boolean("is_admin")?;
    let target = user(&identity, &username).await?;
    identity.store.update_admin(&username, is_admin).await?;
    identity.authenticator.forget_user(target.id);
    Ok(Json(Empty {}))
}

pub(crate) async fn delete(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<Empty>, ApiError> {
    params.admin_only()?;
    let username = params.required("username")?;
    if username == params.caller.username {
        return Err(ApiError(Error::new(
            ErrorCode::BadRequest,
            "Users cannot delete their own account. Ask another admin to delete this user instead.",
        )));
    }
    let target = user(&identity, &username).await?;
    identity.store.delete_user(&username).await?;
    identity.authenticator.forget_user(target.id);
    identity.resolver.forget(Some(target.id));
    Ok(Json(Empty {}))
}

//! The identity API: MLflow 3.17's auth routes (users, per-user grants,
//! roles) exactly as its `AuthServiceClient` calls them, and Smelt's tokens
//! and audit routes (bodies in `smelt_api::identity`).
//!
//! Every handler runs behind [`crate::middleware::guard`], so a [`Caller`]
//! is always there; who may call what is decided here, per route, as
//! MLflow's validators decide it (admin only, self or admin, MANAGE on the
//! resource).

mod audit;
mod permissions;
mod roles;
mod tokens;
mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::routing::{delete, get, patch, post};
use serde_json::Value;
use smelt_tracking::Error;
use smelt_tracking::api::ApiError;

use crate::Identity;
use crate::authenticate::Caller;
use crate::permission;

/// The OpenAPI 3.1 document of these routes (`openapi.json` beside this
/// file), which `smelt server --auth` merges into the one it serves.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every identity route, for `smelt server --auth` to merge.
pub fn router(identity: Arc<Identity>) -> Router {
    let mut router = Router::new();
    for prefix in ["/api", "/ajax-api"] {
        router = router
            .route(
                &format!("{prefix}/2.0/mlflow/users/create"),
                post(users::create),
            )
            .route(&format!("{prefix}/2.0/mlflow/users/get"), get(users::get))
            .route(&format!("{prefix}/2.0/mlflow/users/list"), get(users::list))
            .route(
                &format!("{prefix}/2.0/mlflow/users/current"),
                get(users::current),
            )
            .route(
                &format!("{prefix}/2.0/mlflow/users/update-password"),
                patch(users::update_password),
            )
            .route(
                &format!("{prefix}/2.0/mlflow/users/update-admin"),
                patch(users::update_admin),
            )
            .route(
                &format!("{prefix}/2.0/mlflow/users/delete"),
                delete(users::delete),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/users/permissions/grant"),
                post(permissions::grant),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/users/permissions/revoke"),
                post(permissions::revoke),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/users/permissions/get"),
                get(permissions::get),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/users/permissions/list"),
                get(permissions::list),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/users/current/permissions"),
                get(permissions::current),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/create"),
                post(roles::create),
            )
            .route(&format!("{prefix}/3.0/mlflow/roles/get"), get(roles::get))
            .route(&format!("{prefix}/3.0/mlflow/roles/list"), get(roles::list))
            .route(
                &format!("{prefix}/3.0/mlflow/roles/update"),
                patch(roles::update),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/delete"),
                delete(roles::delete),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/assign"),
                post(roles::assign),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/unassign"),
                delete(roles::unassign),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/permissions/add"),
                post(roles::add_permission),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/permissions/remove"),
                delete(roles::remove_permission),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/permissions/update"),
                patch(roles::update_permission),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/permissions/list"),
                get(roles::list_permissions),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/users/roles/list"),
                get(roles::user_roles),
            )
            .route(
                &format!("{prefix}/3.0/mlflow/roles/users/list"),
                get(roles::role_users),
            );
    }
    router
        .route(
            smelt_api::identity::TOKENS_PATH,
            post(tokens::create).get(tokens::list),
        )
        .route(
            &format!("{}/{{name}}", smelt_api::identity::TOKENS_PATH),
            delete(tokens::revoke),
        )
        .route(smelt_api::identity::AUDIT_PATH, get(audit::list))
        .with_state(identity)
}

/// MLflow's request parameters: the query string, then the JSON body
/// (MLflow's `_get_request_param` reads both).
pub(crate) struct Params {
    query: HashMap<String, String>,
    body: serde_json::Map<String, Value>,
    /// The authenticated caller.
    pub caller: Caller,
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Params, ApiError> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| {
                ApiError(Error::new(
                    smelt_tracking::ErrorCode::Unauthenticated,
                    "You are not authenticated.",
                ))
            })?;
        let query: HashMap<String, String> = request
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(request.into_body(), 1024 * 1024)
            .await
            .map_err(|_| ApiError(Error::invalid("The request body is too large.")))?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Map::new()
        } else {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                _ => {
                    return Err(ApiError(Error::new(
                        smelt_tracking::ErrorCode::BadRequest,
                        "The request body must be a JSON object.",
                    )));
                }
            }
        };
        Ok(Params {
            query,
            body,
            caller,
        })
    }
}

impl Params {
    /// Whether the request names the parameter at all.
    pub fn has(&self, name: &str) -> bool {
        self.query.contains_key(name) || self.body.get(name).is_some_and(|v| !v.is_null())
    }

    /// An optional text parameter: the query string's, or a JSON string.
    pub fn optional(&self, name: &str) -> Option<String> {
        if let Some(value) = self.query.get(name) {
            return Some(value.clone());
        }
        match self.body.get(name)? {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// A required text parameter, with MLflow's message when missing.
    pub fn required(&self, name: &str) -> Result<String, ApiError> {
        if let Some(text) = self.optional(name) {
            return Ok(text);
        }
        Err(ApiError(Error::invalid(match self.body.get(name) {
            Some(other) if !other.is_null() => {
                format!("Parameter '{name}' must be a string, not {other}.")
            }
            _ => format!(
                "Missing value for required parameter '{name}'. See the API docs for more information about request parameters."
            ),
        })))
    }

    /// A required integer id (`role_id`, `role_permission_id`): a JSON
    /// number, or text that reads as one (MLflow's client sends either).
    pub fn id(&self, name: &str) -> Result<i64, ApiError> {
        if !self.query.contains_key(name)
            && let Some(Value::Number(number)) = self.body.get(name)
        {
            return number.as_i64().ok_or_else(|| {
                ApiError(Error::invalid(format!(
                    "Parameter '{name}' must be an integer. Got: '{number}'"
                )))
            });
        }
        let text = self.required(name)?;
        text.trim().parse().map_err(|_| {
            ApiError(Error::invalid(format!(
                "Parameter '{name}' must be an integer. Got: '{text}'"
            )))
        })
    }

    /// A required JSON boolean (`is_admin`).
    pub fn boolean(&self, name: &str) -> Result<bool, ApiError> {
        match self.body.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(ApiError(Error::new(
                smelt_tracking::ErrorCode::BadRequest,
                format!("Parameter '{name}' must be a JSON boolean, not {other}."),
            ))),
            None => match self.query.get(name).map(String::as_str) {
                Some("true") => Ok(true),
                Some("false") => Ok(false),
                _ => Err(ApiError(Error::invalid(format!(
                    "Missing value for required parameter '{name}'. See the API docs for more information about request parameters."
                )))),
            },
        }
    }

    /// Fails unless the caller is an admin.
    pub fn admin_only(&self) -> Result<(), ApiError> {
        if self.caller.is_admin {
            Ok(())
        } else {
            Err(ApiError(permission::denied("Permission denied")))
        }
    }

    /// Fails unless the caller is this user or an admin.
    pub fn self_or_admin(&self, username: &str) -> Result<(), ApiError> {
        if self.caller.is_admin || self.caller.username == username {
            Ok(())
        } else {
            Err(ApiError(permission::denied("Permission denied")))
        }
    }
}

/// A user by name, or MLflow's 404.
pub(crate) async fn user(
    identity: &Identity,
    username: &str,
) -> Result<smelt_tracking::store::identity::UserRecord, ApiError> {
    identity.store.get_user(username).await?.ok_or_else(|| {
        ApiError(Error::not_found(format!(
            "User with username={username} not found"
        )))
    })
}

//! `/api/2.0/smelt/tokens`: API tokens, made for the caller, shown once,
//! stored as a SHA-256, usable as `MLFLOW_TRACKING_TOKEN`, revocable.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use smelt_api::Empty;
use smelt_api::identity::{CreateToken, TokenCreated, TokenInfo, TokenList};
use smelt_tracking::Error;
use smelt_tracking::api::{SmeltError, SmeltJson};
use smelt_tracking::store::identity::{TokenRecord, UserRecord};
use smelt_tracking::wire::now_ms;

use super::Params;
use crate::{Identity, Via, permission, secrets};

fn info(record: &TokenRecord, username: &str) -> TokenInfo {
    TokenInfo {
        name: record.name.clone(),
        username: username.to_string(),
        read_only: record.read_only,
        endpoint: record.endpoint.clone(),
        created_at: record.created_at,
        expires_at: record.expires_at,
        last_used_at: record.last_used_at,
        revoked_at: record.revoked_at,
    }
}

/// A token can only be made by someone who proved who they are with a
/// password or a session: a token must not mint itself a longer life.
fn may_mint(via: &Via) -> Result<(), SmeltError> {
    match via {
        Via::Token { .. } => Err(SmeltError(permission::denied(
            "Tokens cannot create tokens; log in with a password.",
        ))),
        _ => Ok(()),
    }
}

pub(crate) async fn create(
    State(identity): State<Arc<Identity>>,
    axum::Extension(caller): axum::Extension<crate::Caller>,
    SmeltJson(request): SmeltJson<CreateToken>,
) -> Result<Json<TokenCreated>, SmeltError> {
    may_mint(&caller.via)?;
    let name = request.name.as_str();
    if name.is_empty() || name.chars().count() > 100 || name.contains('/') || name.trim() != name {
        return Err(SmeltError(Error::invalid(
            "A token's name must be 1 to 100 characters, without '/' or spaces at either end.",
        )));
    }
    if let Some(endpoint) = &request.endpoint
        && endpoint.trim().is_empty()
    {
        return Err(SmeltError(Error::invalid(
            "An invoke key needs an endpoint name.",
        )));
    }
    let now = now_ms();
    let expires_at = match request.expires_in_seconds {
        Some(0) => {
            return Err(SmeltError(Error::invalid(
                "expires_in_seconds must be positive.",
            )));
        }
        Some(seconds) => {
            let ms = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
            Some(now.saturating_add(ms))
        }
        None => None,
    };
    let secret = secrets::new_token();
    let stored = identity
        .store
        .create_token(&TokenRecord {
            id: 0,
            user_id: caller.user_id,
            name: name.to_string(),
            token_hash: secrets::digest(&secret),
            read_only: request.read_only,
            endpoint: request.endpoint.clone(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        })
        .await?;
    Ok(Json(TokenCreated {
        token: secret,
        info: info(&stored, &caller.username),
    }))
}

/// Whose tokens a call is about: `?username=` (admins only) or the caller.
async fn owner(identity: &Identity, params: &Params) -> Result<(String, UserRecord), SmeltError> {
    let username = params
        .optional("username")
        .unwrap_or_else(|| params.caller.username.clone());
    params
        .self_or_admin(&username)
        .map_err(|e| SmeltError(e.0))?;
    let owner = super::user(identity, &username)
        .await
        .map_err(|e| SmeltError(e.0))?;
    Ok((username, owner))
}

pub(crate) async fn list(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<TokenList>, SmeltError> {
    let (username, owner) = owner(&identity, &params).await?;
    let tokens = identity
        .store
        .list_tokens(owner.id)
        .await?
        .iter()
        .map(|t| info(t, &username))
        .collect();
    Ok(Json(TokenList { tokens }))
}

pub(crate) async fn revoke(
    State(identity): State<Arc<Identity>>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Empty>, SmeltError> {
    let (_, owner) = owner(&identity, &params).await?;
    identity
        .store
        .revoke_token(owner.id, &name, now_ms())
        .await?;
    // A revoked token stops at once on this server.
    identity.authenticator.forget_user(owner.id);
    Ok(Json(Empty {}))
}

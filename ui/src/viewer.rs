//! Who is looking at a page, under `smelt server --auth`: the [`Caller`]
//! the identity gate put in the request, what they may read (lists keep
//! only that), and the CSRF token every form must carry. Without `--auth`
//! there is no caller and everything shows, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use smelt_identity::resolve::{Target, is_missing};
use smelt_identity::{Caller, Capability, Identity};

use crate::UiState;

/// The person a page is rendered for.
pub struct Viewer {
    identity: Option<Arc<Identity>>,
    caller: Option<Caller>,
    /// Decisions of this request: a list naming one experiment many times
    /// (jobs) asks once.
    decided: Mutex<HashMap<(Target, Capability), bool>>,
}

impl FromRequestParts<Arc<UiState>> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<UiState>,
    ) -> Result<Viewer, Self::Rejection> {
        Ok(Viewer::new(
            state.identity.clone(),
            parts.extensions.get::<Caller>().cloned(),
        ))
    }
}

impl Viewer {
    /// A viewer; `identity` is `None` on a server without `--auth`.
    pub fn new(identity: Option<Arc<Identity>>, caller: Option<Caller>) -> Viewer {
        Viewer {
            identity,
            caller,
            decided: Mutex::new(HashMap::new()),
        }
    }

    /// The logged-in user's name.
    pub fn username(&self) -> Option<&str> {
        self.caller.as_ref().map(|c| c.username.as_str())
    }

    /// Whether the audit page is theirs to see.
    pub fn is_admin(&self) -> bool {
        self.caller.as_ref().is_some_and(|c| c.is_admin)
    }

    /// Whether they came with the UI's cookie (and so see a logout button).
    pub fn has_session(&self) -> bool {
        self.csrf_token().is_some()
    }

    /// The token a form must carry (only session callers have one).
    pub fn csrf_token(&self) -> Option<&str> {
        smelt_identity::session::csrf_token(self.caller.as_ref())
    }

    /// Whether the server checks identities at all.
    pub fn auth(&self) -> Option<&Identity> {
        self.identity.as_deref()
    }

    /// Whether they may read `target`.
    pub async fn can_read(&self, target: Target) -> bool {
        self.can(target, Capability::Read).await
    }

    /// Whether they have `capability` on `target`. Without `--auth`, yes;
    /// with it but no caller (a route the gate let through unauthenticated)
    /// or when the answer cannot be read, no: a list then hides rather than
    /// leaks.
    pub async fn can(&self, target: Target, capability: Capability) -> bool {
        let Some(identity) = &self.identity else {
            return true;
        };
        let Some(caller) = &self.caller else {
            return false;
        };
        if caller.is_admin {
            return true;
        }
        let key = (target, capability);
        let cached = self.decided().get(&key).copied();
        if let Some(decided) = cached {
            return decided;
        }
        let allowed = match identity.can(caller, &key.0, capability).await {
            Ok(allowed) => allowed,
            // Gone between listing and asking (or a job's experiment not made
            // yet): the server's default decides, as for a new resource.
            Err(error) if is_missing(&error) => {
                identity.config.default_permission.allows(capability)
            }
            Err(error) => {
                tracing::warn!(%error, user = %caller.username, "cannot check a UI permission; hiding the item");
                false
            }
        };
        self.decided().insert(key, allowed);
        allowed
    }

    fn decided(&self) -> std::sync::MutexGuard<'_, HashMap<(Target, Capability), bool>> {
        self.decided
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the items whose target they may read, in order; an item with
    /// no target (nothing to check it against) shows to admins only.
    pub async fn readable<T>(
        &self,
        items: Vec<T>,
        target: impl Fn(&T) -> Option<Target>,
    ) -> Vec<T> {
        let mut kept = Vec::with_capacity(items.len());
        for item in items {
            let visible = match target(&item) {
                Some(target) => self.can_read(target).await,
                None => self.identity.is_none() || self.is_admin(),
            };
            if visible {
                kept.push(item);
            }
        }
        kept
    }
}

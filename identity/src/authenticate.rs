//! Who is calling: HTTP Basic (what the mlflow client sends from
//! `MLFLOW_TRACKING_USERNAME`/`PASSWORD`), a Bearer API token
//! (`MLFLOW_TRACKING_TOKEN`), or the web UI's session cookie.
//!
//! A password is checked with argon2id once, then the (user, password) pair
//! is remembered by its SHA-256 for [`CREDENTIAL_TTL`]: a hash per request
//! would cost more than the request (tens of milliseconds). Changing a
//! password, the admin flag or deleting a user forgets the user's entries on
//! this server at once; other servers sharing the database see it within the TTL.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use smelt_tracking::store::identity::{IdentityStore, TokenRecord};
use smelt_tracking::wire::now_ms;
use smelt_tracking::{Error, ErrorCode};

use crate::rate_limit::LoginLimiter;
use crate::secrets;

/// How long a verified password or token is trusted without a database read.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(30);

/// How often a token's last use is written (at most).
const TOUCH_EVERY_MS: i64 = 60_000;

/// Name of the web UI's session cookie.
pub const SESSION_COOKIE: &str = "smelt_session";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub user_id: i64,
    /// The user's name.
    pub username: String,
    /// Admins pass every check.
    pub is_admin: bool,
    /// How they proved it.
    pub via: Via,
}

/// How a caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// HTTP Basic.
    Password,
    /// An API token.
    Token {
        /// Only reads pass.
        read_only: bool,
        /// An invoke key: only this endpoint's inference passes.
        endpoint: Option<String>,
    },
    /// The web UI's cookie; unsafe methods must carry this CSRF token.
    Session {
        /// The session's CSRF token.
        csrf_token: String,
    },
}

/// What a request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// Nothing.
    Nothing,
    /// `Authorization: Basic`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// `Authorization: Bearer`.
    Bearer(String),
    /// The session cookie's value.
    Session(String),
    /// An `Authorization` header that is neither.
    Malformed,
}

/// Reads the credentials of a request's headers (Authorization first, then
/// the session cookie).
pub fn presented(headers: &axum::http::HeaderMap) -> Presented {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else {
            return Presented::Malformed;
        };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            return match decoded.as_deref().and_then(|d| d.split_once(':')) {
                Some((username, password)) => Presented::Basic {
                    username: username.to_string(),
                    password: password.to_string(),
                },
                None => Presented::Malformed,
            };
        }
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Presented::Bearer(rest.to_string());
        }
        return Presented::Malformed;
    }
    for cookies in headers.get_all(axum::http::header::COOKIE) {
        let Ok(cookies) = cookies.to_str() else {
            continue;
        };
        for cookie in cookies.split(';') {
            if let Some((name, value)) = cookie.trim().split_once('=')
                && name == SESSION_COOKIE
                && !value.is_empty()
            {
                return Presented::Session(value.to_string());
            }
        }
    }
    Presented::Nothing
}

struct Remembered {
    caller: Caller,
    at: Instant,
    token_id: Option<i64>,
}

/// Checks credentials against the store, remembering what passed.
pub struct Authenticator {
    store: std::sync::Arc<dyn IdentityStore>,
    remembered: Mutex<HashMap<String, Remembered>>,
    touched: Mutex<HashMap<i64, i64>>,
    /// Failed logins per user and per address.
    pub limiter: LoginLimiter,
}

fn unauthenticated(message: &str) -> Error {
    Error::new(ErrorCode::Unauthenticated, message)
}

impl Authenticator {
    /// An authenticator over a store.
    pub fn new(store: std::sync::Arc<dyn IdentityStore>) -> Authenticator {
        Authenticator {
            store,
            remembered: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
            limiter: LoginLimiter::default(),
        }
    }

    fn recall(&self, key: &str) -> Option<(Caller, Option<i64>)> {
        let remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        remembered
            .get(key)
            .filter(|r| r.at.elapsed() < CREDENTIAL_TTL)
            .map(|r| (r.caller.clone(), r.token_id))
    }

    fn remember(&self, key: String, caller: Caller, token_id: Option<i64>) {
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        if remembered.len() > 10_000 {
            remembered.retain(|_, r| r.at.elapsed() < CREDENTIAL_TTL);
        }
        remembered.insert(
            key,
            Remembered {
                caller,
                at: Instant::now(),
                token_id,
            },
        );
    }

    /// Forgets every remembered credential of a user (password or admin
    /// change, deletion, a revoked token).
    pub fn forget_user(&self, user_id: i64) {
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        remembered.retain(|_, r| r.caller.user_id != user_id);
    }

    /// Who presented these credentials: `UNAUTHENTICATED` when nothing or
    /// something wrong was presented, `RESOURCE_EXHAUSTED` while logins from
    /// this user or address are throttled.
    pub async fn authenticate(
        &self,
        presented: &Presented,
        address: Option<IpAddr>,
    ) -> Result<Caller, Error> {
        match presented {
            Presented::Nothing => Err(unauthenticated(
                "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.",
            )),
            Presented::Malformed => Err(unauthenticated(
                "The Authorization header must be 'Basic <base64 user:password>' or 'Bearer <token>'.",
            )),
            Presented::Basic { username, password } => {
                self.password(username, password, address).await
            }
            Presented::Bearer(token) => self.token(token).await,
            Presented::Session(cookie) => self.session(cookie).await,
        }
    }

    /// Checks a user name and password (also the UI's login form).
    pub async fn password(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<Caller, Error> {
        let key = format!(
            "basic:{}",
            secrets::digest(&format!("{username}\0{password}"))
        );
        if let Some((caller, _)) = self.recall(&key) {
            return Ok(caller);
        }
        self.limiter.check(username, address)?;
        let user = self.store.get_user(username).await?;
        // Verify against a dummy hash for unknown users too, so the answer's
        // timing does not tell which user names exist.
        let hash = user
            .as_ref()
            .map_or_else(dummy_hash, |u| u.password_hash.clone());
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        match user {
            Some(user) if ok => {
                self.limiter.succeeded(username, address);
                let caller = Caller {
                    user_id: user.id,
                    username: user.username,
                    is_admin: user.is_admin,
                    via: Via::Password,
                };
                self.remember(key, caller.clone(), None);
                Ok(caller)
            }
            _ => {
                self.limiter.failed(username, address);
                Err(unauthenticated("Incorrect username or password."))
            }
        }
    }

    async fn token(&self, token: &str) -> Result<Caller, Error> {
        let digest = secrets::digest(token);
        let key = format!("token:{digest}");
        if let Some((caller, token_id)) = self.recall(&key) {
            if let Some(id) = token_id {
                self.touch(id).await;
            }
            return Ok(caller);
        }
        let record = self
            .store
            .find_token(&digest)
            .await?
            .ok_or_else(|| unauthenticated("The token is not valid."))?;
        usable(&record)?;
        let user = self
            .store
            .get_user_by_id(record.user_id)
            .await?
            .ok_or_else(|| unauthenticated("The token's user no longer exists."))?;
        let caller = Caller {
            user_id: user.id,
            username: user.username,
            is_admin: user.is_admin && !record.read_only && record.endpoint.is_none(),
            via: Via::Token {
                read_only: record.read_only,
                endpoint: record.endpoint.clone(),
            },
        };
        self.remember(key, caller.clone(), Some(record.id));
        self.touch(record.id).await;
        Ok(caller)
    }

    async fn session(&self, cookie: &str) -> Result<Caller, Error> {
        let digest = secrets::digest(cookie);
        let key = format!("session:{digest}");
        if let Some((caller, _)) = self.recall(&key) {
            return Ok(caller);
        }
        let session = self
            .store
            .find_session(&digest, now_ms())
            .await?
            .ok_or_else(|| unauthenticated("The session has expired; log in again."))?;
        let user = self
            .store
            .get_user_by_id(session.user_id)
            .await?
            .ok_or_else(|| unauthenticated("The session's user no longer exists."))?;
        let caller = Caller {
            user_id: user.id,
            username: user.username,
            is_admin: user.is_admin,
            via: Via::Session {
                csrf_token: session.csrf_token,
            },
        };
        self.remember(key, caller.clone(), None);
        Ok(caller)
    }

    /// Forgets a session (logout).
    pub fn forget_session(&self, cookie: &str) {
        let key = format!("session:{}", secrets::digest(cookie));
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        remembered.remove(&key);
    }

    /// Records a token's use, at most once a minute per token.
    async fn touch(&self, token_id: i64) {
        let now = now_ms();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            let last = touched.get(&token_id).copied().unwrap_or(0);
            if now - last < TOUCH_EVERY_MS {
                return;
            }
            touched.insert(token_id, now);
        }
        if let Err(error) = self.store.touch_token(token_id, now).await {
            tracing::warn!(%error, "cannot record a token's last use");
        }
    }
}

/// A revoked or expired token is refused.
fn usable(record: &TokenRecord) -> Result<(), Error> {
    if record.revoked_at.is_some() {
        return Err(unauthenticated("The token has been revoked."));
    }
    if record.expires_at.is_some_and(|at| at <= now_ms()) {
        return Err(unauthenticated("The token has expired."));
    }
    Ok(())
}

/// A valid argon2id hash of a random password, computed once, for unknown users.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| secrets::hash_password(&secrets::random_secret()).unwrap_or_default())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn credentials_are_read_as_the_mlflow_client_sends_them() {
        // base64("alice:pass:word") — the password may contain colons.
        let basic = headers("authorization", "Basic YWxpY2U6cGFzczp3b3Jk");
        assert_eq!(
            presented(&basic),
            Presented::Basic {
                username: "alice".into(),
                password: "pass:word".into()
            }
        );
        assert_eq!(
            presented(&headers("authorization", "Bearer smelt_abc")),
            Presented::Bearer("smelt_abc".into())
        );
        assert_eq!(
            presented(&headers("cookie", "a=b; smelt_session=xyz")),
            Presented::Session("xyz".into())
        );
        assert_eq!(
            presented(&headers("authorization", "Basic !!!")),
            Presented::Malformed
        );
        assert_eq!(
            presented(&headers("authorization", "Digest x")),
            Presented::Malformed
        );
        assert_eq!(presented(&HeaderMap::new()), Presented::Nothing);
    }
}

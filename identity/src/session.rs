//! The web UI's login: a form at `/login`, a session cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure` under TLS) whose SHA-256 is stored with a
//! CSRF token, and `/logout`. Pages read the CSRF token from the request's
//! [`Caller`] and put it in every form; the middleware checks it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, FromRequest, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use smelt_tracking::ErrorCode;
use smelt_tracking::store::identity::{AuditRecord, SessionRecord};
use smelt_tracking::wire::now_ms;

use crate::authenticate::{Caller, SESSION_COOKIE, Via, presented};
use crate::{Identity, secrets};

/// How long a UI session lasts.
pub const SESSION_HOURS: i64 = 12;

/// `/login` and `/logout`.
pub fn router(identity: Arc<Identity>) -> Router {
    Router::new()
        .route("/login", get(page).post(login))
        .route("/logout", post(logout))
        .with_state(identity)
}

#[derive(Deserialize)]
struct Next {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Only paths on this server: `//evil.example` or `https://…` would make
/// the login form an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn form(next: &str, message: Option<&str>) -> Html<String> {
    let message = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in · Smelt</title>\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}\
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.4rem;box-sizing:border-box}}\
button{{margin-top:1rem;padding:.5rem 1rem}}.error{{color:#b00020}}</style></head>\
<body><h1>Smelt</h1>{message}<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label for=\"username\">User name</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus>\
<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Log in</button></form></body></html>",
        next = escape(next)
    ))
}

async fn page(Query(next): Query<Next>) -> Html<String> {
    form(&safe_next(next.next.as_deref()), None)
}

fn cookie(identity: &Identity, value: &str, max_age: i64) -> HeaderValue {
    let secure = if identity.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("smelt_session=; Path=/; Max-Age=0"))
}

async fn login(State(identity): State<Arc<Identity>>, request: axum::extract::Request) -> Response {
    let address = crate::middleware::client_address(&request);
    let Ok(Form(submitted)) = Form::<LoginForm>::from_request(request, &()).await else {
        return (
            StatusCode::BAD_REQUEST,
            form("/", Some("The login form was incomplete.")),
        )
            .into_response();
    };
    let next = safe_next(submitted.next.as_deref());
    let outcome = identity
        .authenticator
        .password(&submitted.username, &submitted.password, address)
        .await;
    let audit = |status: u16, action: &str| AuditRecord {
        at: now_ms(),
        username: Some(submitted.username.clone()),
        address: address.map(|a| a.to_string()),
        method: "POST".into(),
        path: "/login".into(),
        status,
        action: action.into(),
        resource: None,
    };
    let caller = match outcome {
        Ok(caller) => caller,
        Err(error) => {
            let (status, message) = if error.code == ErrorCode::ResourceExhausted {
                (StatusCode::TOO_MANY_REQUESTS, error.message.clone())
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    "Incorrect user name or password.".to_string(),
                )
            };
            identity
                .audit
                .record(audit(status.as_u16(), "login-failed"))
                .await;
            return (status, form(&next, Some(&message))).into_response();
        }
    };
    let secret = secrets::random_secret();
    let session = SessionRecord {
        session_hash: secrets::digest(&secret),
        user_id: caller.user_id,
        csrf_token: secrets::random_secret(),
        expires_at: now_ms() + SESSION_HOURS * 3_600_000,
    };
    if let Err(error) = identity.store.create_session(&session).await {
        tracing::error!(%error, "cannot store a session");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            form(
                &next,
                Some("The server cannot log you in right now; try again."),
            ),
        )
            .into_response();
    }
    identity.audit.record(audit(303, "login")).await;
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&identity, &secret, SESSION_HOURS * 3600),
    );
    response
}

async fn logout(State(identity): State<Arc<Identity>>, headers: HeaderMap) -> Response {
    if let crate::authenticate::Presented::Session(value) = presented(&headers) {
        let _ = identity
            .store
            .delete_session(&secrets::digest(&value))
            .await;
        identity.authenticator.forget_session(&value);
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&identity, "", 0));
    response
}

/// The CSRF token a page must put in its forms, when the caller came with
/// a session (other callers are not exposed to CSRF).
pub fn csrf_token(caller: Option<&Caller>) -> Option<&str> {
    match caller.map(|c| &c.via) {
        Some(Via::Session { csrf_token }) => Some(csrf_token),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(safe_next(Some("/ui/models")), "/ui/models");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_form_escapes_what_it_echoes() {
        let page = form("/\"><script>", Some("<b>")).0;
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;b&gt;"));
    }
}

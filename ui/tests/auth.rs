//! The web UI behind `smelt server --auth`'s identity gate, over real HTTP
//! on loopback and a real SQLite store: the login page and its cookie,
//! CSRF tokens in forms, lists filtered by permission, the admin's audit
//! page; and the same pages without `--auth`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use smelt_identity::{AuthConfig, Identity, Permission};
use smelt_tracking::artifacts::ArtifactStore;
use smelt_tracking::artifacts::ObjectArtifactStore;
use smelt_tracking::store::CreateModelVersion;
use smelt_tracking::store::identity::{GrantRecord, IdentityStore};
use smelt_tracking::store::sql::SqlStore;
use smelt_tracking::store::{ExperimentStore, ModelRegistry};
use smelt_ui::UiState;
use smelt_ui::traffic::TrafficHistory;

const ADMIN_PASSWORD: &str = "a long admin password";
const BOB_PASSWORD: &str = "bob's own long password";

struct Server {
    base: String,
    store: Arc<SqlStore>,
    http: Client,
    _dir: tempfile::TempDir,
}

/// A UI over a fresh SQLite store, behind the identity gate when
/// `default_permission` is given, listening on a loopback port.
async fn start(default_permission: Option<Permission>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    // Four slashes: `sqlite:///` + an absolute path (three would be relative).
    let uri = format!("sqlite:///{}/smelt.db", dir.path().display());
    let store = Arc::new(SqlStore::open(&uri, "mlflow-artifacts:").await.unwrap());
    let identity = default_permission.map(|default_permission| {
        Identity::new(
            store.clone(),
            store.clone(),
            AuthConfig {
                default_permission,
                secure_cookies: false,
            },
            None,
        )
    });
    let ui = smelt_ui::router(UiState {
        store: store.clone(),
        open_artifacts: Arc::new(
            |uri: &str| -> smelt_tracking::Result<Arc<dyn ArtifactStore>> {
                Ok(Arc::new(ObjectArtifactStore::local_uri(uri)?))
            },
        ),
        jobs: None,
        serving: None,
        monitors: None,
        traffic: Arc::new(TrafficHistory::default()),
        identity: identity.clone(),
    });
    let app = match &identity {
        Some(identity) => {
            identity
                .bootstrap_admin("admin", Some(ADMIN_PASSWORD))
                .await
                .unwrap();
            ui.merge(smelt_identity::session::router(identity.clone()))
                .layer(axum::middleware::from_fn_with_state(
                    identity.clone(),
                    smelt_identity::middleware::guard,
                ))
        }
        None => ui,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server {
        base: format!("http://{address}"),
        store,
        // Redirects are what is tested: the client must not follow them.
        http: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        body.append_pair(key, value);
    }
    body.finish()
}

impl Server {
    async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    async fn post(&self, path: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(pairs));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Logs in through the form; answers the `Cookie` header to send.
    async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .post(
                "/login",
                None,
                &[
                    ("username", username),
                    ("password", password),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_string()
    }

    async fn create_user(&self, username: &str, password: &str) -> i64 {
        let hash = smelt_identity::secrets::hash_password(password).unwrap();
        self.store
            .create_user(username, &hash, false)
            .await
            .unwrap()
            .id
    }

    async fn model_with_a_version(&self, name: &str) {
        self.store
            .create_registered_model(name, &[], None)
            .await
            .unwrap();
        self.store
            .create_model_version(&CreateModelVersion {
                name: name.to_string(),
                source: "mlflow-artifacts:/0/models/m-1/artifacts".to_string(),
                ..CreateModelVersion::default()
            })
            .await
            .unwrap();
    }
}

/// The value of the first hidden `csrf_token` field after `marker`.
fn csrf_after<'a>(page: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &page[page.find(marker)?..];
    let field = r#"name="csrf_token" value=""#;
    let rest = &rest[rest.find(field)? + field.len()..];
    Some(&rest[..rest.find('"')?])
}

#[tokio::test]
async fn login_cookie_csrf_and_the_audit_page() {
    let server = start(Some(Permission::Read)).await;
    server.model_with_a_version("wine").await;

    // Not logged in: a page sends the browser to the login form.
    let response = server.get("/ui/models", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION].to_str().unwrap(),
        "/login?next=%2Fui%2Fmodels"
    );
    let login_page = server.get("/login?next=%2Fui%2Fmodels", None).await;
    assert_eq!(login_page.status(), StatusCode::OK);
    assert!(login_page.text().await.unwrap().contains("Log in"));

    // A wrong password: the form again, saying so, and no cookie.
    let response = server
        .post(
            "/login",
            None,
            &[("username", "admin"), ("password", "not the password")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Incorrect user name or password.")
    );

    // The right one: a session cookie scripts cannot read, never sent
    // cross-site, and not marked Secure on plain HTTP.
    let response = server
        .post(
            "/login",
            None,
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "/ui/models"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION].to_str().unwrap(), "/ui/models");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("smelt_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    // Logged in: the navigation names the user, offers logout and the audit log.
    let home = server.get("/", Some(&cookie)).await;
    assert_eq!(home.status(), StatusCode::OK);
    let home = home.text().await.unwrap();
    assert!(home.contains(r#"<span id="user">admin</span>"#), "{home}");
    assert!(home.contains(r#"action="/logout""#));
    assert!(home.contains(r#"href="/ui/audit""#));

    // Every form of the model page carries the session's CSRF token.
    let page = server
        .get("/ui/models/wine", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let token = csrf_after(&page, r#"id="set-alias""#)
        .expect("the alias form has a csrf_token field")
        .to_string();
    assert!(!token.is_empty());
    assert_eq!(csrf_after(&page, r#"id="logout""#), Some(token.as_str()));

    // Without the token the form is refused and nothing moves.
    let refused = server
        .post(
            "/ui/models/wine/alias",
            Some(&cookie),
            &[("alias", "champion"), ("version", "1")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("CSRF"));
    let stale = server
        .post(
            "/ui/models/wine/alias",
            Some(&cookie),
            &[
                ("alias", "champion"),
                ("version", "1"),
                ("csrf_token", "not-the-token"),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    let model = server.store.get_registered_model("wine").await.unwrap();
    assert!(model.aliases.is_empty());

    // With it the alias moves and the page shows it.
    let moved = server
        .post(
            "/ui/models/wine/alias",
            Some(&cookie),
            &[
                ("alias", "champion"),
                ("version", "1"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        moved.headers()[LOCATION].to_str().unwrap(),
        "/ui/models/wine"
    );
    let model = server.store.get_registered_model("wine").await.unwrap();
    assert_eq!(model.aliases.len(), 1);
    assert_eq!(model.aliases[0].alias, "champion");
    let page = server
        .get("/ui/models/wine", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"data-alias="champion""#));
    // The remove button's form carries the token too.
    assert_eq!(
        csrf_after(&page, r#"data-alias="champion""#),
        Some(token.as_str())
    );

    // The audit page, newest first: the alias move after the logins (the
    // writer batches, so wait for its flush).
    let mut audit = String::new();
    for _ in 0..100 {
        let response = server.get("/ui/audit?since=1h", Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::OK);
        audit = response.text().await.unwrap();
        if audit.contains("/ui/models/wine/alias") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let moved_at = audit.find("/ui/models/wine/alias").expect(&audit);
    assert!(audit.contains("registered_model:wine"), "{audit}");
    let login_at = audit.find("<td>login</td>").expect(&audit);
    let failed_at = audit.find("<td>login-failed</td>").expect(&audit);
    assert!(
        moved_at < login_at && login_at < failed_at,
        "newest first: {audit}"
    );
    assert!(audit.contains("127.0.0.1"));
    for since in ["24h", "7d"] {
        let response = server
            .get(&format!("/ui/audit?since={since}"), Some(&cookie))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let bad = server.get("/ui/audit?since=1y", Some(&cookie)).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("1h, 24h or 7d"));

    // Logging out ends the session: the cookie no longer opens pages.
    let response = server
        .post("/logout", Some(&cookie), &[("csrf_token", &token)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let response = server.get("/", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn a_user_sees_only_what_they_may_read() {
    let server = start(Some(Permission::NoPermissions)).await;
    let bob = server.create_user("bob", BOB_PASSWORD).await;
    let hidden = server
        .store
        .create_experiment("admins-only", None, &[])
        .await
        .unwrap();
    let shared = server
        .store
        .create_experiment("shared-with-bob", None, &[])
        .await
        .unwrap();
    server.model_with_a_version("secret-model").await;
    server.model_with_a_version("bobs-model").await;
    for (resource_type, resource_id) in [
        ("experiment", shared.as_str()),
        ("registered_model", "bobs-model"),
    ] {
        server
            .store
            .create_grant(&GrantRecord {
                user_id: bob,
                resource_type: resource_type.to_string(),
                resource_id: resource_id.to_string(),
                permission: "READ".to_string(),
            })
            .await
            .unwrap();
    }

    let cookie = server.login("bob", BOB_PASSWORD).await;
    let home = server.get("/", Some(&cookie)).await.text().await.unwrap();
    assert!(home.contains(r#"<span id="user">bob</span>"#));
    assert!(home.contains("shared-with-bob"), "{home}");
    assert!(!home.contains("admins-only"), "{home}");
    assert!(!home.contains(r#"href="/ui/audit""#));
    let models = server
        .get("/ui/models", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(models.contains("bobs-model"));
    assert!(!models.contains("secret-model"));

    // What is not theirs is refused when asked for directly.
    for path in [
        format!("/ui/experiments/{hidden}"),
        "/ui/models/secret-model".to_string(),
        "/ui/audit".to_string(),
    ] {
        let response = server.get(&path, Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // READ shows a model but not the forms that would move its aliases.
    let page = server.get("/ui/models/bobs-model", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Model bobs-model"));
    assert!(!page.contains(r#"id="set-alias""#));

    // The admin sees everything.
    let cookie = server.login("admin", ADMIN_PASSWORD).await;
    let home = server.get("/", Some(&cookie)).await.text().await.unwrap();
    assert!(home.contains("shared-with-bob") && home.contains("admins-only"));
    let models = server
        .get("/ui/models", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(models.contains("bobs-model") && models.contains("secret-model"));
}

#[tokio::test]
async fn without_auth_pages_render_as_before() {
    let server = start(None).await;
    server.model_with_a_version("wine").await;
    let home = server.get("/", None).await;
    assert_eq!(home.status(), StatusCode::OK);
    let home = home.text().await.unwrap();
    assert!(home.contains("Experiments"));
    assert!(!home.contains("Log out") && !home.contains("/ui/audit"));
    let page = server
        .get("/ui/models/wine", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"id="set-alias""#));
    assert!(!page.contains("csrf_token"));
    let moved = server
        .post(
            "/ui/models/wine/alias",
            None,
            &[("alias", "champion"), ("version", "1")],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let audit = server.get("/ui/audit", None).await;
    assert_eq!(audit.status(), StatusCode::NOT_FOUND);
}

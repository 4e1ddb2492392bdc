//! `smelt server --auth` end to end, over real HTTP on loopback: MLflow's
//! routes behind the identity gate, the auth API, tokens, throttled logins
//! and the audit log; and the identity store on SQLite and PostgreSQL.
//!
//! The official client's side (and the comparison with MLflow's own
//! basic-auth server) is in `tests/python/test_auth.py`.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use smelt_identity::{AuthConfig, Identity, Permission};
use smelt_tracking::ErrorCode;
use smelt_tracking::api::{AppState, router};
use smelt_tracking::artifacts::open_artifact_store;
use smelt_tracking::store::identity::{GrantRecord, IdentityStore, TokenRecord};
use smelt_tracking::store::sql::SqlStore;

const ADMIN_PASSWORD: &str = "admin password 123";
const PASSWORD: &str = "user password 1234";

/// A server with `--auth` on a fresh SQLite store; answers its URL.
async fn server(dir: &std::path::Path, default_permission: Permission) -> (String, Arc<Identity>) {
    let uri = format!("sqlite:///{}", dir.join("smelt.db").display());
    let store = Arc::new(SqlStore::open(&uri, "mlflow-artifacts:").await.unwrap());
    let artifacts = open_artifact_store(&dir.join("artifacts").display().to_string()).unwrap();
    let state =
        Arc::new(AppState::new(store.clone(), artifacts, true).with_identity(store.clone()));
    let identity = Identity::new(
        store.clone(),
        store,
        AuthConfig {
            default_permission,
            secure_cookies: false,
        },
        None,
    );
    identity
        .bootstrap_admin("admin", Some(ADMIN_PASSWORD))
        .await
        .unwrap();
    let app = router(state)
        .merge(smelt_identity::api::router(identity.clone()))
        .merge(smelt_identity::session::router(identity.clone()))
        .layer(axum::middleware::from_fn_with_state(
            identity.clone(),
            smelt_identity::middleware::guard,
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    (url, identity)
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn new(url: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            url: url.to_string(),
        }
    }

    async fn call(
        &self,
        auth: Auth<'_>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        request = match auth {
            Auth::None => request,
            Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json, headers)
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
}

const ADMIN: Auth<'static> = Auth::Basic("admin", ADMIN_PASSWORD);

async fn create_user(client: &Client, name: &str) {
    let (status, body, _) = client
        .call(
            ADMIN,
            reqwest::Method::POST,
            "/api/2.0/mlflow/users/create",
            Some(json!({"username": name, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["username"], name);
    assert_eq!(body["user"]["is_admin"], false);
}

#[tokio::test]
async fn mlflow_routes_follow_grants_and_the_default_permission() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _identity) = server(dir.path(), Permission::Read).await;
    let client = Client::new(&url);
    use reqwest::Method;

    let (status, body, headers) = client
        .call(
            Auth::None,
            Method::GET,
            "/api/2.0/mlflow/experiments/search?max_results=5",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_code"], "UNAUTHENTICATED");
    assert_eq!(headers["www-authenticate"], "Basic realm=\"mlflow\"");
    let (status, _, _) = client
        .call(
            Auth::Basic("admin", "wrong password!"),
            Method::GET,
            "/api/2.0/mlflow/experiments/search",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Liveness needs no login.
    let (status, _, _) = client.call(Auth::None, Method::GET, "/health", None).await;
    assert_eq!(status, StatusCode::OK);

    create_user(&client, "alice").await;
    create_user(&client, "bob").await;
    let alice = Auth::Basic("alice", PASSWORD);
    let bob = Auth::Basic("bob", PASSWORD);

    let (status, created, _) = client
        .call(
            alice,
            Method::POST,
            "/api/2.0/mlflow/experiments/create",
            Some(json!({"name": "alice-exp"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let experiment = created["experiment_id"].as_str().unwrap().to_string();

    // The creator manages it: the grant is stored and listed.
    let (_, listed, _) = client
        .call(
            alice,
            Method::GET,
            "/api/3.0/mlflow/users/current/permissions",
            None,
        )
        .await;
    let permissions = listed["permissions"].as_array().unwrap();
    assert!(
        permissions
            .iter()
            .any(|p| p["resource_type"] == "experiment"
                && p["resource_pattern"] == experiment.as_str()
                && p["permission"] == "MANAGE"
                && p["role_name"].as_str().unwrap().starts_with("__user_"))
    );

    // Bob reads by default, cannot write.
    let get = format!("/api/2.0/mlflow/experiments/get?experiment_id={experiment}");
    assert_eq!(
        client.call(bob, Method::GET, &get, None).await.0,
        StatusCode::OK
    );
    let run = json!({"experiment_id": experiment});
    let (status, body, _) = client
        .call(
            bob,
            Method::POST,
            "/api/2.0/mlflow/runs/create",
            Some(run.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error_code"], "PERMISSION_DENIED");

    // Bob cannot grant himself more; Alice can grant him EDIT, once.
    let grant = json!({"username": "bob", "resource_type": "experiment", "resource_id": experiment, "permission": "EDIT"});
    let (status, _, _) = client
        .call(
            bob,
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(grant.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = client
        .call(
            alice,
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(grant.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = client
        .call(
            alice,
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(grant),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "RESOURCE_ALREADY_EXISTS");

    let (status, run_body, _) = client
        .call(bob, Method::POST, "/api/2.0/mlflow/runs/create", Some(run))
        .await;
    assert_eq!(status, StatusCode::OK, "{run_body}");
    let run_id = run_body["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let metric = json!({"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0});
    assert_eq!(
        client
            .call(
                bob,
                Method::POST,
                "/api/2.0/mlflow/runs/log-metric",
                Some(metric)
            )
            .await
            .0,
        StatusCode::OK
    );
    // EDIT does not delete.
    let (status, _, _) = client
        .call(
            bob,
            Method::POST,
            "/api/2.0/mlflow/experiments/delete",
            Some(json!({"experiment_id": experiment})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // DENY hides it from gets and searches.
    let deny = json!({"username": "bob", "resource_type": "experiment", "resource_id": experiment});
    assert_eq!(
        client
            .call(
                alice,
                Method::POST,
                "/api/3.0/mlflow/users/permissions/revoke",
                Some(deny.clone())
            )
            .await
            .0,
        StatusCode::OK
    );
    let mut deny = deny;
    deny["permission"] = json!("DENY");
    assert_eq!(
        client
            .call(
                alice,
                Method::POST,
                "/api/3.0/mlflow/users/permissions/grant",
                Some(deny)
            )
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        client.call(bob, Method::GET, &get, None).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, search, _) = client
        .call(
            bob,
            Method::POST,
            "/api/2.0/mlflow/experiments/search",
            Some(json!({"max_results": 100})),
        )
        .await;
    let names: Vec<&str> = search["experiments"]
        .as_array()
        .map(|list| list.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"alice-exp"), "{names:?}");
    let (_, runs, _) = client
        .call(
            bob,
            Method::POST,
            "/api/2.0/mlflow/runs/search",
            Some(json!({"experiment_ids": [experiment]})),
        )
        .await;
    assert!(runs.get("runs").is_none(), "{runs}");
    // The admin sees everything.
    assert_eq!(
        client.call(ADMIN, Method::GET, &get, None).await.0,
        StatusCode::OK
    );

    // A deleted user's credentials stop working.
    let (status, _, _) = client
        .call(
            ADMIN,
            Method::DELETE,
            "/api/2.0/mlflow/users/delete",
            Some(json!({"username": "bob"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        client.call(bob, Method::GET, &get, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn tokens_are_shown_once_scoped_and_revocable_and_everything_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _identity) = server(dir.path(), Permission::NoPermissions).await;
    let client = Client::new(&url);
    use reqwest::Method;
    create_user(&client, "carol").await;
    let carol = Auth::Basic("carol", PASSWORD);
    let (status, created, _) = client
        .call(
            carol,
            Method::POST,
            "/api/2.0/mlflow/experiments/create",
            Some(json!({"name": "carol-exp"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let experiment = created["experiment_id"].as_str().unwrap().to_string();

    let (status, token, _) = client
        .call(
            carol,
            Method::POST,
            "/api/2.0/smelt/tokens",
            Some(json!({"name": "ci", "read_only": true, "expires_in_seconds": 3600})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let secret = token["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("smelt_"));
    assert_eq!(token["info"]["read_only"], true);
    assert!(
        token["info"]["expires_at"].as_i64().unwrap()
            > token["info"]["created_at"].as_i64().unwrap()
    );

    let bearer = Auth::Bearer(&secret);
    let get = format!("/api/2.0/mlflow/experiments/get?experiment_id={experiment}");
    assert_eq!(
        client.call(bearer, Method::GET, &get, None).await.0,
        StatusCode::OK
    );
    let (status, body, _) = client
        .call(
            bearer,
            Method::POST,
            "/api/2.0/mlflow/runs/create",
            Some(json!({"experiment_id": experiment})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("read-only"));
    // A token cannot mint tokens.
    let (status, _, _) = client
        .call(
            bearer,
            Method::POST,
            "/api/2.0/smelt/tokens",
            Some(json!({"name": "more"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Listed without its secret, with its last use.
    let (_, list, _) = client
        .call(carol, Method::GET, "/api/2.0/smelt/tokens", None)
        .await;
    let listed = &list["tokens"][0];
    assert_eq!(listed["name"], "ci");
    assert!(listed["last_used_at"].as_i64().is_some(), "{list}");
    assert!(!list.to_string().contains(&secret));
    // Revoked: refused at once.
    assert_eq!(
        client
            .call(carol, Method::DELETE, "/api/2.0/smelt/tokens/ci", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        client.call(bearer, Method::GET, &get, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // With NO_PERMISSIONS as the default, another user sees nothing.
    create_user(&client, "dave").await;
    let dave = Auth::Basic("dave", PASSWORD);
    assert_eq!(
        client.call(dave, Method::GET, &get, None).await.0,
        StatusCode::FORBIDDEN
    );

    // Failed logins are throttled per user.
    let wrong = Auth::Basic("dave", "not the password");
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(client.call(wrong, Method::GET, &get, None).await.0);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(
        *statuses.last().unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "{statuses:?}"
    );

    // The audit log has the writes, the refusals and who made them; only
    // admins read it.
    assert_eq!(
        client
            .call(carol, Method::GET, "/api/2.0/smelt/audit", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let mut lines = Value::Null;
    for _ in 0..50 {
        let (status, body, _) = client
            .call(ADMIN, Method::GET, "/api/2.0/smelt/audit?since_ms=0", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        lines = body;
        let count = lines["entries"].as_array().map_or(0, Vec::len);
        if count >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let entries = lines["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["username"] == "carol"
        && e["action"] == "mlflow/experiments/create"
        && e["status"] == 200
        && e["address"] == "127.0.0.1"));
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "mlflow/runs/create" && e["status"] == 403)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "users/create" && e["username"] == "admin")
    );
}

/// The identity store on one database: users, personal-role grants, roles,
/// tokens, sessions and audit lines.
async fn store_round_trip(store: &SqlStore) {
    let user = store
        .create_user("erin", "$argon2id$x", false)
        .await
        .unwrap();
    assert_eq!(
        store
            .create_user("erin", "h", false)
            .await
            .unwrap_err()
            .code,
        ErrorCode::ResourceAlreadyExists
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    let grant = GrantRecord {
        user_id: user.id,
        resource_type: "experiment".into(),
        resource_id: "7".into(),
        permission: "EDIT".into(),
    };
    store.create_grant(&grant).await.unwrap();
    assert_eq!(
        store.create_grant(&grant).await.unwrap_err().code,
        ErrorCode::ResourceAlreadyExists
    );
    assert_eq!(
        store.list_grants(user.id).await.unwrap(),
        vec![grant.clone()]
    );
    let roles = store.list_user_roles(user.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].name, format!("__user_{}__", user.id));

    let role = store
        .create_role("default", "readers", Some("read all"))
        .await
        .unwrap();
    store
        .add_role_permission(role.id, "experiment", "*", "READ")
        .await
        .unwrap();
    store.assign_role(user.id, role.id).await.unwrap();
    assert_eq!(
        store
            .list_user_role_permissions(user.id)
            .await
            .unwrap()
            .len(),
        2
    );
    store
        .rename_resource_grants("experiment", "7", "8")
        .await
        .unwrap();
    assert_eq!(
        store.list_grants(user.id).await.unwrap()[0].resource_id,
        "8"
    );
    store
        .delete_resource_grants("experiment", "8")
        .await
        .unwrap();
    assert!(store.list_grants(user.id).await.unwrap().is_empty());
    // The admin-made role keeps its wildcard.
    assert_eq!(store.list_role_permissions(role.id).await.unwrap().len(), 1);

    let token = store
        .create_token(&TokenRecord {
            id: 0,
            user_id: user.id,
            name: "ci".into(),
            token_hash: "abc".into(),
            read_only: true,
            endpoint: Some("iris".into()),
            created_at: 1,
            expires_at: Some(2),
            last_used_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();
    assert_eq!(store.find_token("abc").await.unwrap().unwrap().id, token.id);
    store.touch_token(token.id, 5).await.unwrap();
    store.revoke_token(user.id, "ci", 6).await.unwrap();
    let found = store.find_token("abc").await.unwrap().unwrap();
    assert_eq!((found.last_used_at, found.revoked_at), (Some(5), Some(6)));
    assert!(found.read_only);

    store.delete_user("erin").await.unwrap();
    assert!(store.find_token("abc").await.unwrap().is_none());
    assert_eq!(
        store.list_roles(None).await.unwrap().len(),
        1,
        "the personal role went with its user"
    );
}

#[tokio::test]
async fn the_identity_store_works_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("smelt.db").display());
    let store = SqlStore::open(&uri, "mlflow-artifacts:").await.unwrap();
    store_round_trip(&store).await;
}

#[tokio::test]
async fn the_identity_store_works_on_postgres() {
    let Some(admin_uri) = support::peer_env("SMELT_TEST_POSTGRES") else {
        return;
    };
    let database = support::PostgresDatabase::create(&admin_uri).await;
    let store = SqlStore::open(&database.uri, "mlflow-artifacts:")
        .await
        .unwrap();
    store_round_trip(&store).await;
}

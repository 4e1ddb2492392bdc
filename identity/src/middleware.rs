//! The gate every request of `smelt server --auth` passes: authenticate,
//! check the route's rule, run the handler, then do what follows a success
//! (the creator manages what they created; grants follow renames and
//! deletions; searches keep only what the caller may read) and write the
//! audit line.
//!
//! The handler sees the authenticated [`Caller`] in its request extensions.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;
use smelt_tracking::api::{ApiError, SmeltError};
use smelt_tracking::store::identity::{AuditRecord, GrantRecord};
use smelt_tracking::wire::now_ms;
use smelt_tracking::{Error, ErrorCode};

use crate::authenticate::{Caller, Via, presented};
use crate::permission::{self, Capability, Permission};
use crate::policy::{self, After, Listing, Plan, Rule};
use crate::resolve::{Target, is_missing};
use crate::{Identity, secrets};

/// Bodies read for a permission check (MLflow's JSON limit is far below).
const MAX_CHECKED_BODY: usize = 16 * 1024 * 1024;
/// Answers filtered for a search (pages are bounded by `max_results`).
const MAX_FILTERED_ANSWER: usize = 512 * 1024 * 1024;

/// The axum middleware: `router.layer(axum::middleware::from_fn_with_state(identity, guard))`.
pub async fn guard(
    State(identity): State<Arc<Identity>>,
    request: Request,
    next: Next,
) -> Response {
    let address = client_address(&request);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();

    // Read the body where a rule needs its fields (API JSON and UI forms);
    // inference and artifact bodies stream past untouched.
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let reads_body = method != Method::GET
        && (is_form
            || [
                "/api/2.0/mlflow/",
                "/ajax-api/",
                "/api/3.0/",
                "/api/2.0/smelt/",
            ]
            .iter()
            .any(|p| path.starts_with(p)));
    let (bytes, body) = if reads_body {
        match axum::body::to_bytes(body, MAX_CHECKED_BODY).await {
            Ok(bytes) => (Some(bytes.clone()), Body::from(bytes)),
            Err(_) => {
                return ApiError(Error::new(
                    ErrorCode::RequestLimitExceeded,
                    format!("The request body is over {MAX_CHECKED_BODY} bytes."),
                ))
                .into_response();
            }
        }
    } else {
        (None, body)
    };
    let json: Option<Value> = bytes
        .as_ref()
        .filter(|_| !is_form)
        .and_then(|b| serde_json::from_slice(b).ok());
    let form: Vec<(String, String)> = bytes
        .as_ref()
        .filter(|_| is_form)
        .map(|b| form_urlencoded::parse(b).into_owned().collect())
        .unwrap_or_default();

    let plan = policy::classify(&policy::Request {
        method: method.as_str(),
        path: &path,
        query: &query,
        body: json.as_ref(),
    });
    let mut request = Request::from_parts(parts, body);
    if plan.rule == Rule::Public {
        return next.run(request).await;
    }
    let smelt_route = is_smelt_route(&path);
    let audit_base =
        |username: Option<String>, status: u16, resource: Option<String>| AuditRecord {
            at: now_ms(),
            username,
            address: address.map(|a| a.to_string()),
            method: method.to_string(),
            path: path.clone(),
            status,
            action: plan.action.clone(),
            resource,
        };

    let credentials = presented(request.headers());
    let caller = match identity
        .authenticator
        .authenticate(&credentials, address)
        .await
    {
        Ok(caller) => caller,
        Err(error) => {
            let tried = !matches!(credentials, crate::authenticate::Presented::Nothing);
            if tried || plan.writes {
                identity
                    .audit
                    .record(audit_base(
                        basic_username(&credentials),
                        status_of(&error, smelt_route),
                        None,
                    ))
                    .await;
            }
            if is_page(&path) && method == Method::GET && error.code == ErrorCode::Unauthenticated {
                return Redirect::to(&format!("/login?next={}", encode(&path))).into_response();
            }
            return refusal(error, smelt_route);
        }
    };

    let scoped = check_csrf(&caller, &method, request.headers(), &form)
        .and_then(|()| check_token_scope(&caller, &plan));
    if let Err(error) = scoped {
        identity
            .audit
            .record(audit_base(
                Some(caller.username.clone()),
                status_of(&error, smelt_route),
                None,
            ))
            .await;
        return refusal(error, smelt_route);
    }
    let resource = match authorize(&identity, &caller, &plan, json.as_ref()).await {
        Ok(resource) => resource,
        Err(error) => {
            if plan.writes || error.code == ErrorCode::PermissionDenied {
                identity
                    .audit
                    .record(audit_base(
                        Some(caller.username.clone()),
                        status_of(&error, smelt_route),
                        None,
                    ))
                    .await;
            }
            return refusal(error, smelt_route);
        }
    };

    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_success() {
        if let Rule::Filter(listing) = plan.rule {
            response = filter_answer(&identity, &caller, listing, response).await;
        }
        let (after, created) = after_success(&identity, &caller, &plan, response).await;
        response = after;
        if let Some(label) = created {
            tracing::debug!(user = %caller.username, %label, "creator grant");
        }
    }
    if plan.writes {
        identity
            .audit
            .record(audit_base(
                Some(caller.username.clone()),
                status.as_u16(),
                resource,
            ))
            .await;
    }
    response
}

/// Smelt's own routes answer by Smelt's status table, MLflow's by MLflow's
/// (they agree on 401, 403 and 429).
fn is_smelt_route(path: &str) -> bool {
    path.starts_with("/api/2.0/smelt/")
        || path.starts_with("/endpoints/")
        || path.starts_with("/v2/")
        || is_page(path)
}

fn is_page(path: &str) -> bool {
    path == "/" || path.starts_with("/ui")
}

fn status_of(error: &Error, smelt_route: bool) -> u16 {
    if smelt_route {
        error.code.smelt_status()
    } else {
        error.code.http_status()
    }
}

/// The error answer; a 401 says how to authenticate, as MLflow's does.
fn refusal(error: Error, smelt_route: bool) -> Response {
    let unauthenticated = error.code == ErrorCode::Unauthenticated;
    let exhausted = error.code == ErrorCode::ResourceExhausted;
    let mut response = if smelt_route {
        SmeltError(error).into_response()
    } else {
        ApiError(error).into_response()
    };
    if unauthenticated {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mlflow\""),
        );
    }
    if exhausted {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    response
}

fn basic_username(credentials: &crate::authenticate::Presented) -> Option<String> {
    match credentials {
        crate::authenticate::Presented::Basic { username, .. } => Some(username.clone()),
        _ => None,
    }
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A browser session's unsafe request must carry the session's CSRF token
/// (form field `csrf_token` or header `X-CSRF-Token`); API clients sending
/// credentials themselves are not exposed to CSRF.
fn check_csrf(
    caller: &Caller,
    method: &Method,
    headers: &axum::http::HeaderMap,
    form: &[(String, String)],
) -> Result<(), Error> {
    let Via::Session { csrf_token } = &caller.via else {
        return Ok(());
    };
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            form.iter()
                .find(|(k, _)| k == "csrf_token")
                .map(|(_, v)| v.clone())
        });
    match sent {
        Some(sent) if secrets::constant_time_eq(&sent, csrf_token) => Ok(()),
        _ => Err(permission::denied(
            "The form's CSRF token is missing or stale; reload the page and try again.",
        )),
    }
}

/// Read-only tokens only read; invoke keys only invoke their endpoint.
fn check_token_scope(caller: &Caller, plan: &Plan) -> Result<(), Error> {
    let Via::Token {
        read_only,
        endpoint,
    } = &caller.via
    else {
        return Ok(());
    };
    if let Some(endpoint) = endpoint {
        let allowed = matches!(&plan.rule, Rule::Need(needs) if needs.iter().all(|(target, capability)| {
            matches!(target, Target::Endpoint(name) if name == endpoint)
                && matches!(capability, Capability::Use | Capability::Read)
        }));
        if !allowed {
            return Err(permission::denied(format!(
                "This token is an invoke key for endpoint '{endpoint}' only."
            )));
        }
        return Ok(());
    }
    if *read_only && plan.writes {
        return Err(permission::denied("This token is read-only."));
    }
    Ok(())
}

/// Checks the plan's rule; answers the audited resource.
async fn authorize(
    identity: &Identity,
    caller: &Caller,
    plan: &Plan,
    body: Option<&Value>,
) -> Result<Option<String>, Error> {
    match &plan.rule {
        Rule::Public | Rule::Authenticated | Rule::Identity | Rule::Filter(_) => Ok(None),
        Rule::Admin => {
            if caller.is_admin {
                Ok(None)
            } else {
                Err(permission::denied(
                    "Permission denied: only an admin may do this.",
                ))
            }
        }
        Rule::Default(capability) => {
            if caller.is_admin || identity.config.default_permission.allows(*capability) {
                Ok(None)
            } else {
                Err(permission::denied(format!(
                    "Permission denied: {} may not {} this path.",
                    caller.username,
                    capability.verb()
                )))
            }
        }
        Rule::Need(needs) => {
            let mut labels = Vec::new();
            for (target, capability) in needs {
                if let Some(label) = require(identity, caller, target, *capability).await? {
                    labels.push(label);
                }
            }
            Ok((!labels.is_empty()).then(|| labels.join(",")))
        }
        Rule::Job(job_id, capability) => {
            let Some(directory) = &identity.directory else {
                return Ok(None);
            };
            match directory.job_experiment(job_id).await {
                Some(experiment) => {
                    require(
                        identity,
                        caller,
                        &Target::ExperimentByName(experiment),
                        *capability,
                    )
                    .await?;
                    Ok(Some(format!("job:{job_id}")))
                }
                // An unknown job is the handler's 404.
                None => Ok(None),
            }
        }
        Rule::SubmitJob => submit_job(identity, caller, body).await,
    }
}

/// Fails unless the caller has the capability; a missing resource passes
/// (the handler answers its 404, as it would without auth).
async fn require(
    identity: &Identity,
    caller: &Caller,
    target: &Target,
    capability: Capability,
) -> Result<Option<String>, Error> {
    let resolved = match identity.resolver.resolve(target).await {
        Ok(resolved) => resolved,
        // A missing run or logged model is a 403 for non-admins, as in
        // MLflow: a 404 would tell them which ids exist. Other targets are
        // named by what the caller already knows; their handler answers 404.
        Err(error) if is_missing(&error) => {
            return match target {
                Target::Run(_) | Target::LoggedModel(_) if !caller.is_admin => {
                    Err(permission::denied(format!(
                        "Permission denied: {} may not {} it.",
                        caller.username,
                        capability.verb()
                    )))
                }
                _ => Ok(None),
            };
        }
        Err(error) => return Err(error),
    };
    let permission = identity.resolver.effective(caller, &resolved).await?;
    if permission.allows(capability) {
        Ok(Some(resolved.label))
    } else {
        Err(permission::denied(format!(
            "Permission denied: {} may not {} {}.",
            caller.username,
            capability.verb(),
            resolved.label.replace(':', " ")
        )))
    }
}

/// A job needs EDIT on its experiment (and on the registered model it
/// registers into). Where they do not exist yet, the submitter creates them
/// now and manages them, as creating them through the API would.
async fn submit_job(
    identity: &Identity,
    caller: &Caller,
    body: Option<&Value>,
) -> Result<Option<String>, Error> {
    let Some(directory) = &identity.directory else {
        return Ok(None);
    };
    let Some(spec) = body.and_then(|b| b.get("spec")).and_then(Value::as_str) else {
        // The handler refuses a body without a spec (400).
        return Ok(None);
    };
    let targets = directory.job_targets(spec).await?;
    let experiment = Target::ExperimentByName(targets.experiment.clone());
    let label = match identity
        .tracking
        .get_experiment_by_name(&targets.experiment)
        .await?
    {
        Some(_) => require(identity, caller, &experiment, Capability::Update).await?,
        None => {
            let id = match identity
                .tracking
                .create_experiment(&targets.experiment, None, &[])
                .await
            {
                Ok(id) => id,
                Err(error) if error.code == ErrorCode::ResourceAlreadyExists => {
                    return require(identity, caller, &experiment, Capability::Update).await;
                }
                Err(error) => return Err(error),
            };
            grant_creator(identity, caller, permission::EXPERIMENT, &id).await;
            Some(format!("experiment:{id}"))
        }
    };
    if let Some(model) = &targets.registered_model {
        match identity.tracking.get_registered_model(model).await {
            Ok(_) => {
                require(
                    identity,
                    caller,
                    &Target::RegisteredModel(model.clone()),
                    Capability::Update,
                )
                .await?;
            }
            Err(error) if is_missing(&error) => {
                match identity
                    .tracking
                    .create_registered_model(model, &[], None)
                    .await
                {
                    Ok(_) => {
                        grant_creator(identity, caller, permission::REGISTERED_MODEL, model).await
                    }
                    Err(error) if error.code == ErrorCode::ResourceAlreadyExists => {}
                    Err(error) => return Err(error),
                }
            }
            Err(error) => return Err(error),
        }
    }
    Ok(label)
}

/// The creator of a resource manages it (MLflow's `set_can_manage_*` hooks).
async fn grant_creator(identity: &Identity, caller: &Caller, resource_type: &str, id: &str) {
    let grant = GrantRecord {
        user_id: caller.user_id,
        resource_type: resource_type.to_string(),
        resource_id: id.to_string(),
        permission: Permission::Manage.as_str().to_string(),
    };
    // A stale grant left on a reused name is replaced.
    let _ = identity
        .store
        .delete_grant(caller.user_id, resource_type, id)
        .await;
    if let Err(error) = identity.store.create_grant(&grant).await {
        tracing::warn!(%error, resource_type, id, "cannot record the creator's grant");
    }
    identity.resolver.forget(Some(caller.user_id));
}

async fn after_success(
    identity: &Identity,
    caller: &Caller,
    plan: &Plan,
    response: Response,
) -> (Response, Option<String>) {
    match &plan.after {
        After::Nothing => (response, None),
        After::CreatorOfExperiment => {
            let (response, json) = read_json(response).await;
            let id = json
                .as_ref()
                .and_then(|j| j.get("experiment_id"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(id) = &id {
                grant_creator(identity, caller, permission::EXPERIMENT, id).await;
            }
            (response, id.map(|id| format!("experiment:{id}")))
        }
        After::CreatorOf(resource_type, id) => {
            if !id.is_empty() {
                grant_creator(identity, caller, resource_type, id).await;
            }
            (response, Some(format!("{resource_type}:{id}")))
        }
        After::Deleted(resource_type, id) => {
            if let Err(error) = identity
                .store
                .delete_resource_grants(resource_type, id)
                .await
            {
                tracing::warn!(%error, "cannot remove the grants of a deleted resource");
            }
            identity.resolver.forget(None);
            (response, None)
        }
        After::Renamed(resource_type, old, new) => {
            if let Err(error) = identity
                .store
                .rename_resource_grants(resource_type, old, new)
                .await
            {
                tracing::warn!(%error, "cannot move the grants of a renamed resource");
            }
            identity.resolver.forget(None);
            (response, None)
        }
    }
}

/// Reads a JSON answer and rebuilds the response around the same bytes.
async fn read_json(response: Response) -> (Response, Option<Value>) {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_FILTERED_ANSWER).await {
        Ok(bytes) => {
            let json = serde_json::from_slice(&bytes).ok();
            (Response::from_parts(parts, Body::from(bytes)), json)
        }
        Err(error) => {
            tracing::error!(%error, "cannot read an answer to check it");
            (
                ApiError(Error::internal("the answer could not be read")).into_response(),
                None,
            )
        }
    }
}

/// Keeps only what the caller may read in a listing's answer.
async fn filter_answer(
    identity: &Identity,
    caller: &Caller,
    listing: Listing,
    response: Response,
) -> Response {
    if caller.is_admin {
        return response;
    }
    let (response, json) = read_json(response).await;
    let Some(mut json) = json else {
        return response;
    };
    let (field, target_of): (&str, fn(&Value) -> Option<Target>) = match listing {
        Listing::Experiments => ("experiments", |v| {
            Some(Target::Experiment(
                v.get("experiment_id")?.as_str()?.to_string(),
            ))
        }),
        Listing::Runs => ("runs", |v| {
            Some(Target::Experiment(
                v.get("info")?.get("experiment_id")?.as_str()?.to_string(),
            ))
        }),
        Listing::LoggedModels => ("models", |v| {
            Some(Target::Experiment(
                v.get("info")?.get("experiment_id")?.as_str()?.to_string(),
            ))
        }),
        Listing::RegisteredModels => ("registered_models", |v| {
            Some(Target::RegisteredModel(
                v.get("name")?.as_str()?.to_string(),
            ))
        }),
        Listing::ModelVersions => ("model_versions", |v| {
            Some(Target::ModelVersion(v.get("name")?.as_str()?.to_string()))
        }),
        Listing::Endpoints => ("endpoints", |v| {
            Some(Target::Endpoint(v.get("name")?.as_str()?.to_string()))
        }),
        Listing::Monitors => ("monitors", |v| {
            Some(Target::Monitor(
                v.get("monitor")?.get("name")?.as_str()?.to_string(),
            ))
        }),
        Listing::Jobs => ("jobs", |v| {
            Some(Target::ExperimentByName(
                v.get("experiment")?.as_str()?.to_string(),
            ))
        }),
    };
    let Some(Value::Array(items)) = json.get_mut(field) else {
        return response;
    };
    let mut decided: HashMap<Target, bool> = HashMap::new();
    let mut kept = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        let Some(target) = target_of(&item) else {
            continue;
        };
        let readable = match decided.get(&target) {
            Some(readable) => *readable,
            None => {
                let readable = identity
                    .can(caller, &target, Capability::Read)
                    .await
                    .unwrap_or(false);
                decided.insert(target, readable);
                readable
            }
        };
        if readable {
            kept.push(item);
        }
    }
    // MLflow's protobuf JSON leaves an empty list out; Smelt's lists keep it.
    let mlflow_listing = matches!(
        listing,
        Listing::Experiments
            | Listing::Runs
            | Listing::LoggedModels
            | Listing::RegisteredModels
            | Listing::ModelVersions
    );
    if kept.is_empty() && mlflow_listing {
        if let Some(object) = json.as_object_mut() {
            object.remove(field);
        }
    } else {
        json[field] = Value::Array(kept);
    }
    let (mut parts, _) = response.into_parts();
    let bytes = Bytes::from(serde_json::to_vec(&json).unwrap_or_default());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.status = StatusCode::OK;
    Response::from_parts(parts, Body::from(bytes))
}

/// The client address the audit log records.
pub fn client_address(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

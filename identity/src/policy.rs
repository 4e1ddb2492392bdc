//! What each route needs: the one table of who may call what.
//!
//! MLflow's routes follow its basic-auth app (`mlflow/server/auth/__init__.py`'s
//! `BEFORE_REQUEST_VALIDATORS`): reading needs READ on the experiment or
//! registered model, changing needs EDIT (`can_update`), deleting needs
//! MANAGE (`can_delete`); creating an experiment or registered model needs
//! only a login, and the creator then manages it; searches answer only
//! what the caller may read. Smelt's own routes extend it the same way:
//! endpoints (inference needs USE), monitors, jobs (submitting needs EDIT on
//! the job's experiment), the web UI.
//!
//! [`classify`] is pure: it reads the method, the path, the query string and
//! (for JSON bodies) the parsed body, and never touches a store.

use serde_json::Value;

use crate::permission::Capability;
use crate::resolve::Target;

/// What a route needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Nothing: health, version, the login page.
    Public,
    /// Any logged-in user.
    Authenticated,
    /// Admins only.
    Admin,
    /// What the server's default permission allows (resources that belong
    /// to no experiment, such as artifact paths outside one).
    Default(Capability),
    /// A capability on each target.
    Need(Vec<(Target, Capability)>),
    /// Any logged-in user; the answer keeps only what the caller may read.
    Filter(Listing),
    /// The identity API's own handlers decide (users, permissions, roles, tokens).
    Identity,
    /// Submitting a job: EDIT on the spec's experiment (resolved by the
    /// server's [`crate::Directory`]).
    SubmitJob,
    /// A job by id: the capability on the job's experiment.
    Job(String, Capability),
}

/// Lists whose answers are filtered to what the caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `experiments/search`.
    Experiments,
    /// `runs/search`.
    Runs,
    /// `logged-models/search`.
    LoggedModels,
    /// `registered-models/search`.
    RegisteredModels,
    /// `model-versions/search`.
    ModelVersions,
    /// `GET /api/2.0/smelt/endpoints`.
    Endpoints,
    /// `GET /api/2.0/smelt/monitors`.
    Monitors,
    /// `GET /api/2.0/smelt/jobs`.
    Jobs,
}

/// What happens after a successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Nothing,
    /// The caller manages what they created; the id is read from the answer.
    CreatorOfExperiment,
    /// The caller manages the registered model of this name.
    CreatorOf(&'static str, String),
    /// Grants on a deleted resource go with it.
    Deleted(&'static str, String),
    /// Grants follow a renamed resource.
    Renamed(&'static str, String, String),
}

/// The rule of a request and what to do after it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Who may call it.
    pub rule: Rule,
    /// Follow-up on success.
    pub after: After,
    /// Whether it changes state (audited).
    pub writes: bool,
    /// The action's name in the audit log.
    pub action: String,
}

/// A request as the policy sees it.
pub struct Request<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// The path, no query.
    pub path: &'a str,
    /// Query parameters.
    pub query: &'a [(String, String)],
    /// The JSON body, when the request has one.
    pub body: Option<&'a Value>,
}

impl Request<'_> {
    /// A parameter from the query string or the JSON body (MLflow reads both).
    pub fn param(&self, name: &str) -> Option<String> {
        if let Some((_, value)) = self.query.iter().find(|(k, _)| k == name) {
            return Some(value.clone());
        }
        match self.body?.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn need(&self, target: Option<Target>, capability: Capability) -> Rule {
        match target {
            Some(target) => Rule::Need(vec![(target, capability)]),
            // A request missing the id is the handler's to refuse (400).
            None => Rule::Authenticated,
        }
    }

    fn experiment(&self) -> Option<Target> {
        self.param("experiment_id").map(Target::Experiment)
    }

    fn run(&self) -> Option<Target> {
        self.param("run_id")
            .or_else(|| self.param("run_uuid"))
            .map(Target::Run)
    }

    fn model(&self) -> Option<Target> {
        self.param("name").map(Target::RegisteredModel)
    }

    fn version(&self) -> Option<Target> {
        self.param("name").map(Target::ModelVersion)
    }
}

const MLFLOW_PREFIXES: [&str; 2] = ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"];
const ARTIFACT_PREFIXES: [&str; 2] = [
    "/api/2.0/mlflow-artifacts/artifacts",
    "/ajax-api/2.0/mlflow-artifacts/artifacts",
];
const IDENTITY_PREFIXES: [&str; 6] = [
    "/api/2.0/mlflow/users/",
    "/ajax-api/2.0/mlflow/users/",
    "/api/3.0/mlflow/users/",
    "/ajax-api/3.0/mlflow/users/",
    "/api/3.0/mlflow/roles/",
    "/ajax-api/3.0/mlflow/roles/",
];
const SMELT: &str = "/api/2.0/smelt/";

/// Classifies a request.
pub fn classify(request: &Request<'_>) -> Plan {
    let method = request.method;
    let path = request.path;
    let writes_by_method = !matches!(method, "GET" | "HEAD" | "OPTIONS");
    let plan = |rule: Rule, after: After, writes: bool, action: &str| Plan {
        rule,
        after,
        writes,
        action: action.to_string(),
    };
    if IDENTITY_PREFIXES.iter().any(|p| path.starts_with(p))
        || path.starts_with("/api/2.0/smelt/tokens")
        || path.starts_with("/api/2.0/smelt/audit")
    {
        let action = path
            .split_once("/mlflow/")
            .or_else(|| path.split_once("/smelt/"))
            .map_or(path, |(_, rest)| rest);
        return plan(Rule::Identity, After::Nothing, writes_by_method, action);
    }
    if let Some(rest) = MLFLOW_PREFIXES.iter().find_map(|p| path.strip_prefix(p)) {
        return mlflow(request, rest);
    }
    if let Some(rest) = ARTIFACT_PREFIXES.iter().find_map(|p| path.strip_prefix(p)) {
        return artifacts(request, rest);
    }
    if let Some(rest) = path.strip_prefix(SMELT) {
        return smelt(request, rest);
    }
    if let Some(plan) = serving(request) {
        return plan;
    }
    if let Some(plan) = ui(request) {
        return plan;
    }
    let public = matches!(
        path,
        "/health"
            | "/ready"
            | "/ping"
            | "/v2/health/live"
            | "/v2/health/ready"
            | "/login"
            | "/logout"
            | "/api/3.0/mlflow/server-info"
            | "/api/2.0/smelt/openapi.json"
    );
    if public {
        return plan(Rule::Public, After::Nothing, false, path);
    }
    plan(Rule::Authenticated, After::Nothing, writes_by_method, path)
}

fn mlflow(request: &Request<'_>, rest: &str) -> Plan {
    use Capability::*;
    let r = request;
    let (rule, after, writes) = match rest {
        "experiments/create" => (Rule::Authenticated, After::CreatorOfExperiment, true),
        "experiments/get" => (r.need(r.experiment(), Read), After::Nothing, false),
        "experiments/get-by-name" => (
            r.need(
                r.param("experiment_name").map(Target::ExperimentByName),
                Read,
            ),
            After::Nothing,
            false,
        ),
        "experiments/search" => (Rule::Filter(Listing::Experiments), After::Nothing, false),
        "experiments/update"
        | "experiments/set-experiment-tag"
        | "experiments/delete-experiment-tag" => {
            (r.need(r.experiment(), Update), After::Nothing, true)
        }
        "experiments/delete" | "experiments/restore" => {
            (r.need(r.experiment(), Delete), After::Nothing, true)
        }
        "runs/create" => (r.need(r.experiment(), Update), After::Nothing, true),
        "runs/get" | "metrics/get-history" => (r.need(r.run(), Read), After::Nothing, false),
        // Unreadable experiments contribute no runs (MLflow drops them from
        // the search before it runs; filtering the answer is the same set).
        "runs/search" => (Rule::Filter(Listing::Runs), After::Nothing, false),
        "runs/update" | "runs/log-metric" | "runs/log-parameter" | "runs/set-tag"
        | "runs/delete-tag" | "runs/log-batch" | "runs/log-inputs" | "runs/outputs"
        | "runs/log-model" => (r.need(r.run(), Update), After::Nothing, true),
        "runs/delete" | "runs/restore" => (r.need(r.run(), Delete), After::Nothing, true),
        "logged-models" => (r.need(r.experiment(), Update), After::Nothing, true),
        "logged-models/search" => (Rule::Filter(Listing::LoggedModels), After::Nothing, false),
        "registered-models/create" => (
            Rule::Authenticated,
            r.param("name").map_or(After::Nothing, |name| {
                After::CreatorOf(crate::permission::REGISTERED_MODEL, name)
            }),
            true,
        ),
        "registered-models/get" | "registered-models/get-latest-versions" => {
            (r.need(r.model(), Read), After::Nothing, false)
        }
        "registered-models/alias" if r.method == "GET" => {
            (r.need(r.model(), Read), After::Nothing, false)
        }
        "registered-models/search" => (
            Rule::Filter(Listing::RegisteredModels),
            After::Nothing,
            false,
        ),
        "registered-models/rename" => (
            r.need(r.model(), Update),
            match (r.param("name"), r.param("new_name")) {
                (Some(old), Some(new)) => {
                    After::Renamed(crate::permission::REGISTERED_MODEL, old, new)
                }
                _ => After::Nothing,
            },
            true,
        ),
        // Removing an alias needs MANAGE, as in MLflow; setting one EDIT.
        "registered-models/alias" if r.method == "DELETE" => {
            (r.need(r.model(), Delete), After::Nothing, true)
        }
        "registered-models/update"
        | "registered-models/set-tag"
        | "registered-models/delete-tag"
        | "registered-models/alias" => (r.need(r.model(), Update), After::Nothing, true),
        "registered-models/delete" => (
            r.need(r.model(), Delete),
            r.param("name").map_or(After::Nothing, |name| {
                After::Deleted(crate::permission::REGISTERED_MODEL, name)
            }),
            true,
        ),
        "model-versions/create" => {
            // A version made from a run also needs to read that run.
            let mut needs = vec![];
            if let Some(model) = r.model() {
                needs.push((model, Update));
            }
            if let Some(run) = r.param("run_id").filter(|id| !id.is_empty()) {
                needs.push((Target::Run(run), Read));
            }
            let rule = if needs.is_empty() {
                Rule::Authenticated
            } else {
                Rule::Need(needs)
            };
            (rule, After::Nothing, true)
        }
        "model-versions/get" | "model-versions/get-download-uri" => {
            (r.need(r.version(), Read), After::Nothing, false)
        }
        "model-versions/search" => (Rule::Filter(Listing::ModelVersions), After::Nothing, false),
        "model-versions/update" | "model-versions/transition-stage" | "model-versions/set-tag" => {
            (r.need(r.version(), Update), After::Nothing, true)
        }
        "model-versions/delete" | "model-versions/delete-tag" => {
            (r.need(r.version(), Delete), After::Nothing, true)
        }
        other => logged_model(r, other),
    };
    Plan {
        rule,
        after,
        writes,
        action: format!("mlflow/{rest}"),
    }
}

/// `logged-models/{id}`, `…/tags`, `…/tags/{key}`.
fn logged_model(request: &Request<'_>, rest: &str) -> (Rule, After, bool) {
    use Capability::*;
    let Some(tail) = rest.strip_prefix("logged-models/") else {
        return (Rule::Authenticated, After::Nothing, request.method != "GET");
    };
    let model_id = tail.split('/').next().unwrap_or_default().to_string();
    let target = Target::LoggedModel(model_id);
    // Deleting the model or one of its tags needs MANAGE, as in MLflow.
    let capability = match request.method {
        "GET" => Read,
        "DELETE" => Delete,
        _ => Update,
    };
    (
        Rule::Need(vec![(target, capability)]),
        After::Nothing,
        capability != Read,
    )
}

/// The artifact proxy: paths are `<experiment id>/<run id>/artifacts/…`
/// (what `mlflow-artifacts:/<experiment id>` locations hold); the
/// experiment's permission governs.
fn artifacts(request: &Request<'_>, rest: &str) -> Plan {
    let path = if rest.is_empty() || rest == "/" {
        request.param("path").unwrap_or_default()
    } else {
        rest.trim_start_matches('/').to_string()
    };
    let experiment = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string);
    let capability = match request.method {
        "GET" | "HEAD" => Capability::Read,
        "DELETE" => Capability::Delete,
        _ => Capability::Update,
    };
    let rule = if path.split('/').any(|part| part == "..") {
        // The proxy refuses such paths too; never let one pick its experiment.
        Rule::Admin
    } else {
        match experiment {
            Some(id) => Rule::Need(vec![(Target::Experiment(id), capability)]),
            // Paths in no experiment's folder: the server's default decides.
            None => Rule::Default(capability),
        }
    };
    Plan {
        rule,
        after: After::Nothing,
        writes: capability != Capability::Read,
        action: "mlflow-artifacts".to_string(),
    }
}

/// Smelt's own API: jobs, endpoints, monitors.
fn smelt(request: &Request<'_>, rest: &str) -> Plan {
    use Capability::*;
    let method = request.method;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (rule, after) = match (segments.as_slice(), method) {
        (["jobs"], "POST") => (Rule::SubmitJob, After::Nothing),
        (["jobs"], _) => (Rule::Filter(Listing::Jobs), After::Nothing),
        (["jobs", id], _) | (["jobs", id, "logs"], _) => {
            (Rule::Job(id.to_string(), Read), After::Nothing)
        }
        (["jobs", id, "cancel"], _) => (Rule::Job(id.to_string(), Update), After::Nothing),
        (["endpoints"], "POST") => {
            let name = request.param("name").unwrap_or_default();
            let mut needs: Vec<(Target, Capability)> = served_models(request.body)
                .into_iter()
                .map(|model| (Target::RegisteredModel(model), Read))
                .collect();
            needs.dedup();
            (
                if needs.is_empty() {
                    Rule::Authenticated
                } else {
                    Rule::Need(needs)
                },
                After::CreatorOf(crate::permission::ENDPOINT, name),
            )
        }
        (["endpoints"], _) => (Rule::Filter(Listing::Endpoints), After::Nothing),
        (["endpoints", name, ..], "GET") => (
            Rule::Need(vec![(Target::Endpoint(name.to_string()), Read)]),
            After::Nothing,
        ),
        (["endpoints", name], "DELETE") => (
            Rule::Need(vec![(Target::Endpoint(name.to_string()), Delete)]),
            After::Deleted(crate::permission::ENDPOINT, name.to_string()),
        ),
        (["endpoints", name, ..], _) => {
            let mut needs = vec![(Target::Endpoint(name.to_string()), Update)];
            needs.extend(
                served_models(request.body)
                    .into_iter()
                    .map(|model| (Target::RegisteredModel(model), Read)),
            );
            (Rule::Need(needs), After::Nothing)
        }
        (["monitors"], "POST") => {
            // A monitor reads the endpoint's traffic and the reference model.
            let name = request.param("name").unwrap_or_default();
            let mut needs = vec![];
            if let Some(endpoint) = request.param("endpoint") {
                needs.push((Target::Endpoint(endpoint), Read));
            }
            if let Some(model) = request
                .param("reference")
                .as_deref()
                .and_then(registered_model_of)
            {
                needs.push((Target::RegisteredModel(model), Read));
            }
            let rule = if needs.is_empty() {
                Rule::Authenticated
            } else {
                Rule::Need(needs)
            };
            (rule, After::CreatorOf(crate::permission::MONITOR, name))
        }
        (["monitors"], _) => (Rule::Filter(Listing::Monitors), After::Nothing),
        (["monitors", name, ..], "GET") => (
            Rule::Need(vec![(Target::Monitor(name.to_string()), Read)]),
            After::Nothing,
        ),
        (["monitors", name], "DELETE") => (
            Rule::Need(vec![(Target::Monitor(name.to_string()), Delete)]),
            After::Deleted(crate::permission::MONITOR, name.to_string()),
        ),
        (["monitors", name, ..], _) => {
            let mut needs = vec![(Target::Monitor(name.to_string()), Update)];
            if let Some(endpoint) = request.param("endpoint") {
                needs.push((Target::Endpoint(endpoint), Read));
            }
            (Rule::Need(needs), After::Nothing)
        }
        (["openapi.json"], _) => (Rule::Public, After::Nothing),
        _ => (Rule::Authenticated, After::Nothing),
    };
    Plan {
        rule,
        after,
        writes: !matches!(method, "GET" | "HEAD" | "OPTIONS"),
        action: format!("smelt/{rest}"),
    }
}

/// Registered models an endpoint spec serves (`models:/NAME@alias`, `/VERSION`…).
fn served_models(body: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(variants)) = body.and_then(|b| b.get("variants")) else {
        return Vec::new();
    };
    variants
        .iter()
        .filter_map(|v| v.get("model")?.as_str())
        .filter_map(registered_model_of)
        .collect()
}

/// The registered model a `models:/NAME@ALIAS` (or `/VERSION`) URI names.
fn registered_model_of(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("models:/")?;
    let name = rest.split(['/', '@']).next()?;
    (!name.is_empty() && !name.starts_with("m-")).then(|| name.to_string())
}

/// Inference and model metadata on `smelt server`'s endpoints.
fn serving(request: &Request<'_>) -> Option<Plan> {
    use Capability::*;
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let (target, capability) = match (segments.as_slice(), request.method) {
        (["endpoints", name, "invocations"], _) => (name, Use),
        (["endpoints", name, "ping"], _) => (name, Read),
        (["v2", "models", name, "infer"], _)
        | (["v2", "models", name, "versions", _, "infer"], _) => (name, Use),
        (["v2", "models", name, ..], _) => (name, Read),
        (["metrics"], _) => {
            return Some(Plan {
                rule: Rule::Authenticated,
                after: After::Nothing,
                writes: false,
                action: "metrics".into(),
            });
        }
        _ => return None,
    };
    Some(Plan {
        rule: Rule::Need(vec![(Target::Endpoint(target.to_string()), capability)]),
        after: After::Nothing,
        writes: false,
        action: if capability == Use {
            "invoke".to_string()
        } else {
            "endpoint-metadata".to_string()
        },
    })
}

/// The web UI: pages of one resource need READ on it; setting an alias EDIT.
fn ui(request: &Request<'_>) -> Option<Plan> {
    use Capability::*;
    let path = request.path;
    if path != "/" && !path.starts_with("/ui") {
        return None;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let decoded = |s: &str| percent_decode(s);
    let rule = match (segments.as_slice(), request.method) {
        (["ui", "experiments", id, ..], _) => {
            Rule::Need(vec![(Target::Experiment(decoded(id)), Read)])
        }
        (["ui", "runs", id, ..], _) => Rule::Need(vec![(Target::Run(decoded(id)), Read)]),
        (["ui", "models", name, "alias"], "POST")
        | (["ui", "models", name, "alias", ..], "POST") => {
            Rule::Need(vec![(Target::RegisteredModel(decoded(name)), Update)])
        }
        (["ui", "models", name, ..], _) => {
            Rule::Need(vec![(Target::RegisteredModel(decoded(name)), Read)])
        }
        (["ui", "jobs", id, ..], _) => Rule::Job(decoded(id), Read),
        (["ui", "endpoints", name, ..], _) => {
            Rule::Need(vec![(Target::Endpoint(decoded(name)), Read)])
        }
        (["ui", "monitors", name, ..], _) => {
            Rule::Need(vec![(Target::Monitor(decoded(name)), Read)])
        }
        (["ui", "audit"], _) => Rule::Admin,
        (["ui", "compare"], _) => {
            let runs: Vec<(Target, Capability)> = request
                .query
                .iter()
                .filter(|(k, _)| k == "runs" || k == "run")
                .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
                .filter(|id| !id.is_empty())
                .map(|id| (Target::Run(id), Read))
                .collect();
            if runs.is_empty() {
                Rule::Authenticated
            } else {
                Rule::Need(runs)
            }
        }
        _ => Rule::Authenticated,
    };
    Some(Plan {
        rule,
        after: After::Nothing,
        writes: !matches!(request.method, "GET" | "HEAD"),
        action: format!("ui{}", path.trim_start_matches("/ui")),
    })
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| text.to_string(), |(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(method: &str, path: &str, query: &[(&str, &str)], body: Option<Value>) -> Plan {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        classify(&Request {
            method,
            path,
            query: &query,
            body: body.as_ref(),
        })
    }

    fn need(target: Target, capability: Capability) -> Rule {
        Rule::Need(vec![(target, capability)])
    }

    #[test]
    fn mlflow_routes_need_what_the_basic_auth_app_checks() {
        let exp = || Target::Experiment("7".into());
        assert_eq!(
            plan(
                "GET",
                "/api/2.0/mlflow/experiments/get",
                &[("experiment_id", "7")],
                None
            )
            .rule,
            need(exp(), Capability::Read)
        );
        assert_eq!(
            plan(
                "POST",
                "/api/2.0/mlflow/runs/create",
                &[],
                Some(json!({"experiment_id": "7"}))
            )
            .rule,
            need(exp(), Capability::Update)
        );
        assert_eq!(
            plan(
                "POST",
                "/api/2.0/mlflow/experiments/delete",
                &[],
                Some(json!({"experiment_id": "7"}))
            )
            .rule,
            need(exp(), Capability::Delete)
        );
        let log = plan(
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            &[],
            Some(json!({"run_id": "r1"})),
        );
        assert_eq!(log.rule, need(Target::Run("r1".into()), Capability::Update));
        assert!(log.writes);
        let created = plan(
            "POST",
            "/api/2.0/mlflow/experiments/create",
            &[],
            Some(json!({"name": "e"})),
        );
        assert_eq!(created.rule, Rule::Authenticated);
        assert_eq!(created.after, After::CreatorOfExperiment);
        assert_eq!(
            plan(
                "POST",
                "/api/2.0/mlflow/registered-models/alias",
                &[],
                Some(json!({"name": "m"}))
            )
            .rule,
            need(Target::RegisteredModel("m".into()), Capability::Update)
        );
        assert_eq!(
            plan(
                "GET",
                "/api/2.0/mlflow/registered-models/alias",
                &[("name", "m")],
                None
            )
            .rule,
            need(Target::RegisteredModel("m".into()), Capability::Read)
        );
        assert_eq!(
            plan("GET", "/api/2.0/mlflow/registered-models/search", &[], None).rule,
            Rule::Filter(Listing::RegisteredModels)
        );
        assert_eq!(
            plan("DELETE", "/api/2.0/mlflow/logged-models/m-1", &[], None).rule,
            need(Target::LoggedModel("m-1".into()), Capability::Delete)
        );
    }

    #[test]
    fn artifacts_follow_their_experiment_folder() {
        assert_eq!(
            plan(
                "PUT",
                "/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/x.txt",
                &[],
                None
            )
            .rule,
            need(Target::Experiment("3".into()), Capability::Update)
        );
        assert_eq!(
            plan(
                "GET",
                "/api/2.0/mlflow-artifacts/artifacts",
                &[("path", "3/abc")],
                None
            )
            .rule,
            need(Target::Experiment("3".into()), Capability::Read)
        );
        assert_eq!(
            plan(
                "GET",
                "/api/2.0/mlflow-artifacts/artifacts/etc/passwd",
                &[],
                None
            )
            .rule,
            Rule::Default(Capability::Read)
        );
        assert_eq!(
            plan(
                "GET",
                "/api/2.0/mlflow-artifacts/artifacts/3/../4/x",
                &[],
                None
            )
            .rule,
            Rule::Admin
        );
    }

    #[test]
    fn smelt_routes_cover_endpoints_monitors_and_jobs() {
        assert_eq!(
            plan("POST", "/endpoints/iris/invocations", &[], None).rule,
            need(Target::Endpoint("iris".into()), Capability::Use)
        );
        assert_eq!(
            plan("POST", "/v2/models/iris/infer", &[], None).rule,
            need(Target::Endpoint("iris".into()), Capability::Use)
        );
        let create = plan(
            "POST",
            "/api/2.0/smelt/endpoints",
            &[],
            Some(json!({"name": "iris", "variants": [{"model": "models:/iris@champion"}]})),
        );
        assert_eq!(
            create.rule,
            need(Target::RegisteredModel("iris".into()), Capability::Read)
        );
        assert_eq!(create.after, After::CreatorOf("endpoint", "iris".into()));
        assert_eq!(
            plan("DELETE", "/api/2.0/smelt/endpoints/iris", &[], None).rule,
            need(Target::Endpoint("iris".into()), Capability::Delete)
        );
        assert_eq!(
            plan("POST", "/api/2.0/smelt/jobs", &[], None).rule,
            Rule::SubmitJob
        );
        assert_eq!(
            plan("POST", "/api/2.0/smelt/jobs/j1/cancel", &[], None).rule,
            Rule::Job("j1".into(), Capability::Update)
        );
        assert_eq!(plan("GET", "/health", &[], None).rule, Rule::Public);
        assert_eq!(
            plan("POST", "/api/2.0/mlflow/users/create", &[], None).rule,
            Rule::Identity
        );
        assert_eq!(
            plan("POST", "/ui/models/m%20x/alias", &[], None).rule,
            need(Target::RegisteredModel("m x".into()), Capability::Update)
        );
    }
}

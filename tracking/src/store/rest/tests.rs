//! Tests of the parent module, kept beside it so the module stays readable.
use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[test]
fn get_fields_become_query_parameters_with_repeated_keys() {
    let body = drop_nulls(json!({
        "run_ids": ["a", "b"],
        "metric_key": "loss",
        "max_results": 25000,
        "page_token": null,
        "flag": true,
    }));
    let url = with_query("http://host:5000/api/2.0/mlflow/metrics/get-history", &body).unwrap();
    assert_eq!(url.path(), "/api/2.0/mlflow/metrics/get-history");
    assert_eq!(
        sorted_pairs(&url),
        pairs(&[
            ("flag", "true"),
            ("max_results", "25000"),
            ("metric_key", "loss"),
            ("run_ids", "a"),
            ("run_ids", "b"),
        ])
    );
}

/// The query pairs of a URL, sorted: serde_json's map order depends on
/// features other crates may switch on.
fn sorted_pairs(url: &url::Url) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn get_without_fields_has_no_query_string() {
    let url = with_query("http://host/api/2.0/mlflow/logged-models/m-1", &json!({})).unwrap();
    assert_eq!(url.as_str(), "http://host/api/2.0/mlflow/logged-models/m-1");
}

#[test]
fn query_values_are_form_encoded() {
    let body = json!({"filter": "name = 'a&b'"});
    let url = with_query("http://host/x", &body).unwrap();
    assert_eq!(url.query(), Some("filter=name+%3D+%27a%26b%27"));
    let body = json!({"order_by": ["name ASC", "version_number DESC"]});
    let url = with_query("http://host/x", &body).unwrap();
    assert_eq!(
        url.query(),
        Some("order_by=name+ASC&order_by=version_number+DESC")
    );
}

#[test]
fn nulls_are_dropped_from_nested_objects() {
    let body = drop_nulls(json!({"a": null, "b": {"c": null, "d": 1}, "e": [{"f": null}]}));
    assert_eq!(body, json!({"b": {"d": 1}, "e": [{}]}));
}

#[test]
fn json_error_body_keeps_code_and_message() {
    let body = br#"{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Experiment 'x' already exists.", "sqlstate": "KAM00"}"#;
    let error = error_from_answer(
        400,
        body,
        &Method::POST,
        "http://h/api/2.0/mlflow/experiments/create",
    );
    assert_eq!(error.code, ErrorCode::ResourceAlreadyExists);
    assert_eq!(error.message, "Experiment 'x' already exists.");
}

#[test]
fn unknown_error_codes_become_unknown_except_on_404() {
    let body = br#"{"error_code": "QUOTA_EXCEEDED", "message": "no"}"#;
    let error = error_from_answer(403, body, &Method::GET, "http://h/x");
    assert_eq!(error.code, ErrorCode::Unknown);
    assert!(
        error.message.contains("QUOTA_EXCEEDED"),
        "{}",
        error.message
    );
    let body = br#"{"error_code": "NOT_FOUND", "message": "gone"}"#;
    let error = error_from_answer(404, body, &Method::GET, "http://h/x");
    assert_eq!(error.code, ErrorCode::ResourceDoesNotExist);
}

#[test]
fn non_json_errors_take_their_code_from_the_status() {
    let error = error_from_answer(404, b"", &Method::GET, "http://h/api/2.0/mlflow/nothing");
    assert_eq!(error.code, ErrorCode::ResourceDoesNotExist);
    assert!(
        error.message.contains("http://h/api/2.0/mlflow/nothing"),
        "{}",
        error.message
    );
    let error = error_from_answer(
        404,
        b"<!doctype html><title>404</title>",
        &Method::GET,
        "http://h/x",
    );
    assert_eq!(error.code, ErrorCode::ResourceDoesNotExist);
    assert!(!error.message.contains("doctype"), "{}", error.message);
    let error = error_from_answer(502, b"bad gateway", &Method::POST, "http://h/x");
    assert_eq!(error.code, ErrorCode::InternalError);
    assert!(error.message.ends_with("bad gateway"), "{}", error.message);
    let error = error_from_answer(
        404,
        br#"{"detail": "Not Found"}"#,
        &Method::GET,
        "http://h/x",
    );
    assert_eq!(error.code, ErrorCode::ResourceDoesNotExist);
    assert!(error.message.ends_with("Not Found"), "{}", error.message);
    assert_eq!(
        error_from_answer(503, b"", &Method::GET, "u").code,
        ErrorCode::TemporarilyUnavailable
    );
    assert_eq!(
        error_from_answer(401, b"", &Method::GET, "u").code,
        ErrorCode::Unknown
    );
}

#[test]
fn empty_success_answers_decode_to_defaults() {
    for body in [&b""[..], b"  \n", b"{}"] {
        let answer: SearchRunsAnswer = decode_answer(body, "u").unwrap();
        assert!(answer.runs.is_empty() && answer.next_page_token.is_none());
        let answer: RunAnswer = decode_answer(body, "u").unwrap();
        assert!(answer.run.is_none());
        decode_answer::<IgnoredAny>(body, "u").unwrap();
    }
    let error = decode_answer::<RunAnswer>(b"<html>", "http://h/x")
        .err()
        .unwrap();
    assert_eq!(error.code, ErrorCode::InternalError);
    assert!(required(None::<Run>, "run", "/runs/get").is_err());
}

#[test]
fn answers_accept_mlflow_spellings_and_unknown_fields() {
    let body = br#"{"metrics": [
        {"key": "loss", "value": "NaN", "timestamp": "1795650093842", "step": "7"},
        {"key": "loss", "value": 0.5, "timestamp": 1795650093843, "step": 8}
    ], "next_page_token": "", "extra": {"workspace": "default"}}"#;
    let answer: MetricHistoryAnswer = decode_answer(body, "u").unwrap();
    let history = page(answer.metrics, answer.next_page_token);
    assert_eq!(history.next_page_token, None);
    assert!(history.items[0].value.is_nan());
    assert_eq!(
        (history.items[0].timestamp, history.items[0].step),
        (1795650093842, 7)
    );
    assert_eq!(history.items[1].value, 0.5);
    assert_eq!(
        page(vec![1], Some("eyJvZmZzZXQiOiAxfQ==".into()))
            .next_page_token
            .as_deref(),
        Some("eyJvZmZzZXQiOiAxfQ==")
    );
}

#[test]
fn metric_bodies_carry_nan_as_a_string() {
    let metric = Metric::new("loss", f64::NAN, 3);
    let body = to_json(&metric).unwrap();
    assert_eq!(body["value"], json!("NaN"));
    assert_eq!(body["step"], json!(3));
}

#[test]
fn logged_model_order_by_takes_mlflow_shape() {
    let clauses = vec![
        "metrics.accuracy DESC".to_string(),
        "creation_timestamp asc".to_string(),
        "name".to_string(),
        "  ".to_string(),
    ];
    assert_eq!(
        logged_model_order_by(&clauses),
        vec![
            json!({"field_name": "metrics.accuracy", "ascending": false}),
            json!({"field_name": "creation_timestamp", "ascending": true}),
            json!({"field_name": "name", "ascending": true}),
        ]
    );
}

#[test]
fn logged_model_paths_escape_ids_and_keys() {
    assert_eq!(
        logged_model_path("m-0a1b"),
        "/api/2.0/mlflow/logged-models/m-0a1b"
    );
    assert_eq!(
        logged_model_path("a/b c"),
        "/api/2.0/mlflow/logged-models/a%2Fb%20c"
    );
}

#[test]
fn missing_alias_is_not_found() {
    let error = error_from_answer(
        400,
        br#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias champion not found."}"#,
        &Method::GET,
        "u",
    );
    assert!(alias_not_found(error).is_not_found());
    assert!(!alias_not_found(Error::invalid("bad name")).is_not_found());
}

#[test]
fn new_trims_the_uri_and_rejects_other_schemes() {
    let store = RestStore::new("http://localhost:5000/").unwrap();
    assert_eq!(store.base_url(), "http://localhost:5000");
    let store = RestStore::new("https://host/prefix//").unwrap();
    assert_eq!(store.base_url(), "https://host/prefix");
    assert_eq!(
        RestStore::new("sqlite:///x.db").unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    assert!(RestStore::new("not a uri").is_err());
}

#[tokio::test]
async fn unreachable_server_is_temporarily_unavailable() {
    // A port that was just free: nothing listens on it any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let store = RestStore::new(&format!("http://{address}")).unwrap();
    let error = store.get_run("abc").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
    assert!(
        error
            .message
            .contains(&format!("http://{address}/api/2.0/mlflow/runs/get")),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("server is running"),
        "{}",
        error.message
    );
}

/// Answers one request with `status` and `body`, and hands back the raw request.
async fn serve_once(
    status: &'static str,
    body: &'static str,
) -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.unwrap();
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_string())
                    })
                    .map_or(0, |v| v.parse::<usize>().unwrap());
                if request.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&request).to_string()
    });
    (base, handle)
}

#[tokio::test]
async fn get_calls_send_a_query_string() {
    let (base, request) = serve_once("200 OK", "{}").await;
    let store = RestStore::new(&base).unwrap();
    let page = store
        .get_metric_history("r1", "loss", None, None)
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next_page_token.is_none());
    let request = request.await.unwrap();
    let target = request.split(' ').nth(1).unwrap();
    assert!(
        request.starts_with("GET /api/2.0/mlflow/metrics/get-history?"),
        "{request}"
    );
    let url = url::Url::parse(&format!("http://h{target}")).unwrap();
    assert_eq!(
        sorted_pairs(&url),
        pairs(&[
            ("max_results", "25000"),
            ("metric_key", "loss"),
            ("run_id", "r1"),
            ("run_uuid", "r1"),
        ])
    );
}

#[tokio::test]
async fn post_calls_send_json_bodies() {
    let (base, request) = serve_once("200 OK", "").await;
    let store = RestStore::new(&base).unwrap();
    store
        .log_metric("r1", &Metric::new("loss", f64::INFINITY, 2))
        .await
        .unwrap();
    let request = request.await.unwrap();
    assert!(
        request.starts_with("POST /api/2.0/mlflow/runs/log-metric HTTP/1.1"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{request}"
    );
    let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["run_id"], json!("r1"));
    assert_eq!(body["run_uuid"], json!("r1"));
    assert_eq!(body["value"], json!("Infinity"));
    assert!(body.get("model_id").is_none());
}

#[tokio::test]
async fn missing_experiment_name_is_none_and_errors_pass_through() {
    let (base, _request) = serve_once(
        "404 Not Found",
        r#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Could not find experiment with name 'x'"}"#,
    )
    .await;
    let store = RestStore::new(&base).unwrap();
    assert_eq!(store.get_experiment_by_name("x").await.unwrap(), None);

    let (base, _request) = serve_once(
        "400 Bad Request",
        r#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "Changing param values is not allowed."}"#,
    )
    .await;
    let store = RestStore::new(&base).unwrap();
    let error = store
        .log_param("r1", &Param::new("lr", "0.1"))
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParameterValue);
    assert_eq!(error.message, "Changing param values is not allowed.");
}

#[tokio::test]
async fn refusals_say_which_login_to_set() {
    let (base, _request) = serve_once(
        "401 Unauthorized",
        r#"{"error_code": "UNAUTHENTICATED", "message": "Log in."}"#,
    )
    .await;
    let store = RestStore {
        credentials: Credentials::Anonymous,
        ..RestStore::new(&base).unwrap()
    };
    let error = store.get_run("r1").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Unauthenticated);
    assert_eq!(error.message, client::LOGIN_NEEDED);

    // MLflow's auth plugin answers plain text.
    let (base, _request) = serve_once("403 Forbidden", "Permission denied").await;
    let store = RestStore {
        credentials: Credentials::Token("t".into()),
        ..RestStore::new(&base).unwrap()
    };
    let error = store
        .log_param("r1", &Param::new("lr", "0.1"))
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::PermissionDenied);
    assert_eq!(error.message, "permission denied: Permission denied");
}

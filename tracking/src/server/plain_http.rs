//! The answer to a plain-HTTP request on an HTTPS port: browsers asking for
//! a page (GET or HEAD) are redirected to the same URL over https; anything
//! else gets a 400 in MLflow's error shape saying to use https, since
//! replaying a write over a redirect would send its body in clear first.

use smelt_api::error::{ErrorBody, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most of a request head that is read to find its method, target and
/// `Host`; longer heads are answered from what was read.
const MAX_HEAD: usize = 8 * 1024;

/// Reads the request head (the caller bounds the time), answers and closes.
pub(super) async fn answer(mut stream: TcpStream) {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let fallback_host = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "HOST:PORT".to_string());
    let response = response_for(&String::from_utf8_lossy(&head), &fallback_host);
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// The whole response to a plain-HTTP request head; `fallback_host` is used
/// when the request names no usable `Host`.
fn response_for(head: &str, fallback_host: &str) -> Vec<u8> {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default();
    let target = request_line.next().unwrap_or_default();
    let host = lines
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim())
        .filter(|host| is_plain_host(host));
    let base = format!("https://{}", host.unwrap_or(fallback_host));
    let message = format!("this server speaks HTTPS: use {base}/");
    let body =
        serde_json::to_vec(&ErrorBody::new(ErrorCode::BadRequest, message)).unwrap_or_default();

    let redirect = matches!(method, "GET" | "HEAD") && host.is_some() && is_plain_path(target);
    let mut response = if redirect {
        // 307, not 301/308: browsers cache permanent redirects, which would
        // outlive turning TLS off again.
        format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {base}{target}\r\n")
    } else {
        "HTTP/1.1 400 Bad Request\r\n".to_string()
    };
    response.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = response.into_bytes();
    if method != "HEAD" {
        bytes.extend_from_slice(&body);
    }
    bytes
}

/// A `Host` value safe to echo into a header: a name or address and port.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// An origin-form target (`/path?query`) safe to echo into `Location`.
fn is_plain_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && target.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_to(head: &str) -> String {
        String::from_utf8(response_for(head, "127.0.0.1:5000")).unwrap()
    }

    #[test]
    fn a_page_request_is_redirected_to_the_same_url_over_https() {
        let response = answer_to("GET /experiments?x=1 HTTP/1.1\r\nHost: localhost:5000\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 307 "), "{response}");
        assert!(response.contains("\r\nLocation: https://localhost:5000/experiments?x=1\r\n"));
    }

    #[test]
    fn a_write_is_refused_with_a_json_error_naming_https() {
        let response = answer_to(
            "POST /api/2.0/mlflow/runs/create HTTP/1.1\r\nhost: smelt.example:443\r\n\r\n{}",
        );
        assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
        assert!(!response.contains("Location"));
        let body = response.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(body).unwrap(),
            serde_json::json!({
                "error_code": "BAD_REQUEST",
                "message": "this server speaks HTTPS: use https://smelt.example:443/"
            })
        );
    }

    #[test]
    fn without_a_usable_host_the_answer_names_the_servers_address() {
        for head in [
            "GET / HTTP/1.0\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a b\r\nX: y\r\n\r\n",
            "garbage",
        ] {
            let response = answer_to(head);
            assert!(
                response.starts_with("HTTP/1.1 400 "),
                "{head:?}: {response}"
            );
            assert!(
                response.contains("use https://127.0.0.1:5000/"),
                "{response}"
            );
        }
    }

    #[test]
    fn a_target_that_is_not_a_plain_path_is_not_echoed() {
        let response = answer_to("GET //evil.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    }

    #[test]
    fn head_gets_headers_only() {
        let response = answer_to("HEAD / HTTP/1.1\r\nHost: localhost:5000\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 307 "));
        assert!(response.ends_with("\r\n\r\n"));
    }
}

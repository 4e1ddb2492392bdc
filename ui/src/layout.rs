//! The page shell every page shares (navigation, styles) and small
//! formatting helpers. Styles are inline: the UI works offline and the
//! binary carries everything it serves.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::viewer::Viewer;

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
nav { background: #2d3142; padding: 0.6em 1.2em; }
nav a { color: #fff; margin-right: 1.4em; text-decoration: none; font-weight: 500; }
nav a.brand { font-weight: 800; letter-spacing: 0.05em; }
main { padding: 1em 1.6em; }
h1 { font-size: 1.35em; margin: 0.3em 0 0.6em; }
h2 { font-size: 1.1em; margin: 1.2em 0 0.5em; }
table { border-collapse: collapse; background: #fff; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f3; white-space: nowrap; }
th a { color: #222; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.diff td { background: #fff3cd; }
.muted { color: #777; }
.error { background: #fde8e8; border: 1px solid #e0a0a0; padding: 0.6em; margin: 0.6em 0; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
.charts svg { background: #fff; border: 1px solid #ddd; }
.status-FINISHED, .status-SUCCEEDED { color: #2a7a2a; }
.status-FAILED { color: #b00020; }
.status-RUNNING, .status-QUEUED { color: #b07000; }
.status-KILLED, .status-CANCELLED { color: #777; }
form.inline { display: inline; }
input[type=text] { padding: 0.3em; }
input.filter { width: 36em; }
pre { background: #fff; border: 1px solid #ddd; padding: 0.6em; overflow: auto; max-height: 32em; }
iframe.report { width: 100%; height: 48em; border: 1px solid #ddd; background: #fff; }
.pager { margin: 0.8em 0; }
nav .who { float: right; color: #fff; }
nav .who button { margin-left: 0.8em; }
"#;

/// Sends the links MLflow's client prints (`http://HOST/#/experiments/1/runs/ID`,
/// `#/experiments/1`, `#/models/NAME/versions/3`) to the matching page. Such a
/// link reaches the server as `/`: the part after `#` never leaves the
/// browser, so only a script can read it. Hashes not starting `#/` are left
/// alone (in-page anchors).
const MLFLOW_LINKS: &str = r#"(function () {
  var hash = location.hash;
  if (hash.indexOf('#/') !== 0) return;
  var parts = hash.slice(2).split('?')[0].split('/').filter(Boolean);
  var part = function (i) { return encodeURIComponent(decodeURIComponent(parts[i])); };
  var target = null;
  if (parts[0] === 'experiments' && parts[1]) {
    target = parts[2] === 'runs' && parts[3] ? '/ui/runs/' + part(3) : '/ui/experiments/' + part(1);
  } else if (parts[0] === 'models') {
    target = parts[1] ? '/ui/models/' + part(1) : '/ui/models';
  }
  if (target) location.replace(target);
})();"#;

/// A whole page for `viewer`: title, navigation (with their name, a logout
/// button and, for admins, the audit log when the server has `--auth`),
/// content. `refresh` reloads it every so many seconds (live pages: running
/// jobs, endpoint traffic).
pub fn page(viewer: &Viewer, title: &str, refresh: Option<u32>, content: Markup) -> Markup {
    shell(Some(viewer), title, refresh, content)
}

fn shell(viewer: Option<&Viewer>, title: &str, refresh: Option<u32>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · Smelt" }
                style { (PreEscaped(STYLE)) }
                script { (PreEscaped(MLFLOW_LINKS)) }
            }
            body {
                nav {
                    a.brand href="/" { "SMELT" }
                    a href="/" { "Experiments" }
                    a href="/ui/models" { "Models" }
                    a href="/ui/jobs" { "Jobs" }
                    a href="/ui/endpoints" { "Endpoints" }
                    a href="/ui/monitors" { "Monitors" }
                    @if let Some(viewer) = viewer.filter(|v| v.is_admin()) {
                        @if viewer.auth().is_some() { a href="/ui/audit" { "Audit" } }
                    }
                    @if let Some(viewer) = viewer {
                        @if let Some(name) = viewer.username() {
                            span.who {
                                span #user { (name) }
                                @if viewer.has_session() {
                                    form.inline #logout method="post" action="/logout" {
                                        (csrf_field(viewer))
                                        button type="submit" { "Log out" }
                                    }
                                }
                            }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// The hidden field carrying the session's CSRF token, which every POST
/// form must hold under `--auth` (nothing without a session).
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! {
        @if let Some(token) = viewer.csrf_token() {
            input type="hidden" name="csrf_token" value=(token);
        }
    }
}

/// A page that says what went wrong (a bad filter, an unknown run). It has
/// no viewer: an error answer is built from the error alone.
pub fn error_page(title: &str, message: &str) -> Markup {
    shell(
        None,
        title,
        None,
        html! {
            h1 { (title) }
            p.error { (message) }
        },
    )
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn time_ms(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A duration between two millisecond times, for people (`1m 05s`).
pub fn duration_ms(start: Option<i64>, end: Option<i64>) -> String {
    let (Some(start), Some(end)) = (start, end) else {
        return String::new();
    };
    let seconds = (end - start).max(0) as f64 / 1000.0;
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else if seconds < 3600.0 {
        format!("{}m {:02}s", (seconds / 60.0) as u64, seconds as u64 % 60)
    } else {
        format!(
            "{}h {:02}m",
            (seconds / 3600.0) as u64,
            (seconds as u64 / 60) % 60
        )
    }
}

/// A query string from pairs, percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            out.append_pair(key, value);
        }
    }
    out.finish()
}

/// A path segment, percent-encoded (run ids are safe; model names may not be).
pub fn segment(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_format_for_people() {
        assert_eq!(duration_ms(Some(0), Some(65_000)), "1m 05s");
        assert_eq!(duration_ms(Some(0), Some(1_500)), "1.5s");
        assert_eq!(duration_ms(Some(0), None), "");
        assert_eq!(time_ms(Some(0)), "1970-01-01 00:00:00");
        assert_eq!(
            query(&[("filter", "metrics.a > 1"), ("x", "")]),
            "filter=metrics.a+%3E+1"
        );
        assert_eq!(segment("my model/1"), "my%20model%2F1");
    }
}

//! `/ui/runs/{id}/artifacts?path=…`: a run's artifact folders, and a
//! preview of one file (text, pretty JSON, the head of a CSV as a table,
//! SVG/PNG as pictures, HTML reports framed); `/ui/runs/{id}/raw?path=…`
//! answers the file itself.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use smelt_tracking::artifacts::validate_relative_path;
use smelt_tracking::entities::FileInfo;

use super::run::run_artifacts;
use super::runs::display_name;
use super::{Page, PageError, PageResult, Shared};
use crate::layout::{page, query};
use crate::viewer::Viewer;

/// Files larger than this are not previewed inline (pictures excepted).
const PREVIEW_BYTES: u64 = 2 * 1024 * 1024;
/// Rows of a CSV preview.
const CSV_ROWS: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct PathQuery {
    #[serde(default)]
    path: Option<String>,
}

/// The path from the query, checked like every artifact path a request
/// names ("" is the run's root).
fn checked(path: Option<String>) -> Result<String, PageError> {
    let path = path.unwrap_or_default();
    let path = path.trim().trim_matches('/');
    if path.is_empty() {
        return Ok(String::new());
    }
    validate_relative_path(path).map_err(|e| PageError::bad_request(e.message))
}

pub async fn browse(
    State(ui): Shared,
    viewer: Viewer,
    Path(run_id): Path<String>,
    Query(params): Query<PathQuery>,
) -> PageResult {
    let run = ui.store.get_run(&run_id).await?;
    let path = checked(params.path)?;
    let store = run_artifacts(&ui, &run)?;
    let listing = store.list(&path).await?;
    // Listing a file's path gives nothing (or the file itself): preview it.
    let is_file = !path.is_empty()
        && (listing.is_empty() || listing.iter().all(|f| f.path == path && !f.is_dir));
    let body = if is_file {
        preview(&store, &run_id, &path).await?
    } else {
        folder(&run_id, &path, &listing)
    };
    let crumbs = breadcrumbs(&run_id, &path);
    Ok(Page(page(
        &viewer,
        &format!("Artifacts of {}", display_name(&run)),
        None,
        html! {
            h1 { "Artifacts of " a href={ "/ui/runs/" (run_id) } { (display_name(&run)) } }
            p #crumbs { (crumbs) }
            (body)
        },
    )))
}

fn folder(run_id: &str, folder: &str, listing: &[FileInfo]) -> Markup {
    let mut entries: Vec<&FileInfo> = listing.iter().collect();
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then(a.path.cmp(&b.path)));
    // Stores name entries relative to the folder listed, or to the root.
    let full = |entry: &FileInfo| {
        if folder.is_empty() || entry.path.starts_with(&format!("{folder}/")) {
            entry.path.clone()
        } else {
            format!("{folder}/{}", entry.path)
        }
    };
    html! {
        @if entries.is_empty() {
            p.muted { "No artifacts here." }
        } @else {
            table #artifacts {
                thead { tr { th { "Name" } th { "Size" } } }
                tbody {
                    @for entry in entries {
                        tr {
                            td {
                                a href={ "/ui/runs/" (run_id) "/artifacts?" (query(&[("path", &full(entry))])) } {
                                    (file_name(&entry.path)) @if entry.is_dir { "/" }
                                }
                            }
                            td.num { @if let Some(size) = entry.file_size { (size) } }
                        }
                    }
                }
            }
        }
    }
}

async fn preview(
    store: &std::sync::Arc<dyn smelt_tracking::artifacts::ArtifactStore>,
    run_id: &str,
    path: &str,
) -> Result<Markup, PageError> {
    let raw = format!("/ui/runs/{run_id}/raw?{}", query(&[("path", path)]));
    let kind = Kind::of(path);
    let download = html! { p { a #download href=(raw) { "Download " (file_name(path)) } } };
    match kind {
        Kind::Picture => return Ok(html! { (download) img.preview src=(raw) alt=(path); }),
        Kind::Html => return Ok(html! { (download) iframe.report src=(raw) title=(path) {} }),
        _ => {}
    }
    let object = store.get(path).await?;
    if object.size > PREVIEW_BYTES {
        return Ok(
            html! { (download) p.muted { "Too large to preview (" (object.size) " bytes)." } },
        );
    }
    let bytes = object.into_bytes().await?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(html! { (download) p.muted { "A binary file of " (bytes.len()) " bytes." } });
    };
    Ok(match kind {
        Kind::Json => {
            let pretty = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| text.to_string());
            html! { (download) pre #preview { (pretty) } }
        }
        Kind::Table(delimiter) => html! { (download) (table_head(text, delimiter)) },
        _ => html! { (download) pre #preview { (text) } },
    })
}

/// The first rows of a CSV/TSV as a table.
fn table_head(text: &str, delimiter: u8) -> Markup {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .take(CSV_ROWS + 1)
        .filter_map(Result::ok)
        .map(|record| record.iter().map(str::to_string).collect())
        .collect();
    let total = text.lines().count().saturating_sub(1);
    let Some((header, body)) = rows.split_first() else {
        return html! { p.muted { "An empty table." } };
    };
    html! {
        p.muted { "First " (body.len()) " of " (total) " rows." }
        table #preview-table {
            thead { tr { @for cell in header { th { (cell) } } } }
            tbody { @for row in body { tr { @for cell in row { td { (cell) } } } } }
        }
    }
}

pub async fn raw(
    State(ui): Shared,
    Path(run_id): Path<String>,
    Query(params): Query<PathQuery>,
) -> Result<Response, PageError> {
    let run = ui.store.get_run(&run_id).await?;
    let path = checked(params.path)?;
    if path.is_empty() {
        return Err(PageError::bad_request("name a file with ?path="));
    }
    let object = run_artifacts(&ui, &run)?.get(&path).await?;
    let mut response = Body::from_stream(object.stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type(&path)),
    );
    // Artifacts are whatever a run uploaded: never let their scripts run as
    // the UI's origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// How a file is previewed and served.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Picture,
    Html,
    Json,
    Table(u8),
    Text,
    Binary,
}

impl Kind {
    fn of(path: &str) -> Kind {
        let name = file_name(path);
        match extension(path).as_str() {
            "svg" | "png" | "jpg" | "jpeg" | "gif" => Kind::Picture,
            "html" | "htm" => Kind::Html,
            "json" => Kind::Json,
            "csv" => Kind::Table(b','),
            "tsv" => Kind::Table(b'\t'),
            "txt" | "log" | "md" | "yaml" | "yml" | "toml" | "py" | "" => Kind::Text,
            _ if name == "MLmodel" => Kind::Text,
            _ => Kind::Binary,
        }
    }
}

/// What the raw file is served as.
fn content_type(path: &str) -> &'static str {
    let extension = extension(path);
    match (Kind::of(path), extension.as_str()) {
        (Kind::Picture, "png") => "image/png",
        (Kind::Picture, "jpg" | "jpeg") => "image/jpeg",
        (Kind::Picture, "gif") => "image/gif",
        (Kind::Picture, _) => "image/svg+xml",
        (Kind::Html, _) => "text/html; charset=utf-8",
        (Kind::Json, _) => "application/json",
        (Kind::Table(b','), _) => "text/csv; charset=utf-8",
        (Kind::Table(_) | Kind::Text, _) => "text/plain; charset=utf-8",
        (Kind::Binary, _) => "application/octet-stream",
    }
}

fn extension(path: &str) -> String {
    file_name(path)
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `root / a / b` links up the folder path.
fn breadcrumbs(run_id: &str, path: &str) -> Markup {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    html! {
        a href={ "/ui/runs/" (run_id) "/artifacts" } { "root" }
        @for (index, part) in parts.iter().enumerate() {
            " / "
            a href={ "/ui/runs/" (run_id) "/artifacts?" (query(&[("path", &parts[..=index].join("/"))])) } { (part) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_previewed_by_kind() {
        assert_eq!(Kind::of("model/MLmodel"), Kind::Text);
        assert_eq!(Kind::of("plots/confusion_matrix.svg"), Kind::Picture);
        assert_eq!(Kind::of("leaderboard/leaderboard.CSV"), Kind::Table(b','));
        assert_eq!(Kind::of("reports/window-00001.html"), Kind::Html);
        assert_eq!(Kind::of("model/weights.safetensors"), Kind::Binary);
        assert_eq!(content_type("a/b.png"), "image/png");
        assert!(checked(Some("../etc/passwd".into())).is_err());
        assert_eq!(checked(Some("/plots/".into())).unwrap(), "plots");
    }
}

//! `/ui/audit` (admins, under `--auth`): the audit log's recent lines,
//! newest first, over the last hour, day or week.

use std::collections::VecDeque;

use axum::extract::Query;
use maud::html;
use serde::Deserialize;
use smelt_tracking::store::identity::AuditRecord;

use super::{Page, PageError, PageResult};
use crate::layout::{page, time_ms};
use crate::viewer::Viewer;

/// Lines shown (the newest of the window).
pub const SHOWN: usize = 500;
/// Lines read from the store per query.
const CHUNK: i64 = 5_000;

/// The windows offered, as `?since=` spells them.
const WINDOWS: [(&str, i64); 3] = [
    ("1h", 3_600_000),
    ("24h", 86_400_000),
    ("7d", 7 * 86_400_000),
];

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    since: Option<String>,
}

pub async fn list(viewer: Viewer, Query(params): Query<AuditQuery>) -> PageResult {
    let Some(identity) = viewer.auth() else {
        return Err(PageError::not_found(
            "this server runs without --auth: there is no audit log",
        ));
    };
    // The gate already refuses non-admins; a page that shows every user's
    // requests checks again rather than trust the route table alone.
    if !viewer.is_admin() {
        return Err(PageError::forbidden("only an admin may read the audit log"));
    }
    let since = params.since.as_deref().unwrap_or("24h");
    let Some(&(_, window_ms)) = WINDOWS.iter().find(|(name, _)| *name == since) else {
        return Err(PageError::bad_request(format!(
            "since must be one of 1h, 24h or 7d, not '{since}'"
        )));
    };
    let from = chrono::Utc::now().timestamp_millis() - window_ms;
    let (lines, total) = newest(identity.store.as_ref(), from).await?;
    let content = html! {
        h1 { "Audit log" }
        p #since {
            "Since: "
            @for (name, _) in WINDOWS {
                @if name == since { strong { (name) } } @else { a href={ "/ui/audit?since=" (name) } { (name) } }
                " "
            }
        }
        @if lines.is_empty() {
            p.muted { "No audit lines in this window." }
        } @else {
            p.muted {
                @if total > lines.len() { "The newest " (lines.len()) " of " (total) " lines." }
                @else { (total) " lines." }
            }
            table #audit {
                thead { tr { th { "Time (UTC)" } th { "User" } th { "Address" } th { "Method" } th { "Path" } th { "Status" } th { "Action" } th { "Resource" } } }
                tbody {
                    @for line in &lines {
                        tr {
                            td { (time_ms(Some(line.at))) }
                            td { (line.username.as_deref().unwrap_or("")) }
                            td { (line.address.as_deref().unwrap_or("")) }
                            td { (line.method) }
                            td { (line.path) }
                            td.num { (line.status) }
                            td { (line.action) }
                            td { (line.resource.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(Page(page(&viewer, "Audit log", None, content)))
}

/// The newest [`SHOWN`] lines at or after `from`, newest first, and how many
/// the window holds. The store reads oldest first, so the window is walked
/// forward in chunks; a chunk restarts at its last millisecond, skipping the
/// lines of that millisecond already seen (the store orders ties by id).
async fn newest(
    store: &dyn smelt_tracking::store::identity::IdentityStore,
    from: i64,
) -> Result<(Vec<AuditRecord>, usize), PageError> {
    let mut kept: VecDeque<AuditRecord> = VecDeque::with_capacity(SHOWN);
    let mut total = 0;
    let mut since = from;
    let mut seen_at_since = 0;
    loop {
        let chunk = store.list_audit(since, CHUNK).await?;
        let full = chunk.len() as i64 == CHUNK;
        let last_at = chunk.last().map(|line| line.at);
        let mut at_last = 0;
        for line in chunk.into_iter().skip(seen_at_since) {
            if Some(line.at) == last_at {
                at_last += 1;
            }
            total += 1;
            if kept.len() == SHOWN {
                kept.pop_front();
            }
            kept.push_back(line);
        }
        match last_at {
            // A chunk all of one millisecond already seen cannot move on
            // (over CHUNK lines in one millisecond): stop rather than spin.
            Some(at) if full && !(at == since && at_last == 0) => {
                seen_at_since = if at == since {
                    seen_at_since + at_last
                } else {
                    at_last
                };
                since = at;
            }
            _ => break,
        }
    }
    Ok((kept.into_iter().rev().collect(), total))
}

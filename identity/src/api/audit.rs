//! `/api/2.0/smelt/audit`: the audit log, for admins.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use smelt_api::identity::{AuditEntry, AuditList};
use smelt_tracking::Error;
use smelt_tracking::api::SmeltError;
use smelt_tracking::store::identity::AuditRecord;

use super::Params;
use crate::Identity;

/// At most this many lines per answer.
const MAX_LINES: i64 = 10_000;

/// An audit line on the wire.
pub fn entry(record: AuditRecord) -> AuditEntry {
    AuditEntry {
        at: record.at,
        username: record.username,
        address: record.address,
        method: record.method,
        path: record.path,
        status: record.status,
        action: record.action,
        resource: record.resource,
    }
}

pub(crate) async fn list(
    State(identity): State<Arc<Identity>>,
    params: Params,
) -> Result<Json<AuditList>, SmeltError> {
    params.admin_only().map_err(|e| SmeltError(e.0))?;
    let number = |name: &str, default: i64| -> Result<i64, SmeltError> {
        match params.optional(name) {
            None => Ok(default),
            Some(text) => text.trim().parse().map_err(|_| {
                SmeltError(Error::invalid(format!(
                    "'{name}' must be an integer, not '{text}'"
                )))
            }),
        }
    };
    let since = number("since_ms", 0)?;
    let limit = number("limit", 1000)?.clamp(1, MAX_LINES);
    // Every request answered before this one is in what it reads.
    identity.audit.flush().await;
    let entries = identity
        .store
        .list_audit(since, limit)
        .await?
        .into_iter()
        .map(entry)
        .collect();
    Ok(Json(AuditList { entries }))
}

//! `/servers/{server}/clients/{id}/versions?path=...`: every file backup of the client that
//! holds the file, newest first, the copies that differ marked, each downloadable and
//! restorable. One folder listing per backup, 4 at once, kept in the listing cache: the same
//! page again asks the server nothing.

use super::super::{render, AppState, Layout, PageError, Session};
use super::{audit, href, key, open, server_error, PathQuery};
use crate::fmt;
use crate::store::AuditEntry;
use crate::web::extract::{Path, Query};
use askama::Template;
use axum::extract::State;
use axum::response::Response;

pub struct VersionRow {
    backupid: i64,
    time: String,
    kind: &'static str,
    size: String,
    modified: String,
    changed: bool,
    download_href: String,
    restore_href: String,
    folder_href: String,
}

#[derive(Template)]
#[template(path = "files/versions.html")]
struct VersionsPage {
    layout: Layout,
    head: super::Head,
    path: String,
    rows: Vec<VersionRow>,
    distinct: usize,
    backups: usize,
    listings: usize,
    requests: usize,
    skipped: Vec<String>,
}

/// `GET /servers/{server}/clients/{id}/versions?path=...`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
    Query(q): Query<PathQuery>,
) -> Result<Response, PageError> {
    let (t, path) = open(&state, &session, &name, id, q.path.as_deref()).await?;
    let Some((folder, _)) = crate::restore::path::split(&path) else {
        return Err(PageError::BadRequest(
            "The versions of a file need the file's path.".into(),
        ));
    };
    let backups = t.file_backups(&state).await?;
    let keys: Vec<_> = backups.iter().map(key).collect();
    let server = t.server_name().to_owned();
    let cache = state.listings().of(&server);
    let v = t
        .handle()
        .file_versions_in(id, &keys, &path, Some(&cache))
        .await
        .map_err(|e| server_error("list the backups", &e))?;
    audit(
        &state,
        AuditEntry {
            user: session.name(),
            server: &server,
            clientid: Some(id),
            path: Some(&path),
            action: "looked up the versions of a file",
            ok: true,
            outcome: "ok",
            detail: &format!(
                "{path}: {} of {} file backups hold it, {} different",
                v.versions.len(),
                v.backups,
                v.distinct()
            ),
            ..AuditEntry::default()
        },
    )
    .await?;
    if v.versions.is_empty() {
        return Err(PageError::NotFound(format!(
            "None of the {} file backups of {} the console knows of holds the file “{path}”.",
            v.backups,
            t.client.name()
        )));
    }
    let rows = v
        .versions
        .iter()
        .map(|x| {
            let b = backups.iter().find(|b| b.id == x.backupid);
            VersionRow {
                backupid: x.backupid,
                time: fmt::time(x.backuptime),
                kind: match b.map(|b| b.incremental) {
                    Some(0) => "full",
                    Some(_) => "incremental",
                    None => "",
                },
                size: fmt::bytes(x.entry.size),
                modified: fmt::time(x.entry.mod_time),
                changed: x.changed,
                download_href: href::download(&server, id, x.backupid, &path),
                restore_href: href::restore(&server, id, x.backupid, &path),
                folder_href: href::browse(&server, id, x.backupid, folder),
            }
        })
        .collect();
    let page = VersionsPage {
        layout: session
            .layout(&state, format!("Versions of {path}"), "servers", false)
            .await?,
        head: t.head(),
        rows,
        distinct: v.distinct(),
        backups: v.backups,
        listings: v.count.listings,
        requests: v.count.requests,
        skipped: v
            .skipped
            .iter()
            .map(|(id, why)| format!("backup {id}: {why}"))
            .collect(),
        path,
    };
    Ok(render(&page))
}

//! Restores to the client: the confirmation (what, from which backup, to which client,
//! overwriting what), the start (a POST with the CSRF token; nothing is sent for a client
//! that is offline or refuses restores), and the page that follows the restore until its own
//! log says how it ended.

use super::super::{render, AppState, Layout, PageError, Session};
use super::{audit, backup_label, entry, href, open, server_error, PathQuery};
use crate::fmt;
use crate::restore::{RestoreStage, RestoreState};
use crate::store::AuditEntry;
use crate::web::extract::{Form, Path, Query};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use urbackup::BackupRef;

const ACTION: &str = "restored to the client";

#[derive(Template)]
#[template(path = "files/restore_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    head: super::Head,
    backup: String,
    backup_href: String,
    path: String,
    dir: bool,
    size: String,
    modified: String,
    action: String,
    /// Why it cannot be started now (`""`: it can).
    refusal: String,
    needs_confirmation: bool,
}

/// `GET .../backups/{backup}/restore?path=...`: what would happen, and the button.
pub async fn confirm(
    State(state): State<AppState>,
    session: Session,
    Path((name, id, backupid)): Path<(String, i64, i64)>,
    Query(q): Query<PathQuery>,
) -> Result<Response, PageError> {
    let (t, path) = open(&state, &session, &name, id, q.path.as_deref()).await?;
    let b = t.file_backup(&state, backupid).await?;
    let e = entry(&state, &t, &b, &path).await?;
    let server = t.server_name().to_owned();
    // Whether the client can take it now: the snapshot says online; a fresh listing of the
    // folder says whether the client takes restores (`can_restore`) and who confirms them.
    let (refusal, needs_confirmation) = if !t.client.health.online {
        (
            format!(
                "{} is offline: a restore needs a connected client. Nothing was sent.",
                t.client.name()
            ),
            false,
        )
    } else {
        let folder = crate::restore::path::folder(&path);
        let l = t
            .handle()
            .browse_backup(id, BackupRef::File(backupid), folder)
            .await
            .map_err(|e| server_error("list the folder", &e))?;
        if l.can_restore {
            (String::new(), !l.server_confirms_restore)
        } else {
            (
                format!(
                    "The server says {} cannot take a restore now (offline, or its settings do not allow restores from the server). Nothing was sent.",
                    t.client.name()
                ),
                false,
            )
        }
    };
    let page = ConfirmPage {
        layout: session
            .layout(
                &state,
                format!("Restore to {}", t.client.name()),
                "servers",
                false,
            )
            .await?,
        head: t.head(),
        backup: backup_label(&b),
        backup_href: href::browse(&server, id, backupid, crate::restore::path::folder(&path)),
        dir: e.dir,
        size: if e.dir {
            String::new()
        } else {
            fmt::bytes(e.size)
        },
        modified: fmt::time(e.mod_time),
        action: format!("{}/restore", href::backup(&server, id, backupid)),
        refusal,
        needs_confirmation,
        path,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct StartForm {
    csrf: Option<String>,
    path: Option<String>,
}

/// `POST .../backups/{backup}/restore` (operator, with the CSRF token): starts the restore
/// and follows it; to its page.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    Path((name, id, backupid)): Path<(String, i64, i64)>,
    Form(form): Form<StartForm>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    let (t, path) = open(&state, &session, &name, id, form.path.as_deref()).await?;
    let b = t.file_backup(&state, backupid).await?;
    let e = entry(&state, &t, &b, &path).await?;
    let server = t.server_name().to_owned();
    let record = |ok: bool, outcome: &'static str, detail: String| {
        let (user, server, path) = (session.name().to_owned(), server.clone(), path.clone());
        let state = state.clone();
        async move {
            audit(
                &state,
                AuditEntry {
                    user: &user,
                    server: &server,
                    clientid: Some(id),
                    backupid: Some(backupid),
                    path: Some(&path),
                    action: ACTION,
                    ok,
                    outcome,
                    detail: &detail,
                    bytes: None,
                },
            )
            .await
        }
    };
    if !t.client.health.online {
        let why = format!(
            "Not restored: {} is offline (a restore needs a connected client). Nothing was sent.",
            t.client.name()
        );
        record(false, "refused", why.clone()).await?;
        session.flash(&state, false, why).await?;
        return Ok(Redirect::to(&href::restore(&server, id, backupid, &path)).into_response());
    }
    let handle = t.handle();
    let started = match handle.restore_files(id, backupid, &path, None).await {
        Ok(s) => s,
        Err(err) => {
            let why = format!("Not restored: {err}");
            record(false, "refused", why.clone()).await?;
            session.flash(&state, false, why).await?;
            return Ok(Redirect::to(&href::restore(&server, id, backupid, &path)).into_response());
        }
    };
    let what = if e.dir { "folder" } else { "file" };
    let audit_id = record(
        false,
        "running",
        format!(
            "restore of the {what} {path} from file backup {backupid} to {} started",
            t.client.name()
        ),
    )
    .await?;
    state.restores().follow(
        audit_id,
        handle,
        started,
        RestoreState {
            stage: RestoreStage::Queued,
            started: urbackup_fleet::unix_now(),
        },
        state.store().clone(),
    );
    Ok(Redirect::to(&href::restore_status(&server, id, audit_id)).into_response())
}

#[derive(Template)]
#[template(path = "files/restore_status.html")]
struct StatusPage {
    layout: Layout,
    head: super::Head,
    self_href: String,
    backup_href: String,
    backupid: i64,
    path: String,
    started: String,
    user: String,
    /// CSS class of the badge and its word.
    class: &'static str,
    word: &'static str,
    text: String,
    percent: Option<u8>,
    errors: Vec<String>,
    ended: bool,
}

/// `GET /servers/{server}/clients/{id}/restores/{restore}`: where the restore stands
/// (refreshes itself until it has ended).
pub async fn status(
    State(state): State<AppState>,
    session: Session,
    Path((name, id, rid)): Path<(String, i64, i64)>,
) -> Result<Response, PageError> {
    let (t, _) = open(&state, &session, &name, id, None).await?;
    let server = t.server_name().to_owned();
    let row = state.db(move |s| s.audit_get(rid)).await?;
    let row = row
        .filter(|r| r.action == ACTION && r.server == server && r.clientid == Some(id))
        .ok_or_else(|| PageError::NotFound(format!("No restore {rid} of this client.")))?;
    let live = state.restores().get(rid);
    let (class, word, text, percent, errors, ended) = match live.as_ref().map(|s| &s.stage) {
        Some(RestoreStage::Queued) => ("pending", "queued", "The server is preparing the restore.".to_string(), None, vec![], false),
        Some(RestoreStage::WaitingForClient) => (
            "pending",
            "waiting for the client",
            format!("A person at {} must confirm the restore there (its client does not let the server confirm restores).", t.client.name()),
            None,
            vec![],
            false,
        ),
        Some(RestoreStage::NotStarted) => ("pending", "queued", format!("Queued: {} has not started it yet.", t.client.name()), None, vec![], false),
        Some(RestoreStage::Running(p, done, total)) => (
            "running",
            "running",
            format!(
                "Restoring: {} of {}.",
                fmt::bytes(*done),
                if *total >= 0 { fmt::bytes(*total) } else { "an unknown size".into() }
            ),
            *p,
            vec![],
            false,
        ),
        Some(RestoreStage::Done { detail, .. }) => ("ok", "done", detail.clone(), None, vec![], true),
        Some(RestoreStage::Failed { errors, detail, .. }) => ("failed", "failed", detail.clone(), None, errors.clone(), true),
        Some(RestoreStage::Unknown(why)) => ("failed", "unknown", why.clone(), None, vec![], true),
        // Not followed (any more): what the audit trail recorded.
        None => match row.outcome_word() {
            "ok" => ("ok", "done", row.detail.clone(), None, vec![], true),
            "running" => (
                "failed",
                "unknown",
                "The console restarted while this restore ran: its outcome is in the client's logs on the server.".to_string(),
                None,
                vec![],
                true,
            ),
            "refused" => ("failed", "not started", row.detail.clone(), None, vec![], true),
            _ => ("failed", "failed", row.detail.clone(), None, vec![], true),
        },
    };
    let path = row.path.clone().unwrap_or_default();
    let backupid = row.backupid.unwrap_or_default();
    let server = t.server_name().to_owned();
    let page = StatusPage {
        layout: session
            .layout(
                &state,
                format!("Restore to {}", t.client.name()),
                "servers",
                false,
            )
            .await?,
        head: t.head(),
        self_href: href::restore_status(&server, id, rid),
        backup_href: href::browse(&server, id, backupid, crate::restore::path::folder(&path)),
        backupid,
        started: fmt::time(row.time),
        user: row.user.clone(),
        class,
        word,
        text,
        percent,
        errors,
        ended,
        path,
    };
    Ok(render(&page))
}

//! `/servers/{server}/clients/{id}`: one client's health, history, chart, logs and actions;
//! `/servers/{server}/clients/{id}/live`: the part that follows the polls (health, start
//! buttons, running, history and chart), which the page refreshes (htmx) on the interval.

use super::super::actions::audit_words;
use super::super::compliance_page::{share_cell, ShareCell};
use super::super::extract::Path;
use super::super::{render, AppState, Layout, PageError, Session};
use super::*;
use crate::auth::Role;
use crate::fmt;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use urbackup::{BackupKind, BackupState, ServerSwitches};

pub struct KindBox {
    id: &'static str,
    title: &'static str,
    state: &'static str,
    label: String,
    last: String,
    age: String,
    /// The server's own verdict (`""`: not shown, for a kind switched off or unsupported).
    verdict: &'static str,
    extra: String,
    /// One per window (empty: no RPO).
    compliance: Vec<(i64, ShareCell)>,
}

pub struct Button {
    kind: &'static str,
    label: &'static str,
    reason: String,
}

pub struct HistLine {
    time: String,
    kind: &'static str,
    kind_detail: &'static str,
    size: String,
    duration: String,
    id: i64,
    gone: bool,
    /// Its page (browse a file backup, an image backup's page): operators and admins only.
    href: String,
}

pub struct LogLineView {
    class: &'static str,
    time: String,
    text: String,
}

pub struct LogView {
    time: String,
    what: String,
    errors: i64,
    warnings: i64,
    lines: Vec<LogLineView>,
}

pub struct AuditView {
    time: String,
    user: String,
    action: String,
    /// The badge's class and word.
    class: &'static str,
    word: String,
    detail: String,
}

/// A chart and the screens it is drawn for (`wide` or `narrow`).
pub struct ChartView {
    class: &'static str,
    c: crate::chart::Chart,
}

#[derive(Template)]
#[template(path = "client.html", blocks = ["live"])]
struct ClientPage {
    layout: Layout,
    server: String,
    server_href: String,
    live_href: String,
    start_href: String,
    name: String,
    id: i64,
    severity: &'static str,
    online: bool,
    stale_data: bool,
    data_at: String,
    kinds: Vec<KindBox>,
    group: String,
    version: String,
    outdated: bool,
    os: String,
    ip: String,
    last_seen: String,
    used: String,
    can_operate: bool,
    buttons: Vec<Button>,
    buttons_note: String,
    running: Vec<RunRow>,
    running_note: &'static str,
    show_server: bool,
    can_stop: bool,
    charts: Vec<ChartView>,
    history: Vec<HistLine>,
    history_more: usize,
    history_note: String,
    logs: Vec<LogView>,
    audit: Vec<AuditView>,
}

/// Rows of the history table (newest first).
const HISTORY_ROWS: usize = 100;

/// Why the console refuses to start this kind, `""` when it does not: the library's rule
/// ([`urbackup::StartRefusal`]) of starts the server would accept and never run (an image
/// backup of a client that cannot do them; a kind switched off on the server). An offline
/// client is left to the server (it answers that it did not start), and a kind whose
/// automatic backups are switched off can still be started by hand (the server runs it).
pub(in crate::web) fn start_refusal(
    c: &ClientRow,
    switches: ServerSwitches,
    image: bool,
) -> String {
    let kind = if image {
        BackupKind::Image
    } else {
        BackupKind::File
    };
    match c.health.start_refusal(kind, switches) {
        Some(refusal) => {
            let r = refusal.reason();
            format!("{}{}.", r[..1].to_uppercase(), &r[1..])
        }
        None => String::new(),
    }
}

/// What the start buttons should say besides: offline, a kind not started from here (and
/// why), automatic backups switched off.
fn start_notes(c: &ClientRow, switches: ServerSwitches) -> String {
    let mut notes = vec![
        "The server queues a backup for a connected client; this page shows it once it runs."
            .to_string(),
    ];
    if !c.health.online {
        notes.push("The client is offline: the server starts nothing until it connects.".into());
    }
    for (kind, name) in [(BackupKind::File, "file"), (BackupKind::Image, "image")] {
        match c.health.start_refusal(kind, switches) {
            // Said here too: a disabled button's title shows on no phone.
            Some(refusal) => notes.push(format!(
                "No {name} backup is started from here: {}.",
                refusal.reason()
            )),
            None if c.health.kind(kind).state == BackupState::Disabled => notes.push(format!(
                "Automatic {name} backups are switched off for this client; one started here still runs."
            )),
            None => {}
        }
    }
    notes.join(" ")
}

/// The page of a client; `full`: with its logs and audit trail (not needed by the live part).
async fn build(
    state: &AppState,
    session: &Session,
    name: &str,
    id: i64,
    full: bool,
) -> Result<ClientPage, PageError> {
    let (s, c) = session.fleet(state).client(name, id)?;
    let now = urbackup_fleet::unix_now();
    let (server_name, client_name) = (s.name.clone(), c.name().to_owned());
    let (history, failed, logs, audit, first_seen) = state
        .db(move |st| {
            let (logs, audit) = if full {
                (
                    st.logs(&server_name, &client_name, 5)?,
                    st.client_audit(&server_name, id, 10)?,
                )
            } else {
                (Vec::new(), Vec::new())
            };
            Ok((
                st.backups(&server_name, id)?,
                st.failed_attempts(&server_name, id, &client_name)?,
                logs,
                audit,
                st.first_seen(&server_name, id)?,
            ))
        })
        .await?;
    let h = &c.health;
    // Compliance of this client from its own history (the same rule and inputs as the
    // compliance page's).
    let data_at = s.data_at.unwrap_or(now);
    let first_seen = first_seen.unwrap_or(data_at);
    let compliance = |kind: BackupKind| {
        let image = kind == BackupKind::Image;
        let facts = crate::compliance::KindFacts {
            good: history
                .iter()
                .filter(|b| b.image == image)
                .map(|b| b.time)
                .collect(),
            failed: failed
                .iter()
                .filter(|(i, _)| *i == image)
                .map(|(_, f)| *f)
                .collect(),
            first_seen,
            seen_at: data_at,
        };
        crate::compliance::kind_compliance(kind, h.kind(kind), facts, state.rpo(), now)
    };
    let kinds = [BackupKind::File, BackupKind::Image]
        .into_iter()
        .map(|kind| {
            let k = h.kind(kind);
            let image = kind == BackupKind::Image;
            KindBox {
                id: kind.as_str(),
                title: if image {
                    "Image backups"
                } else {
                    "File backups"
                },
                state: k.state.as_str(),
                label: match k.state {
                    BackupState::Stale => format!("{} ({})", k.state.as_str(), k.severity.as_str()),
                    _ => k.state.as_str().to_owned(),
                },
                last: k
                    .last_backup
                    .map(fmt::time)
                    .unwrap_or_else(|| "never".into()),
                age: k.last_backup.map(|t| fmt::ago(t, now)).unwrap_or_default(),
                verdict: match (k.state.is_off(), if image { c.image_ok } else { c.file_ok }) {
                    (true, _) => "",
                    (false, true) => "ok",
                    (false, false) => "not ok",
                },
                extra: if !image && h.file_issues > 0 {
                    issues(h.file_issues)
                } else if !image && h.no_backup_paths {
                    "no backup paths configured".into()
                } else {
                    String::new()
                },
                compliance: compliance(kind)
                    .map(|x| {
                        x.shares
                            .iter()
                            .zip(crate::compliance::WINDOWS)
                            .map(|(sh, d)| (d, share_cell(sh, d)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let can_operate = session.role() >= Role::Operator;
    let buttons = [
        ("incr_file", "Incremental file backup", false),
        ("full_file", "Full file backup", false),
        ("incr_image", "Incremental image backup", true),
        ("full_image", "Full image backup", true),
    ]
    .into_iter()
    .map(|(kind, label, image)| Button {
        kind,
        label,
        reason: if s.failure.is_some() {
            "The server is unreachable.".into()
        } else {
            start_refusal(&c, s.switches, image)
        },
    })
    .collect();
    let charts = [
        ("wide", crate::chart::WIDE),
        ("narrow", crate::chart::NARROW),
    ]
    .into_iter()
    .filter_map(|(class, w)| crate::chart::size_chart(&history, w).map(|c| ChartView { class, c }))
    .collect();
    let total_hist = history.len();
    let history_lines = history
        .iter()
        .rev()
        .take(HISTORY_ROWS)
        .map(|b| HistLine {
            time: fmt::time(b.time),
            kind: if b.image { "image" } else { "file" },
            kind_detail: if b.incremental == 0 {
                "full"
            } else {
                "incremental"
            },
            size: fmt::bytes(b.size_bytes),
            duration: b
                .duration
                .map(fmt::span)
                .unwrap_or_else(|| fmt::NONE.into()),
            id: b.id,
            gone: b.gone,
            href: match (can_operate && !b.gone, b.image) {
                (false, _) => String::new(),
                (true, false) => crate::web::files::href::backup(&s.name, id, b.id),
                (true, true) => crate::web::files::href::image(&s.name, id, b.id),
            },
        })
        .collect();
    let used = s
        .usage
        .iter()
        .flat_map(|(_, u)| u.iter())
        .find(|u| u.name == c.name())
        .map(|u| fmt::bytes(u.used))
        .unwrap_or_else(|| fmt::NONE.into());
    let layout = if full {
        session
            .layout(state, format!("Client {}", c.name()), "servers", false)
            .await?
    } else {
        session.plain_layout(state, format!("Client {}", c.name()))
    };
    Ok(ClientPage {
        layout,
        server: s.name.clone(),
        server_href: fmt::server_href(&s.name),
        live_href: format!("{}/live", fmt::client_href(&s.name, id)),
        start_href: format!("{}/backup", fmt::client_href(&s.name, id)),
        name: c.name().to_owned(),
        id,
        severity: h.severity().as_str(),
        online: h.online,
        stale_data: s.failure.is_some(),
        data_at: s.data_at.map(fmt::time).unwrap_or_default(),
        kinds,
        group: fmt::group(&h.group),
        version: fmt::or_none(&h.version),
        outdated: h.outdated,
        os: fmt::or_none(&c.os),
        // The server writes `-` for an address it does not know.
        ip: fmt::or_none(c.ip.trim_matches('-')),
        last_seen: fmt::ago(h.last_seen, now),
        used,
        can_operate,
        buttons,
        buttons_note: start_notes(&c, s.switches),
        running_note: if s.failure.is_some() {
            "Not known: the server cannot be read."
        } else {
            "Nothing is running for this client."
        },
        running: s
            .actions
            .iter()
            .flat_map(|a| a.iter())
            .filter(|a| a.clientid == id)
            .map(|a| run_row(&s.name, a))
            .collect(),
        show_server: false,
        can_stop: can_operate,
        charts,
        history_more: total_hist.saturating_sub(HISTORY_ROWS),
        history: history_lines,
        history_note: "No backup seen yet: the console reads a client's backup list when its last backup changes.".into(),
        logs: logs
            .into_iter()
            .map(|l| LogView {
                time: fmt::time(l.time),
                what: log_label(l.image, l.incremental, l.restore),
                errors: l.errors,
                warnings: l.warnings,
                lines: l
                    .lines
                    .into_iter()
                    .take(30)
                    .map(|(level, t, text)| LogLineView {
                        class: if level >= 2 { "e" } else { "w" },
                        time: fmt::time(t),
                        text,
                    })
                    .collect(),
            })
            .collect(),
        audit: audit
            .into_iter()
            .map(|a| AuditView {
                time: fmt::time(a.time),
                class: match a.outcome_word() {
                    "ok" | "done" => "ok",
                    "running" => "pending",
                    _ => "failed",
                },
                word: match a.outcome_word() {
                    "ok" => "done".to_owned(),
                    w => w.to_owned(),
                },
                user: a.user,
                action: match a.path {
                    Some(p) => format!("{} {p}", audit_words(&a.action)),
                    None => audit_words(&a.action),
                },
                detail: a.detail,
            })
            .collect(),
    })
}

/// `/servers/{server}/clients/{id}`.
pub async fn client(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let page = build(&state, &session, &name, id, true).await?;
    Ok(render(&page))
}

/// `/servers/{server}/clients/{id}/live`: the part of the client page that follows the polls.
pub async fn client_live(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let page = build(&state, &session, &name, id, false).await?;
    let live = render(&page.as_live());
    Ok(live)
}

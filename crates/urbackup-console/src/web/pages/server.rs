//! `/servers/{server}`: one server's clients, activities, storage and last errors;
//! `/servers/{server}/live`: the parts that follow the polls (state and counts, running
//! activities, the client table as filtered, the recent activities, storage and errors),
//! which the page refreshes (htmx) on the interval.

use super::super::extract::{Path, Query};
use super::super::sort::{self, Column};
use super::super::{render, AppState, Layout, PageError, Session};
use super::*;
use crate::auth::Role;
use crate::fmt;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use urbackup::BackupState;

#[derive(Deserialize, Default)]
pub struct ServerQuery {
    q: Option<String>,
    show: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    /// A page number; anything else is page 1.
    page: Option<String>,
}

pub struct FailureView {
    kind_label: String,
    since: String,
    for_age: String,
    message: String,
    retry: String,
}

pub struct ClientLine {
    name: String,
    href: String,
    severity: &'static str,
    file: KindCell,
    image: KindCell,
    online: bool,
    group: String,
    version: String,
    os: String,
    used: String,
    delete_pending: bool,
}

pub struct ActRow {
    time: String,
    client: String,
    client_href: String,
    what: String,
    size: String,
    duration: String,
}

pub struct UsageLine {
    name: String,
    files: String,
    images: String,
    total: String,
    share: u32,
}

pub struct ErrRow {
    time: String,
    client: String,
    client_href: String,
    what: String,
    errors: i64,
    warnings: i64,
}

#[derive(Template)]
#[template(path = "server.html", blocks = ["live", "table", "more"])]
struct ServerPage {
    layout: Layout,
    name: String,
    url: String,
    self_href: String,
    live_href: String,
    state: &'static str,
    state_label: &'static str,
    polled: String,
    data_age: String,
    failure: Option<FailureView>,
    counts: Counts,
    used: String,
    switches: String,
    running: Vec<RunRow>,
    running_note: &'static str,
    show_server: bool,
    can_stop: bool,
    q: String,
    sort: String,
    dir: String,
    show_options: Vec<(&'static str, &'static str, bool)>,
    headers: Vec<sort::Header>,
    clients: Vec<ClientLine>,
    shown: usize,
    page: usize,
    pages: usize,
    prev_href: String,
    next_href: String,
    recent: Vec<ActRow>,
    recent_note: &'static str,
    usage: Vec<UsageLine>,
    usage_more: usize,
    usage_note: String,
    usage_as_of: String,
    errors: Vec<ErrRow>,
    errors_note: String,
}

const SHOW: [(&str, &str); 7] = [
    ("all", "all clients"),
    ("attention", "needs attention"),
    ("failed", "failed"),
    ("stale", "stale"),
    ("never", "never backed up"),
    ("offline", "offline"),
    ("ok", "ok"),
];

const COLUMNS: [Column; 9] = [
    ("name", "Client", false, false),
    ("severity", "Health", false, false),
    ("file", "File backups", false, false),
    ("image", "Image backups", false, false),
    ("online", "Online", false, false),
    ("group", "Group", false, true),
    ("version", "Version", false, true),
    ("os", "OS", false, true),
    ("used", "Storage", true, true),
];

fn shown(show: &str, c: &ClientRow) -> bool {
    let h = &c.health;
    match show {
        "attention" => c.needs_attention(),
        "failed" => h.failed(),
        "stale" => h.stale(),
        "never" => h.never(),
        "offline" => !h.online,
        "ok" => h.is_ok(),
        _ => true,
    }
}

/// `/servers/{server}`: its clients (sortable, filterable, paged), activities, storage and
/// last errors.
pub async fn server(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<ServerQuery>,
) -> Result<Response, PageError> {
    let page = build(&state, &session, &name, q, true).await?;
    Ok(render(&page))
}

/// `/servers/{server}/live` (same query as the page): the parts of the server page that
/// follow the polls, one after the other.
pub async fn server_live(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<ServerQuery>,
) -> Result<Response, PageError> {
    let page = build(&state, &session, &name, q, false).await?;
    let parts = [
        page.as_live().render(),
        page.as_table().render(),
        page.as_more().render(),
    ];
    let mut html = String::new();
    for p in parts {
        html.push_str(&p.map_err(|e| PageError::Internal(format!("template: {e}")))?);
    }
    Ok(axum::response::Html(html).into_response())
}

async fn build(
    state: &AppState,
    session: &Session,
    name: &str,
    q: ServerQuery,
    full: bool,
) -> Result<ServerPage, PageError> {
    let s = session.fleet(state).server(name)?;
    let now = urbackup_fleet::unix_now();
    let (st, st_label) = server_state(&s);
    let self_href = fmt::server_href(&s.name);
    let text = q.q.clone().unwrap_or_default();
    let needle = text.to_lowercase();
    let show = q
        .show
        .as_deref()
        .filter(|v| SHOW.iter().any(|(k, _)| k == v))
        .unwrap_or("all")
        .to_owned();
    let sort = q
        .sort
        .as_deref()
        .filter(|v| COLUMNS.iter().any(|c| c.0 == *v))
        .unwrap_or("severity")
        .to_owned();
    let desc = match q.dir.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        // Worst first by default; names A to Z.
        _ => sort == "severity" || sort == "used",
    };
    let used: std::collections::HashMap<&str, i64> = s
        .usage
        .iter()
        .flat_map(|(_, u)| u.iter())
        .map(|u| (u.name.as_str(), u.used))
        .collect();
    let mut rows: Vec<&ClientRow> = s
        .clients
        .iter()
        .filter(|c| shown(&show, c))
        .filter(|c| needle.is_empty() || c.name().to_lowercase().contains(&needle))
        .collect();
    let last = |k: &KindHealth| (k.state == BackupState::Ok, k.last_backup.unwrap_or(0));
    rows.sort_by(|a, b| {
        let (ha, hb) = (&a.health, &b.health);
        let o = match sort.as_str() {
            "name" => a.name().to_lowercase().cmp(&b.name().to_lowercase()),
            "file" => last(&hb.file).cmp(&last(&ha.file)),
            "image" => last(&hb.image).cmp(&last(&ha.image)),
            "online" => ha.online.cmp(&hb.online),
            "group" => ha.group.cmp(&hb.group),
            "version" => ha.version.cmp(&hb.version),
            "os" => a.os.cmp(&b.os),
            "used" => used.get(a.name()).cmp(&used.get(b.name())),
            _ => a.rank().cmp(&b.rank()),
        };
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| a.name().cmp(b.name()))
    });
    let total = rows.len();
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let link = |sort: &str, dir: &str, page: usize| {
        let mut h = format!(
            "{self_href}?sort={}&dir={dir}&show={}",
            fmt::encode(sort),
            fmt::encode(&show)
        );
        if !text.is_empty() {
            h.push_str(&format!("&q={}", fmt::encode(&text)));
        }
        if page > 1 {
            h.push_str(&format!("&page={page}"));
        }
        h
    };
    let headers = sort::headers(&COLUMNS, &sort, desc, |key, dir| link(key, dir, 1));
    let dir = if desc { "desc" } else { "asc" };
    let clients = rows
        .iter()
        .skip((page - 1) * PAGE_ROWS)
        .take(PAGE_ROWS)
        .map(|c| ClientLine {
            name: c.name().to_owned(),
            href: fmt::client_href(&s.name, c.id()),
            severity: c.health.severity().as_str(),
            file: kind_cell(&c.health.file, now),
            image: kind_cell(&c.health.image, now),
            online: c.health.online,
            group: fmt::group(&c.health.group),
            version: fmt::or_none(&c.health.version),
            os: fmt::or_none(&c.os),
            used: used
                .get(c.name())
                .map(|u| fmt::bytes(*u))
                .unwrap_or_else(|| fmt::NONE.into()),
            delete_pending: c.delete_pending,
        })
        .collect();
    let by_name: std::collections::HashMap<&str, i64> =
        s.clients.iter().map(|c| (c.name(), c.id())).collect();
    let recent = s
        .activities
        .iter()
        .flat_map(|a| a.iter())
        .map(|a| ActRow {
            time: fmt::time(a.backuptime),
            client: a.name.clone(),
            client_href: fmt::client_href(&s.name, a.clientid),
            what: activity_label(a),
            size: fmt::bytes(a.size_bytes),
            duration: if a.duration >= 0 {
                fmt::span(a.duration)
            } else {
                fmt::NONE.into()
            },
        })
        .collect();
    let unreachable = s.failure.is_some();
    let (usage, usage_more, usage_note) = match &s.usage {
        Some((at, u)) => {
            let total: i64 = u.iter().map(|e| e.used.max(0)).sum();
            let mut top: Vec<_> = u.iter().collect();
            top.sort_by(|a, b| b.used.cmp(&a.used).then_with(|| a.name.cmp(&b.name)));
            let lines = top
                .iter()
                .take(15)
                .map(|e| UsageLine {
                    name: e.name.clone(),
                    files: fmt::bytes(e.files),
                    images: fmt::bytes(e.images),
                    total: fmt::bytes(e.used),
                    share: if total > 0 {
                        (e.used.max(0) as f64 / total as f64 * 100.0).round() as u32
                    } else {
                        0
                    },
                })
                .collect();
            (
                lines,
                top.len().saturating_sub(15),
                format!("No storage used (read {}).", fmt::ago(*at, now)),
            )
        }
        None if unreachable => (
            Vec::new(),
            0,
            "Not known: the server cannot be read.".into(),
        ),
        None => (
            Vec::new(),
            0,
            "Not known: the server's usage statistics could not be read (the console's server user needs the statistics right), or not yet.".into(),
        ),
    };
    let (errors, errors_note) = match &s.error_logs {
        Some(list) => (
            list.iter()
                .take(20)
                .map(|l| ErrRow {
                    time: fmt::time(l.time),
                    client: l.name.clone(),
                    client_href: by_name
                        .get(l.name.as_str())
                        .map(|id| fmt::client_href(&s.name, *id))
                        .unwrap_or_default(),
                    what: log_label(l.image, l.incremental, l.restore),
                    errors: l.errors,
                    warnings: l.warnings,
                })
                .collect(),
            "No log with errors.".into(),
        ),
        None if unreachable && s.data_at.is_none() => {
            (Vec::new(), "Not known: the server cannot be read.".into())
        }
        None => (
            Vec::new(),
            "Not known: the server's logs could not be read, or not yet.".into(),
        ),
    };
    let title = format!("Server {}", s.name);
    let layout = if full {
        session.layout(state, title, "servers", false).await?
    } else {
        session.plain_layout(state, title)
    };
    let live_href = format!("{self_href}/live");
    Ok(ServerPage {
        layout,
        live_href,
        name: s.name.clone(),
        url: s.url.clone(),
        state: st,
        state_label: st_label,
        polled: s
            .polled_at
            .map(|t| fmt::ago(t, now))
            .unwrap_or_else(|| "not yet".into()),
        data_age: match (&s.failure, s.data_at) {
            (Some(_), Some(t)) => format!("from {}", fmt::ago(t, now)),
            _ => String::new(),
        },
        failure: s.failure.as_ref().map(|f| FailureView {
            kind_label: fmt::capital(f.kind.describe()),
            since: fmt::time(f.since),
            for_age: fmt::span(now - f.since),
            message: fmt::sentence(&f.message),
            retry: f
                .retry_login_at
                .map(|t| format!("{}.", fmt::capital(&next_login(t, now))))
                .unwrap_or_default(),
        }),
        counts: counts(&s),
        used: s
            .used_bytes()
            .map(fmt::bytes)
            .unwrap_or_else(|| fmt::NONE.into()),
        switches: match (s.switches.no_file_backups, s.switches.no_images) {
            (true, true) => "File and image backups are switched off on this server.".into(),
            (true, false) => "File backups are switched off on this server.".into(),
            (false, true) => "Image backups are switched off on this server.".into(),
            _ => String::new(),
        },
        running: s
            .actions
            .iter()
            .flat_map(|a| a.iter())
            .map(|a| run_row(&s.name, a))
            .collect(),
        running_note: if unreachable {
            "Not known: the server cannot be read."
        } else {
            "Nothing is running."
        },
        show_server: false,
        can_stop: session.role() >= Role::Operator,
        q: text.clone(),
        show_options: SHOW.iter().map(|&(k, l)| (k, l, k == show)).collect(),
        headers,
        clients,
        shown: total,
        page,
        pages,
        prev_href: if page > 1 {
            link(&sort, dir, page - 1)
        } else {
            String::new()
        },
        next_href: if page < pages {
            link(&sort, dir, page + 1)
        } else {
            String::new()
        },
        sort,
        dir: dir.into(),
        recent_note: if unreachable && s.data_at.is_none() {
            "Not known: the server cannot be read."
        } else {
            "None reported."
        },
        recent,
        usage_as_of: match (&s.usage, unreachable) {
            (Some((at, _)), true) => format!("Last known, read {}.", fmt::ago(*at, now)),
            _ => String::new(),
        },
        usage,
        usage_more,
        usage_note,
        errors,
        errors_note,
        self_href,
    })
}

fn activity_label(a: &urbackup::Activity) -> String {
    let kind = if a.image { "image" } else { "file" };
    if a.restore {
        format!("{kind} restore")
    } else if a.deletion {
        format!("{kind} backup deleted")
    } else if a.incremental > 0 {
        format!("incremental {kind} backup")
    } else {
        format!("full {kind} backup")
    }
}

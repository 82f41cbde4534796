//! The read pages: overview, servers, one server, one client. They read the poller's
//! snapshot (and the store for a client's history): no request to any UrBackup server.

use super::{render, AppState, Layout, PageError, Session};
use crate::auth::Role;
use crate::fmt;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use urbackup::{ActionProgress, BackupKind, BackupState, KindHealth};
use urbackup_fleet::{ClientRow, FleetSnapshot, ServerSnapshot};

/// Rows of the overview's attention list (the rest is counted).
const ATTENTION_ROWS: usize = 200;
/// Rows of running activities on the overview.
const RUNNING_ROWS: usize = 100;
/// Clients per page of a server page.
const PAGE_ROWS: usize = 250;

/// One backup kind in a table cell.
pub struct KindCell {
    /// CSS class: the state.
    state: &'static str,
    /// `ok`, `failed`, `stale`...
    label: &'static str,
    /// The last backup's time (`""`: never).
    last: String,
    /// Its age.
    age: String,
}

fn kind_cell(k: &KindHealth, now: i64) -> KindCell {
    KindCell {
        state: k.state.as_str(),
        label: k.state.as_str(),
        last: k.last_backup.map(fmt::time).unwrap_or_default(),
        age: k.last_backup.map(|t| fmt::ago(t, now)).unwrap_or_default(),
    }
}

/// Notes on a client that needs attention.
fn notes(c: &ClientRow) -> String {
    let h = &c.health;
    let mut n = Vec::new();
    if h.outdated {
        n.push(format!("client version {} outdated", h.version));
    }
    if h.file_issues > 0 {
        n.push(issues(h.file_issues));
    }
    if h.no_backup_paths {
        n.push("no backup paths".into());
    }
    n.join("; ")
}

fn issues(n: i64) -> String {
    format!(
        "{n} issue{} in the last file backup",
        if n == 1 { "" } else { "s" }
    )
}

pub struct RunRow {
    server: String,
    server_href: String,
    client: String,
    client_href: String,
    action: String,
    details: String,
    percent: Option<u8>,
    done: String,
    total: String,
    speed: String,
    eta: String,
    id: i64,
    can_stop: bool,
    stop_href: String,
}

/// What the web interface shows of `details`: the volume of an image backup, the path of a
/// restore, the step of a database job (other actions send placeholders such as `0`).
fn action_details(a: &ActionProgress) -> String {
    use urbackup::ActionType::*;
    match a.action {
        IncrImage | FullImage | ImageRestore if !a.details.is_empty() => {
            format!("volume {}", a.details)
        }
        FileRestore | CheckDbIntegrity | BackupDb => a.details.clone(),
        _ => String::new(),
    }
}

pub(super) fn run_row(server: &str, a: &ActionProgress) -> RunRow {
    RunRow {
        server: server.to_owned(),
        server_href: fmt::server_href(server),
        client: a.name.clone(),
        client_href: fmt::client_href(server, a.clientid),
        action: a.action.description(),
        details: action_details(a),
        percent: a.percent(),
        done: fmt::bytes(a.done_bytes),
        total: if a.total_bytes >= 0 {
            fmt::bytes(a.total_bytes)
        } else {
            String::new()
        },
        speed: if a.speed_bpms > 0.0 {
            format!("{}/s", fmt::bytes((a.speed_bpms * 1000.0) as i64))
        } else {
            "—".into()
        },
        eta: if a.eta_under_a_minute() {
            "< 1m".into()
        } else {
            a.eta()
                .map(|d| fmt::span(d.as_secs() as i64))
                .unwrap_or_else(|| "—".into())
        },
        id: a.id,
        can_stop: a.can_stop_backup,
        stop_href: format!("{}/stop", fmt::client_href(server, a.clientid)),
    }
}

pub struct ServerLine {
    name: String,
    href: String,
    state: &'static str,
    state_label: &'static str,
    clients: usize,
    ok: usize,
    failed: usize,
    stale: usize,
    never: usize,
    offline: usize,
    used: String,
    polled: String,
}

fn server_state(s: &ServerSnapshot) -> (&'static str, &'static str) {
    match (&s.failure, s.polled_at) {
        (_, None) => ("pending", "not polled yet"),
        (Some(_), _) => ("unreachable", "unreachable"),
        (None, _) => {
            let sev = s.severity();
            (sev.as_str(), sev.as_str())
        }
    }
}

fn server_lines(f: &FleetSnapshot, now: i64) -> Vec<ServerLine> {
    f.servers
        .iter()
        .map(|s| {
            let (state, state_label) = server_state(s);
            ServerLine {
                name: s.name.clone(),
                href: fmt::server_href(&s.name),
                state,
                state_label,
                clients: s.clients.len(),
                ok: s.count(|c| c.health.is_ok()),
                failed: s.count(|c| c.health.failed()),
                stale: s.count(|c| c.health.stale()),
                never: s.count(|c| c.health.never()),
                offline: s.count(|c| !c.health.online),
                used: s.used_bytes().map(fmt::bytes).unwrap_or_else(|| "—".into()),
                polled: s
                    .polled_at
                    .map(|t| fmt::ago(t, now))
                    .unwrap_or_else(|| "not yet".into()),
            }
        })
        .collect()
}

pub struct Totals {
    servers: usize,
    up: usize,
    clients: usize,
    attention: usize,
    running: usize,
}

pub struct DownRow {
    server: String,
    href: String,
    kind: &'static str,
    kind_label: &'static str,
    since: String,
    for_age: String,
    data_age: String,
    message: String,
    retry: String,
}

fn down_row(s: &ServerSnapshot, now: i64) -> Option<DownRow> {
    let f = s.failure.as_ref()?;
    Some(DownRow {
        server: s.name.clone(),
        href: fmt::server_href(&s.name),
        kind: f.kind.as_str(),
        kind_label: f.kind.describe(),
        since: fmt::time(f.since),
        for_age: fmt::span(now - f.since),
        data_age: s
            .data_at
            .map(|t| format!("clients as of {}", fmt::ago(t, now)))
            .unwrap_or_else(|| "never read".into()),
        message: f.message.clone(),
        retry: f
            .retry_login_at
            .map(|t| {
                format!(
                    "(no login before {}: the server bans addresses after repeated failed logins)",
                    fmt::time(t)
                )
            })
            .unwrap_or_default(),
    })
}

pub struct AttentionRow {
    severity: &'static str,
    server: String,
    server_href: String,
    client: String,
    client_href: String,
    file: KindCell,
    image: KindCell,
    online: bool,
    note: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    generated: String,
    totals: Totals,
    down: Vec<DownRow>,
    attention: Vec<AttentionRow>,
    attention_more: usize,
    running: Vec<RunRow>,
    show_server: bool,
    can_stop: bool,
    servers: Vec<ServerLine>,
}

/// `/`: unreachable servers, then every client that needs attention, then running
/// activities, then the servers.
pub async fn overview(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    let f = state.snapshot();
    let now = urbackup_fleet::unix_now();
    let attention_all = f.attention();
    let attention: Vec<AttentionRow> = attention_all
        .iter()
        .take(ATTENTION_ROWS)
        .map(|(s, c)| AttentionRow {
            severity: c.health.severity().as_str(),
            server: s.name.clone(),
            server_href: fmt::server_href(&s.name),
            client: c.name().to_owned(),
            client_href: fmt::client_href(&s.name, c.id()),
            file: kind_cell(&c.health.file, now),
            image: kind_cell(&c.health.image, now),
            online: c.health.online,
            note: notes(c),
        })
        .collect();
    let running_all: Vec<RunRow> = f
        .servers
        .iter()
        .flat_map(|s| {
            s.actions
                .iter()
                .flat_map(|a| a.iter())
                .map(move |a| run_row(&s.name, a))
        })
        .collect();
    let totals = Totals {
        servers: f.servers.len(),
        up: f.servers.iter().filter(|s| s.is_up()).count(),
        clients: f
            .servers
            .iter()
            .filter(|s| s.failure.is_none())
            .map(|s| s.clients.len())
            .sum(),
        attention: attention_all.len(),
        running: running_all.len(),
    };
    let page = OverviewPage {
        layout: session
            .layout(&state, "Overview".into(), "overview", true)
            .await?,
        generated: fmt::time(now),
        down: f.servers.iter().filter_map(|s| down_row(s, now)).collect(),
        attention_more: attention_all.len().saturating_sub(ATTENTION_ROWS),
        attention,
        running: running_all.into_iter().take(RUNNING_ROWS).collect(),
        show_server: true,
        can_stop: false,
        servers: server_lines(&f, now),
        totals,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "servers.html")]
struct ServersPage {
    layout: Layout,
    servers: Vec<ServerLine>,
}

/// `/servers`.
pub async fn servers(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    let f = state.snapshot();
    let page = ServersPage {
        layout: session
            .layout(&state, "Servers".into(), "servers", false)
            .await?,
        servers: server_lines(&f, urbackup_fleet::unix_now()),
    };
    Ok(render(&page))
}

// ---- one server ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ServerQuery {
    q: Option<String>,
    show: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<usize>,
}

pub struct FailureView {
    kind_label: &'static str,
    since: String,
    for_age: String,
    message: String,
    retry: String,
}

pub struct Counts {
    clients: usize,
    failed: usize,
    stale: usize,
    never: usize,
    offline: usize,
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

pub struct Header {
    label: &'static str,
    href: String,
    arrow: &'static str,
    aria_sort: &'static str,
    num: bool,
    narrow: bool,
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
#[template(path = "server.html")]
struct ServerPage {
    layout: Layout,
    name: String,
    url: String,
    self_href: String,
    state: &'static str,
    state_label: &'static str,
    polled: String,
    data_age: String,
    failure: Option<FailureView>,
    has_data: bool,
    counts: Counts,
    used: String,
    switches: String,
    running: Vec<RunRow>,
    show_server: bool,
    can_stop: bool,
    q: String,
    sort: String,
    dir: String,
    show_options: Vec<(&'static str, &'static str, bool)>,
    headers: Vec<Header>,
    clients: Vec<ClientLine>,
    shown: usize,
    page: usize,
    pages: usize,
    prev_href: String,
    next_href: String,
    recent: Vec<ActRow>,
    usage: Vec<UsageLine>,
    usage_more: usize,
    usage_note: String,
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

const COLUMNS: [(&str, &str, bool, bool); 9] = [
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

/// The server named in a path, or 404.
pub(super) fn find_server(
    f: &FleetSnapshot,
    name: &str,
) -> Result<std::sync::Arc<ServerSnapshot>, PageError> {
    f.server(name)
        .cloned()
        .ok_or_else(|| PageError::NotFound(format!("No server named “{name}” in this console.")))
}

/// `/servers/{server}`: its clients (sortable, filterable, paged), activities, storage and
/// last errors.
pub async fn server(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<ServerQuery>,
) -> Result<Response, PageError> {
    let f = state.snapshot();
    let s = find_server(&f, &name)?;
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
    let page = q.page.unwrap_or(1).clamp(1, pages);
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
    let headers = COLUMNS
        .iter()
        .map(|&(key, label, num, narrow)| {
            let active = key == sort;
            let next_dir = if active && !desc { "desc" } else { "asc" };
            Header {
                label,
                href: link(key, next_dir, 1),
                arrow: match (active, desc) {
                    (true, true) => " ▼",
                    (true, false) => " ▲",
                    _ => "",
                },
                aria_sort: match (active, desc) {
                    (true, true) => "descending",
                    (true, false) => "ascending",
                    _ => "",
                },
                num,
                narrow,
            }
        })
        .collect();
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
            group: c.health.group.clone(),
            version: c.health.version.clone(),
            os: c.os.clone(),
            used: used
                .get(c.name())
                .map(|u| fmt::bytes(*u))
                .unwrap_or_else(|| "—".into()),
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
                "—".into()
            },
        })
        .collect();
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
        None => (
            Vec::new(),
            "Not known: the server's logs could not be read, or not yet.".into(),
        ),
    };
    let page_view = ServerPage {
        layout: session
            .layout(&state, format!("Server {}", s.name), "servers", false)
            .await?,
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
            kind_label: f.kind.describe(),
            since: fmt::time(f.since),
            for_age: fmt::span(now - f.since),
            message: f.message.clone(),
            retry: f
                .retry_login_at
                .map(|t| format!("The next login is tried after {}.", fmt::time(t)))
                .unwrap_or_default(),
        }),
        has_data: s.data_at.is_some(),
        counts: Counts {
            clients: s.clients.len(),
            failed: s.count(|c| c.health.failed()),
            stale: s.count(|c| c.health.stale()),
            never: s.count(|c| c.health.never()),
            offline: s.count(|c| !c.health.online),
        },
        used: s.used_bytes().map(fmt::bytes).unwrap_or_else(|| "—".into()),
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
        recent,
        usage,
        usage_more,
        usage_note,
        errors,
        errors_note,
        self_href,
    };
    Ok(render(&page_view))
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

fn log_label(image: bool, incremental: bool, restore: bool) -> String {
    let kind = if image { "image" } else { "file" };
    match (restore, incremental) {
        (true, _) => format!("{kind} restore"),
        (false, true) => format!("incremental {kind} backup"),
        (false, false) => format!("full {kind} backup"),
    }
}

// ---- one client ---------------------------------------------------------------------------

pub struct KindBox {
    id: &'static str,
    title: &'static str,
    state: &'static str,
    label: String,
    last: String,
    age: String,
    verdict: &'static str,
    extra: String,
    compliance: String,
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
    ok: bool,
    detail: String,
}

#[derive(Template)]
#[template(path = "client.html")]
struct ClientPage {
    layout: Layout,
    server: String,
    server_href: String,
    self_href: String,
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
    show_server: bool,
    can_stop: bool,
    chart: Option<crate::chart::Chart>,
    history: Vec<HistLine>,
    history_more: usize,
    history_note: String,
    logs: Vec<LogView>,
    audit: Vec<AuditView>,
}

/// Rows of the history table (newest first).
const HISTORY_ROWS: usize = 100;

/// Why the console refuses to start this kind, `""` when it does not. Only image backups of
/// a client that cannot do them: the server would accept the start and silently drop it. An
/// offline client is left to the server (it answers that it did not start), and a kind whose
/// automatic backups are switched off can still be started by hand (the server runs it).
pub(super) fn start_refusal(c: &ClientRow, image: bool) -> String {
    let k = c.health.kind(if image {
        BackupKind::Image
    } else {
        BackupKind::File
    });
    match k.state {
        BackupState::Unsupported => "This client cannot do image backups.".into(),
        _ => String::new(),
    }
}

/// What the start buttons should say besides: offline, automatic backups switched off.
fn start_notes(c: &ClientRow) -> String {
    let mut notes = vec![
        "The server queues a backup for a connected client; this page shows it once it runs."
            .to_string(),
    ];
    if !c.health.online {
        notes.push("The client is offline: the server starts nothing until it connects.".into());
    }
    for (kind, name) in [(BackupKind::File, "file"), (BackupKind::Image, "image")] {
        if c.health.kind(kind).state == BackupState::Disabled {
            notes.push(format!(
                "Automatic {name} backups are switched off for this client; one started here still runs."
            ));
        }
    }
    notes.join(" ")
}

/// `/servers/{server}/clients/{id}`.
pub async fn client(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let f = state.snapshot();
    let s = find_server(&f, &name)?;
    let c = s.client(id).cloned().ok_or_else(|| {
        PageError::NotFound(format!("Server “{}” has no client with id {id}.", s.name))
    })?;
    let now = urbackup_fleet::unix_now();
    let (server_name, client_name) = (s.name.clone(), c.name().to_owned());
    let (history, logs, audit, first_seen) = state
        .db(move |st| {
            Ok((
                st.backups(&server_name, id)?,
                st.logs(&server_name, &client_name, 5)?,
                st.client_audit(&server_name, id, 10)?,
                st.first_seen(&server_name, id)?,
            ))
        })
        .await?;
    let h = &c.health;
    // Compliance of this client from its own history (the fleet's is not needed here).
    let first_seen = first_seen.unwrap_or(s.data_at.unwrap_or(now));
    let compliance = |kind: BackupKind| {
        let times = history
            .iter()
            .filter(|b| b.image == (kind == BackupKind::Image))
            .map(|b| b.time)
            .collect();
        crate::compliance::kind_compliance(kind, h.kind(kind), times, first_seen, &state.0.rpo, now)
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
                verdict: match if image { c.image_ok } else { c.file_ok } {
                    true => "ok",
                    false => "not ok",
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
                            .map(|(sh, d)| match sh.ratio() {
                                Some(r) => format!("{}: {}", d_label(d), fmt::percent(r)),
                                None => format!("{}: —", d_label(d)),
                            })
                            .collect::<Vec<_>>()
                            .join(" · ")
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
            start_refusal(&c, image)
        },
    })
    .collect();
    let chart = crate::chart::size_chart(&history);
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
            duration: b.duration.map(fmt::span).unwrap_or_else(|| "—".into()),
            id: b.id,
            gone: b.gone,
        })
        .collect();
    let used = s
        .usage
        .iter()
        .flat_map(|(_, u)| u.iter())
        .find(|u| u.name == c.name())
        .map(|u| fmt::bytes(u.used))
        .unwrap_or_else(|| "—".into());
    let page = ClientPage {
        layout: session
            .layout(&state, format!("Client {}", c.name()), "servers", false)
            .await?,
        server: s.name.clone(),
        server_href: fmt::server_href(&s.name),
        self_href: fmt::client_href(&s.name, id),
        start_href: format!("{}/backup", fmt::client_href(&s.name, id)),
        name: c.name().to_owned(),
        id,
        severity: h.severity().as_str(),
        online: h.online,
        stale_data: s.failure.is_some(),
        data_at: s.data_at.map(fmt::time).unwrap_or_default(),
        kinds,
        group: if h.group.is_empty() {
            "(default)".into()
        } else {
            h.group.clone()
        },
        version: h.version.clone(),
        outdated: h.outdated,
        os: c.os.clone(),
        ip: c.ip.clone(),
        last_seen: fmt::ago(h.last_seen, now),
        used,
        can_operate,
        buttons,
        buttons_note: start_notes(&c),
        running: s
            .actions
            .iter()
            .flat_map(|a| a.iter())
            .filter(|a| a.clientid == id)
            .map(|a| run_row(&s.name, a))
            .collect(),
        show_server: false,
        can_stop: can_operate,
        chart,
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
                user: a.user,
                action: a.action,
                ok: a.ok,
                detail: a.detail,
            })
            .collect(),
    };
    Ok(render(&page))
}

fn d_label(days: i64) -> String {
    format!("{days} days")
}

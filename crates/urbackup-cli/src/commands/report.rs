//! `report`: the fleet at a glance, for a person or a mail.
//!
//! Reads every server given (one task per server: `status`, and `usage` for the storage
//! used), judges each client by the library's health rule and prints a summary per server
//! (clients, ok, stale, failed, never, offline, storage used) and the clients that need
//! attention, worst first. Servers that cannot be read are listed as unreachable (critical).
//! The exit code is the worst severity, like `check`: 0, 1, 2; 3 when no server answered.

use crate::cli::ReportArgs;
use crate::config::Resolved;
use crate::output::{
    html_escape, html_page, human_bytes, iso_time, now, Cell, Flag, Format, Style, Table,
};
use anyhow::Result;
use serde_json::{json, Value};
use urbackup::{BackupKind, BackupState, ClientHealth, HealthPolicy, Severity};

/// What one server gave.
#[derive(Debug)]
pub struct ServerReport {
    /// The profile name (or the URL without a profile).
    pub name: String,
    /// `Err`: why it could not be read.
    pub result: std::result::Result<Fleet, String>,
}

/// The judged clients of one server.
#[derive(Debug)]
pub struct Fleet {
    /// Every client.
    pub clients: Vec<ClientHealth>,
    /// Storage used by all clients' backups (`None`: the usage request failed, e.g. no right).
    pub used_bytes: Option<i64>,
}

/// The label of a server: its profile, else its URL.
pub fn server_label(t: &Resolved) -> String {
    t.profile.clone().unwrap_or_else(|| t.url.clone())
}

/// Reads and judges every server, one task each, in the order given.
pub async fn collect(targets: Vec<Resolved>, policy: &HealthPolicy) -> Vec<ServerReport> {
    let now = now();
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|t| {
            let name = server_label(&t);
            let policy = policy.clone();
            let task = tokio::spawn(async move {
                let server = t.build().map_err(|e| crate::one_line(&e))?;
                let (status, usage) =
                    tokio::join!(server.status_report(), server.get_usage_typed());
                let report = status.map_err(|e| crate::one_line(&e.into()))?;
                Ok::<Fleet, String>(Fleet {
                    clients: policy.fleet(&report, now),
                    used_bytes: usage.ok().map(|u| u.iter().map(|c| c.used.max(0)).sum()),
                })
            });
            (name, task)
        })
        .collect();
    let mut out = Vec::new();
    for (name, task) in tasks {
        let result = task
            .await
            .unwrap_or_else(|e| Err(format!("the task for this server failed: {e}")));
        out.push(ServerReport { name, result });
    }
    out
}

/// A client's place in the attention list: worse first.
fn rank(c: &ClientHealth) -> (Severity, u8, i64) {
    let state_rank = |s: BackupState| match s {
        BackupState::Failed => 3,
        BackupState::Stale => 2,
        BackupState::Never => 1,
        _ => 0,
    };
    let worst = state_rank(c.file.state).max(state_rank(c.image.state));
    let age = c
        .file
        .age_secs
        .unwrap_or(0)
        .max(c.image.age_secs.unwrap_or(0));
    (c.severity(), worst, age)
}

/// Needs attention: a kind failed, stale or never backed up, or any severity.
fn needs_attention(c: &ClientHealth) -> bool {
    !c.is_ok() || c.outdated
}

fn summary_table(servers: &[ServerReport]) -> Table {
    let mut t = Table::new(&[
        ("server", "SERVER"),
        ("state", "STATE"),
        ("clients", "CLIENTS"),
        ("ok", "OK"),
        ("stale", "STALE"),
        ("failed", "FAILED"),
        ("never", "NEVER"),
        ("offline", "OFFLINE"),
        ("outdated", "OUTDATED"),
        ("used_bytes", "STORAGE USED"),
    ])
    .hidden("error");
    for s in servers {
        match &s.result {
            Ok(f) => {
                let n = |p: fn(&ClientHealth) -> bool| {
                    Cell::Int(f.clients.iter().filter(|c| p(c)).count() as i64)
                };
                let worst = f
                    .clients
                    .iter()
                    .map(ClientHealth::severity)
                    .max()
                    .unwrap_or(Severity::Ok);
                t.push(vec![
                    Cell::from(&s.name),
                    Cell::from(worst.as_str()),
                    Cell::Int(f.clients.len() as i64),
                    n(ClientHealth::is_ok),
                    n(ClientHealth::stale),
                    n(ClientHealth::failed),
                    n(ClientHealth::never),
                    n(|c| !c.online),
                    n(|c| c.outdated),
                    f.used_bytes.map(Cell::Bytes).unwrap_or(Cell::Null),
                    Cell::Null,
                ]);
            }
            Err(e) => t.push(vec![
                Cell::from(&s.name),
                Cell::from("unreachable"),
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::from(e.as_str()),
            ]),
        }
    }
    t
}

fn attention_table(servers: &[ServerReport]) -> Table {
    let mut t = Table::new(&[
        ("server", "SERVER"),
        ("client", "CLIENT"),
        ("severity", "SEVERITY"),
        ("file", "FILE"),
        ("last_file_backup", "LAST FILE"),
        ("image", "IMAGE"),
        ("last_image_backup", "LAST IMAGE"),
        ("online", "ONLINE"),
        ("version", "VERSION"),
        ("note", "NOTE"),
    ]);
    let mut rows: Vec<(&str, &ClientHealth)> = servers
        .iter()
        .filter_map(|s| s.result.as_ref().ok().map(|f| (s.name.as_str(), f)))
        .flat_map(|(name, f)| {
            f.clients
                .iter()
                .filter(|c| needs_attention(c))
                .map(move |c| (name, c))
        })
        .collect();
    rows.sort_by(|(sa, a), (sb, b)| {
        rank(b)
            .cmp(&rank(a))
            .then_with(|| sa.cmp(sb))
            .then_with(|| a.name.cmp(&b.name))
    });
    // Unreachable servers first: nothing of them is known.
    for s in servers {
        if let Err(e) = &s.result {
            t.push(vec![
                Cell::from(&s.name),
                Cell::Null,
                Cell::from("critical"),
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::text(format!("server unreachable: {e}")),
            ]);
        }
    }
    for (server, c) in rows {
        let mut notes = Vec::new();
        if c.outdated {
            notes.push("client version outdated".to_string());
        }
        if c.file_issues > 0 {
            notes.push(format!("{} issues in the last file backup", c.file_issues));
        }
        if c.no_backup_paths {
            notes.push("no backup paths".into());
        }
        t.push(vec![
            Cell::from(server),
            Cell::from(&c.name),
            Cell::from(c.severity().as_str()),
            Cell::Flag(Flag::from(c.file.state)),
            Cell::Time(c.file.last_backup.unwrap_or(0)),
            Cell::Flag(Flag::from(c.image.state)),
            Cell::Time(c.image.last_backup.unwrap_or(0)),
            Cell::YesNo(c.online),
            Cell::from(&c.version),
            Cell::text(notes.join("; ")),
        ]);
    }
    t
}

/// The exit code: the worst severity, 3 when nothing could be read.
pub fn exit_code(servers: &[ServerReport]) -> u8 {
    if servers.iter().all(|s| s.result.is_err()) {
        return 3;
    }
    let mut worst = Severity::Ok;
    for s in servers {
        match &s.result {
            Err(_) => worst = Severity::Critical,
            Ok(f) => {
                for c in &f.clients {
                    worst = worst.max(c.severity());
                }
            }
        }
    }
    worst.code()
}

fn kind_json(c: &ClientHealth, kind: BackupKind) -> Value {
    let k = c.kind(kind);
    json!({
        "state": k.state.as_str(),
        "severity": k.severity.as_str(),
        "last_backup": k.last_backup,
        "age_seconds": k.age_secs,
    })
}

/// The report as JSON: `{"generated": unix, "servers": [...], "attention": [...]}`.
fn render_json(servers: &[ServerReport], summary: &Table, attention: &Table) -> Value {
    let detail: Vec<Value> = servers
        .iter()
        .map(|s| match &s.result {
            Ok(f) => json!({
                "server": s.name,
                "reachable": true,
                "clients": f.clients.iter().map(|c| json!({
                    "name": c.name,
                    "id": c.id,
                    "severity": c.severity().as_str(),
                    "online": c.online,
                    "file": kind_json(c, BackupKind::File),
                    "image": kind_json(c, BackupKind::Image),
                    "version": c.version,
                    "outdated": c.outdated,
                })).collect::<Vec<_>>(),
            }),
            Err(e) => json!({"server": s.name, "reachable": false, "error": e}),
        })
        .collect();
    json!({
        "generated": now(),
        "summary": summary.json_rows(),
        "attention": attention.json_rows(),
        "servers": detail,
    })
}

/// `report`.
pub async fn run(targets: Vec<Resolved>, a: &ReportArgs, style: &Style) -> Result<u8> {
    let policy = a.health.policy();
    let servers = collect(targets, &policy).await;
    let text = render(&servers, style);
    match &a.out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(exit_code(&servers))
}

/// The report in the chosen format.
pub fn render(servers: &[ServerReport], style: &Style) -> String {
    let summary = summary_table(servers);
    let attention = attention_table(servers);
    match style.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&render_json(servers, &summary, &attention))
                .unwrap_or_default();
            s.push('\n');
            s
        }
        // CSV: one table, the clients that need attention (unreachable servers included).
        Format::Csv => crate::output::Output::Table(attention).render(style),
        Format::Markdown => format!(
            "# UrBackup fleet report\n\n## Servers\n\n{}\n## Clients needing attention\n\n{}",
            summary.markdown(),
            if attention.rows.is_empty() {
                "None.\n".to_string()
            } else {
                attention.markdown()
            }
        ),
        Format::Html => {
            let body = format!(
                "<h1>UrBackup fleet report</h1>\n<p class=\"meta\">Generated {} by urbackup {}.</p>\n<h2>Servers</h2>\n{}<h2>Clients needing attention</h2>\n{}",
                html_escape(&iso_time(now())),
                env!("CARGO_PKG_VERSION"),
                summary.html(),
                if attention.rows.is_empty() {
                    "<p>None.</p>\n".to_string()
                } else {
                    attention.html()
                }
            );
            html_page("UrBackup fleet report", &body)
        }
        Format::Table => {
            let mut s = String::from("SERVERS\n");
            s.push_str(&summary.render(style.color));
            s.push_str("\nCLIENTS NEEDING ATTENTION\n");
            if attention.rows.is_empty() {
                s.push_str("(none)\n");
            } else {
                s.push_str(&attention.render(style.color));
            }
            let total: i64 = servers
                .iter()
                .filter_map(|s| s.result.as_ref().ok()?.used_bytes)
                .sum();
            s.push_str(&format!(
                "\nstorage used in all: {}\n",
                human_bytes(total as u64)
            ));
            s
        }
    }
}

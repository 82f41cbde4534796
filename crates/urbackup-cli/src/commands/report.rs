//! `report`: the fleet at a glance, for a person or a mail.
//!
//! Reads every server given (one task per server: `status`, and `usage` for the storage
//! used), judges each client by the library's health rule and prints a summary per server
//! (clients, ok, stale, failed, never, offline, storage used) and the clients that need
//! attention, worst first. Servers that cannot be read are listed as unreachable (critical).
//! The exit code is the worst severity, like `check`: 0, 1, 2; 3 when no server answered.

use super::fleet::members;
use crate::cli::ReportArgs;
use crate::config::Resolved;
use crate::output::{
    html_escape, html_page, human_bytes, iso_time, now, Cell, Flag, Format, Style, Table,
};
use anyhow::Result;
use serde_json::{json, Value};
use std::sync::Arc;
use urbackup::{BackupKind, ClientHealth, HealthPolicy};
use urbackup_fleet::{FleetSnapshot, NoObserver, Plan, Poller, PollerConfig, ServerSnapshot};

/// Reads and judges every server once, all at the same time, in the order given: one poll
/// of the fleet crate (`status` and `usage`), the same code as the exporter and the console.
pub async fn collect(
    targets: Vec<Resolved>,
    name: Option<&str>,
    policy: &HealthPolicy,
) -> Result<Arc<FleetSnapshot>> {
    let config = PollerConfig {
        plan: Plan::report(),
        ..PollerConfig::default()
    };
    let poller = Poller::new(members(&targets, name)?, policy.clone(), config);
    Ok(poller.poll_all(&NoObserver).await)
}

/// Why a server could not be read, in one line.
fn failure(s: &ServerSnapshot) -> Option<String> {
    s.failure
        .as_ref()
        .map(|f| format!("{}: {}", f.kind.describe(), f.message))
}

/// The judged clients of a readable server.
fn healths(s: &ServerSnapshot) -> impl Iterator<Item = &ClientHealth> {
    s.clients.iter().map(|c| &c.health)
}

fn summary_table(f: &FleetSnapshot) -> Table {
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
    for s in &f.servers {
        match failure(s) {
            None => {
                let n = |p: fn(&ClientHealth) -> bool| {
                    Cell::Int(healths(s).filter(|c| p(c)).count() as i64)
                };
                t.push(vec![
                    Cell::from(&s.name),
                    Cell::from(s.severity().as_str()),
                    Cell::Int(s.clients.len() as i64),
                    n(ClientHealth::is_ok),
                    n(ClientHealth::stale),
                    n(ClientHealth::failed),
                    n(ClientHealth::never),
                    n(|c| !c.online),
                    n(|c| c.outdated),
                    s.used_bytes().map(Cell::Bytes).unwrap_or(Cell::Null),
                    Cell::Null,
                ]);
            }
            Some(e) => t.push(vec![
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

fn attention_table(f: &FleetSnapshot) -> Table {
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
    // Unreachable servers first: nothing of them is known.
    for s in &f.servers {
        if let Some(e) = failure(s) {
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
    for (s, row) in f.attention() {
        let c = &row.health;
        let mut notes = Vec::new();
        if c.outdated {
            notes.push("client version outdated".to_string());
        }
        if c.file_issues > 0 {
            notes.push(format!(
                "{} issue{} in the last file backup",
                c.file_issues,
                if c.file_issues == 1 { "" } else { "s" }
            ));
        }
        if c.no_backup_paths {
            notes.push("no backup paths".into());
        }
        t.push(vec![
            Cell::from(&s.name),
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

/// The exit code: the worst severity (an unreachable server is critical), 3 when nothing
/// could be read.
pub fn exit_code(f: &FleetSnapshot) -> u8 {
    if f.servers.iter().all(|s| s.failure.is_some()) {
        return 3;
    }
    f.severity().code()
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
fn render_json(f: &FleetSnapshot, summary: &Table, attention: &Table) -> Value {
    let detail: Vec<Value> = f
        .servers
        .iter()
        .map(|s| match failure(s) {
            None => json!({
                "server": s.name,
                "reachable": true,
                "clients": healths(s).map(|c| json!({
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
            Some(e) => json!({"server": s.name, "reachable": false, "error": e}),
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
    let servers = collect(targets, a.server.name.as_deref(), &policy).await?;
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
pub fn render(servers: &FleetSnapshot, style: &Style) -> String {
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
            if attention.is_empty() {
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
                if attention.is_empty() {
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
            if attention.is_empty() {
                s.push_str("(none)\n");
            } else {
                s.push_str(&attention.render(style.color));
            }
            let total: i64 = servers
                .servers
                .iter()
                .filter(|s| s.failure.is_none())
                .filter_map(|s| s.used_bytes())
                .sum();
            s.push_str(&format!(
                "\nstorage used in all: {}\n",
                human_bytes(total as u64)
            ));
            s
        }
    }
}

//! `status`, `usage`, `identity`.

use super::Ctx;
use crate::cli::StatusArgs;
use crate::output::{now, Cell, Flag, Output, Table};
use anyhow::Result;
use urbackup::{
    ActionType, ClientHealth, ClientStatus, HealthPolicy, ServerSwitches, StatusReport,
};

/// The server-wide switches of a reply (none when it is not known yet).
fn switches(report: Option<&StatusReport>) -> ServerSwitches {
    report.map(ServerSwitches::from).unwrap_or_default()
}

/// File backup state of a client by the library's health rule without age limits
/// (`no_file_backups`: disabled server-wide).
pub fn file_flag(c: &ClientStatus, report: Option<&StatusReport>) -> Flag {
    Flag::from(
        HealthPolicy::default()
            .client(c, switches(report), now())
            .file
            .state,
    )
}

/// Image backup state of a client (`no_images`: disabled server-wide).
pub fn image_flag(c: &ClientStatus, report: Option<&StatusReport>) -> Flag {
    Flag::from(
        HealthPolicy::default()
            .client(c, switches(report), now())
            .image
            .state,
    )
}

/// A kind switched off server-wide is disabled for every client that could do it (the
/// health rule's order: unsupported, then disabled, then the rest).
fn switched_off(flag: Flag, off: bool) -> Flag {
    match flag {
        Flag::Unsupported | Flag::Disabled => flag,
        _ if off => Flag::Disabled,
        other => other,
    }
}

/// What the client is doing, e.g. `incremental file backup 42%`.
pub fn activity(c: &ClientStatus) -> String {
    let parts: Vec<String> = c
        .processes
        .iter()
        .map(|p| {
            if p.pcdone >= 0 {
                format!("{} {}%", p.action, p.pcdone)
            } else {
                p.action.to_string()
            }
        })
        .collect();
    if !parts.is_empty() {
        return parts.join(", ");
    }
    match c.status {
        0 => String::new(),
        1..=10 => ActionType::from_code(c.status).to_string(),
        11 => "identity error".into(),
        12 => "too many clients".into(),
        13 => "authentication error".into(),
        14 => "UID changed".into(),
        15 => "authenticating".into(),
        16 => "exchanging settings".into(),
        17 => "starting up".into(),
        other => format!("status {other}"),
    }
}

/// The columns of `status` (also used by `demo`).
pub fn status_table() -> Table {
    Table::new(&[
        ("name", "NAME"),
        ("group", "GROUP"),
        ("online", "ONLINE"),
        ("last_file_backup", "LAST FILE"),
        ("last_image_backup", "LAST IMAGE"),
        ("file", "FILE"),
        ("image", "IMAGE"),
        ("version", "VERSION"),
        ("activity", "ACTIVITY"),
    ])
    .hidden("id")
    .hidden("file_ok")
    .hidden("image_ok")
    .hidden("os")
    .hidden("ip")
    .hidden("last_seen")
    .hidden("delete_pending")
    .hidden("last_file_backup_issues")
}

/// One client of `status` as it is kept until printed: its texts and numbers (144 bytes and
/// its texts) instead of the row's 17 cells (432 bytes), made when the row is printed. Takes
/// the client by value: its texts move into the row (a large fleet is thousands of them).
#[derive(Debug)]
pub struct StatusRow {
    name: Box<str>,
    group: Box<str>,
    version: Box<str>,
    activity: Box<str>,
    os: Box<str>,
    ip: Box<str>,
    id: i64,
    last_file: i64,
    last_image: i64,
    last_seen: i64,
    issues: i64,
    online: bool,
    file_ok: bool,
    image_ok: bool,
    delete_pending: bool,
    file: Flag,
    image: Flag,
}

impl StatusRow {
    /// The row of a client judged by the health rule.
    pub fn new(c: ClientStatus, h: &ClientHealth) -> StatusRow {
        StatusRow {
            activity: activity(&c).into(),
            name: c.name.into(),
            group: c.groupname.into(),
            version: c.client_version_string.into(),
            os: c.os_version_string.into(),
            ip: c.ip.into(),
            id: c.id,
            last_file: c.lastbackup,
            last_image: c.lastbackup_image,
            last_seen: c.lastseen,
            issues: c.last_filebackup_issues,
            online: c.online,
            file_ok: c.file_ok,
            image_ok: c.image_ok,
            delete_pending: c.delete_pending,
            file: Flag::from(h.file.state),
            image: Flag::from(h.image.state),
        }
    }

    /// The cells of [`status_table`]'s columns.
    pub fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::from(&*self.name),
            if self.group.is_empty() {
                Cell::Null
            } else {
                Cell::from(&*self.group)
            },
            Cell::YesNo(self.online),
            Cell::Time(self.last_file),
            Cell::Time(self.last_image),
            Cell::Flag(self.file),
            Cell::Flag(self.image),
            Cell::from(&*self.version),
            Cell::from(&*self.activity),
            Cell::Int(self.id),
            Cell::Bool(self.file_ok),
            Cell::Bool(self.image_ok),
            Cell::from(&*self.os),
            Cell::from(&*self.ip),
            Cell::Time(self.last_seen),
            Cell::Bool(self.delete_pending),
            Cell::Int(self.issues),
        ]
    }
}

/// The rows of a `status` table.
#[derive(Debug)]
struct StatusRows(Vec<StatusRow>);

impl crate::output::CompactRows for StatusRows {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn cells(&self, i: usize) -> Vec<Cell> {
        self.0[i].cells()
    }
}

/// `status --client NAME` with a name the server does not know. Carries the rows of the
/// names it knows, so that `--all-profiles` can still print them (and report a name only when
/// no server knows it).
#[derive(Debug)]
pub struct UnknownClients {
    /// The names no client of this server has.
    pub names: Vec<String>,
    /// The rows of the other names.
    pub table: Table,
}

impl std::fmt::Display for UnknownClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.names.iter().map(|n| format!("`{n}`")).collect();
        write!(f, "no client named {}", names.join(", "))
    }
}

impl std::error::Error for UnknownClients {}

/// `status`.
pub async fn status(ctx: &Ctx, a: &StatusArgs) -> Result<Output> {
    // Each client becomes its row as the reply arrives and is dropped: memory for the rows,
    // not for the whole reply (megabytes for a large fleet).
    let mut rows = Vec::new();
    let policy = a.health.policy();
    let now = now();
    let mut named: Vec<bool> = vec![false; a.client.len()];
    let report = ctx
        .server
        .for_each_client_status(|c| {
            if !c.rejected {
                for (seen, name) in named.iter_mut().zip(&a.client) {
                    *seen |= *name == c.name;
                }
            }
            let skip = c.rejected
                || (a.offline && c.online)
                || a.group.as_ref().is_some_and(|g| {
                    !(c.groupname == *g || (c.groupname.is_empty() && g == "default"))
                })
                || (!a.client.is_empty() && !a.client.contains(&c.name));
            if !skip {
                let h = policy.client(&c, ServerSwitches::default(), now);
                rows.push(StatusRow::new(c, &h));
            }
        })
        .await?;
    // Server-wide switches (known once the whole reply is read) make a kind disabled.
    for row in &mut rows {
        row.file = switched_off(row.file, report.no_file_backups);
        row.image = switched_off(row.image, report.no_images);
    }
    rows.retain(|row| {
        if a.failed && row.file != Flag::Failed && row.image != Flag::Failed {
            return false;
        }
        if let Some(limit) = a.stale {
            let last = row.last_file;
            return row.file != Flag::Disabled && (last <= 0 || now - last > limit);
        }
        true
    });
    rows.shrink_to_fit();
    let t = status_table().with_compact_rows(StatusRows(rows));
    let unknown: Vec<String> = a
        .client
        .iter()
        .zip(&named)
        .filter(|(_, seen)| !**seen)
        .map(|(name, _)| name.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(UnknownClients {
            names: unknown,
            table: t,
        }
        .into());
    }
    Ok(Output::Table(t))
}

/// `usage`.
pub async fn usage(ctx: &Ctx) -> Result<Output> {
    let usage = ctx.server.get_usage_typed().await?;
    let mut t = Table::new(&[
        ("name", "CLIENT"),
        ("files_bytes", "FILES"),
        ("images_bytes", "IMAGES"),
        ("used_bytes", "TOTAL"),
    ]);
    for u in &usage {
        t.push(vec![
            Cell::from(&u.name),
            Cell::Bytes(u.files),
            Cell::Bytes(u.images),
            Cell::Bytes(u.used),
        ]);
    }
    Ok(Output::Table(t))
}

/// `identity`.
pub async fn identity(ctx: &Ctx) -> Result<Output> {
    let info = ctx.server.server_info().await?;
    let fingerprint = info
        .pubkey
        .split_once("#fingerprint=")
        .map(|(_, f)| f.to_owned())
        .unwrap_or_default();
    let mut t = Table::new(&[
        ("identity", "IDENTITY"),
        ("fingerprint", "FINGERPRINT"),
        ("api_version", "API VERSION"),
        ("newer_version", "NEWER VERSION"),
        ("url", "URL"),
    ])
    .hidden("pubkey")
    .hidden("no_file_backups")
    .hidden("no_images");
    t.push(vec![
        Cell::from(&info.identity),
        Cell::text(fingerprint),
        info.api_version.map(Cell::Int).unwrap_or(Cell::Null),
        info.newer_version
            .clone()
            .map(Cell::text)
            .unwrap_or(Cell::Null),
        Cell::from(ctx.server.url()),
        Cell::from(&info.pubkey),
        Cell::Bool(info.no_file_backups),
        Cell::Bool(info.no_images),
    ]);
    Ok(Output::Record(t))
}

//! `backup start CLIENT... [--wait]`.

use super::{pick_by_name, Ctx};
use crate::cli::BackupStartArgs;
use crate::output::{Cell, Output, Table};
use crate::progress::ProgressView;
use anyhow::{bail, Result};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use urbackup::{
    ActionProgress, ActionType, Activity, BackupType, LogFilter, LogLevel, LogSummary,
    ServerSwitches,
};

/// How long a queued backup may take to show up in `progress` before it counts as not started.
const APPEAR_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a backup may be gone from `progress` with nothing recorded before the wait ends
/// with an unknown outcome.
const GONE_TIMEOUT: Duration = Duration::from_secs(600);

/// The complete backup of kind `ty` that client `id` has in `acts` and did not have before.
fn new_backup<'a>(
    acts: &'a [Activity],
    id: i64,
    ty: BackupType,
    before: &HashSet<(i64, bool, i64)>,
) -> Option<&'a Activity> {
    acts.iter().find(|a| {
        a.clientid == id
            && a.image == ty.is_image()
            && !a.deletion
            && !a.restore
            && !before.contains(&(a.clientid, a.image, a.id))
    })
}

/// The first log of a backup of kind `ty` of client `id` saved after log id `after`.
async fn new_backup_log(
    ctx: &Ctx,
    id: i64,
    ty: BackupType,
    after: i64,
) -> Result<Option<LogSummary>> {
    Ok(ctx
        .server
        .get_logs(&all_logs_of(id))
        .await?
        .into_iter()
        .filter(|l| l.id > after && !l.restore && l.image == ty.is_image())
        .min_by_key(|l| l.id))
}

fn all_logs_of(id: i64) -> LogFilter {
    LogFilter {
        clientids: vec![id],
        min_level: Some(LogLevel::Info),
    }
}

/// True when `a` is a backup of the kind `ty` (file or image).
pub fn is_backup_of_kind(a: ActionType, image: bool) -> bool {
    use ActionType::*;
    if image {
        matches!(a, IncrImage | FullImage)
    } else {
        matches!(a, IncrFile | FullFile | ResumedIncrFile | ResumedFullFile)
    }
}

/// The outcome of one client's backup.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Client name.
    pub client: String,
    /// `ok`, `failed`, `offline`, `not allowed`, `unsupported`, `queued`, `timeout`.
    pub result: &'static str,
    /// The new backup, when there is one.
    pub activity: Option<Activity>,
    /// More words.
    pub note: String,
}

/// `backup start`'s exit code when the only trouble is clients that cannot do the kind asked
/// for (`unsupported`: image backups of a client without image support).
pub const EXIT_UNSUPPORTED: u8 = 4;

impl Outcome {
    /// The backup was made (`--wait`) or queued.
    fn ok(&self) -> bool {
        matches!(self.result, "ok" | "queued")
    }
}

/// 0 when every client got its backup (or, without `--wait`, had it queued); 1 when one
/// failed, was offline, not allowed, timed out or ended unknown; [`EXIT_UNSUPPORTED`] when the
/// rest is fine but a client cannot do this kind of backup.
pub fn exit_code(outcomes: &[Outcome]) -> u8 {
    if outcomes.iter().all(Outcome::ok) {
        0
    } else if outcomes.iter().all(|o| o.ok() || o.result == "unsupported") {
        EXIT_UNSUPPORTED
    } else {
        1
    }
}

/// The result table.
pub fn outcome_table(outcomes: &[Outcome], ty: BackupType) -> Table {
    let mut t = Table::new(&[
        ("client", "CLIENT"),
        ("type", "TYPE"),
        ("result", "RESULT"),
        ("backup_id", "BACKUP"),
        ("size_bytes", "SIZE"),
        ("duration_seconds", "DURATION"),
        ("note", "NOTE"),
    ]);
    for o in outcomes {
        t.push(vec![
            Cell::from(&o.client),
            Cell::from(ty.as_str()),
            Cell::from(o.result),
            o.activity
                .as_ref()
                .map(|a| Cell::Int(a.id))
                .unwrap_or(Cell::Null),
            o.activity
                .as_ref()
                .map(|a| Cell::Bytes(a.size_bytes))
                .unwrap_or(Cell::Null),
            o.activity
                .as_ref()
                .map(|a| Cell::Secs(a.duration))
                .unwrap_or(Cell::Null),
            Cell::from(&o.note),
        ]);
    }
    t
}

/// `backup start`.
pub async fn start(ctx: &Ctx, a: &BackupStartArgs) -> Result<u8> {
    if !(a.interval > 0.0 && a.interval.is_finite()) {
        bail!("--interval must be a positive number of seconds");
    }
    let ty = BackupType::new(a.image, a.full);
    let (outcomes, _) = start_and_wait(
        ctx,
        &a.clients,
        ty,
        a.wait,
        Duration::from_secs_f64(a.interval),
        a.max_wait.map(|s| Duration::from_secs(s.max(0) as u64)),
    )
    .await?;
    ctx.print(&Output::Table(outcome_table(&outcomes, ty)))?;
    Ok(exit_code(&outcomes))
}

/// Starts `ty` for the named clients with one `start_backup` request; with `wait`, follows
/// them in `progress` (bars or lines on stderr) until each is gone, then finds the new backup
/// in `lastacts`.
pub async fn start_and_wait(
    ctx: &Ctx,
    names: &[String],
    ty: BackupType,
    wait: bool,
    interval: Duration,
    max_wait: Option<Duration>,
) -> Result<(Vec<Outcome>, Duration)> {
    let report = ctx.server.status_report().await?;
    let switches = ServerSwitches::from(&report);
    let clients = pick_by_name(&report.status, names)?;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut ids = Vec::new();
    for c in &clients {
        // Starts the server would accept and never run are not sent (the library's rule).
        match c.start_refusal(ty.kind(), switches) {
            Some(refusal) => outcomes.push(Outcome {
                client: c.name.clone(),
                result: "unsupported",
                activity: None,
                note: refusal.reason().into(),
            }),
            None => ids.push(c.id),
        }
    }
    let before: HashSet<(i64, bool, i64)> = if wait && !ids.is_empty() {
        ctx.server
            .last_activities()
            .await?
            .iter()
            .filter(|a| !a.restore && !a.deletion)
            .map(|a| (a.clientid, a.image, a.id))
            .collect()
    } else {
        HashSet::new()
    };
    // Where the logs stand: the backup's own log is the first newer one.
    let logs_before = if wait && !ids.is_empty() {
        let filter = LogFilter {
            clientids: ids.clone(),
            min_level: Some(LogLevel::Info),
        };
        ctx.server
            .get_logs(&filter)
            .await?
            .iter()
            .map(|l| l.id)
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let started = Instant::now();
    let results = ctx.server.start_backups_from(&report, &ids, ty).await?;
    let mut waiting: Vec<(i64, String)> = Vec::new();
    for c in clients.iter().filter(|c| ids.contains(&c.id)) {
        match results.iter().find(|r| r.clientid == c.id) {
            Some(r) if r.start_ok => {
                if wait {
                    waiting.push((c.id, c.name.clone()));
                } else {
                    outcomes.push(Outcome {
                        client: c.name.clone(),
                        result: "queued",
                        activity: None,
                        note: String::new(),
                    });
                }
            }
            Some(_) => outcomes.push(Outcome {
                client: c.name.clone(),
                result: "offline",
                activity: None,
                note: "the client is not connected".into(),
            }),
            None => outcomes.push(Outcome {
                client: c.name.clone(),
                result: "not allowed",
                activity: None,
                note: "no right to start backups of this client".into(),
            }),
        }
    }
    if waiting.is_empty() {
        return Ok((order(outcomes, names), started.elapsed()));
    }

    let mut view = ProgressView::new(ctx.style.stderr_tty, false);
    view.println(&format!(
        "started {} backup of {}; waiting for {} to finish",
        describe(ty),
        waiting
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if waiting.len() == 1 { "it" } else { "them" }
    ));
    // Per client: whether its action was seen, and how many polls it has been gone.
    let mut seen: HashMap<i64, bool> = HashMap::new();
    let mut gone_since: HashMap<i64, Instant> = HashMap::new();
    loop {
        let actions = ctx.server.get_actions_typed().await?;
        let mine: Vec<&ActionProgress> = actions
            .iter()
            .filter(|p| {
                waiting.iter().any(|(id, _)| *id == p.clientid)
                    && is_backup_of_kind(p.action, ty.is_image())
            })
            .collect();
        view.update(&mine);
        let idle: Vec<i64> = waiting
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !mine.iter().any(|p| p.clientid == *id))
            .collect();
        for (id, _) in &waiting {
            if !idle.contains(id) {
                seen.insert(*id, true);
                gone_since.remove(id);
            }
        }
        if !idle.is_empty() {
            let mut acts = ctx.server.last_activities().await?;
            let mut done = Vec::new();
            for id in idle {
                let name = waiting
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
                // The server saves the backup's log after marking the backup complete and
                // only then drops its `progress` item (Backup.cpp). So: a new complete backup
                // is a success, a new backup log without one a failure, and neither (yet)
                // means the server has not recorded the end.
                let mut verdict = new_backup(&acts, id, ty, &before).map(|a| Ok(a.clone()));
                if verdict.is_none() {
                    if let Some(log) = new_backup_log(ctx, id, ty, logs_before).await? {
                        acts = ctx.server.last_activities().await?;
                        verdict = Some(new_backup(&acts, id, ty, &before).cloned().ok_or(log));
                    }
                }
                match verdict {
                    Some(Ok(act)) => {
                        view.println(&format!(
                            "{name}: finished: backup {} ({})",
                            act.id,
                            crate::output::human_bytes(act.size_bytes.max(0) as u64)
                        ));
                        outcomes.push(Outcome {
                            client: name,
                            result: "ok",
                            activity: Some(act),
                            note: String::new(),
                        });
                        done.push(id);
                    }
                    Some(Err(log)) => {
                        view.println(&format!("{name}: ended without a new backup"));
                        outcomes.push(Outcome {
                            client: name,
                            result: "failed",
                            activity: None,
                            note: format!(
                                "no new backup; its log {} has {} error(s): `urbackup logs show {}`",
                                log.id, log.errors, log.id
                            ),
                        });
                        done.push(id);
                    }
                    None if seen.get(&id).copied().unwrap_or(false) => {
                        let since = *gone_since.entry(id).or_insert_with(Instant::now);
                        if since.elapsed() >= GONE_TIMEOUT {
                            outcomes.push(Outcome {
                                client: name.clone(),
                                result: "unknown",
                                activity: None,
                                note: format!(
                                    "gone from progress for {} min and the server recorded \
                                     neither a backup nor a log; see `urbackup logs list \
                                     --client {name}`",
                                    GONE_TIMEOUT.as_secs() / 60
                                ),
                            });
                            done.push(id);
                        }
                    }
                    None if started.elapsed() > APPEAR_TIMEOUT => {
                        outcomes.push(Outcome {
                            client: name.clone(),
                            result: "failed",
                            activity: None,
                            note: "the backup did not start".into(),
                        });
                        done.push(id);
                    }
                    None => {}
                }
            }
            waiting.retain(|(id, _)| !done.contains(id));
        }
        if waiting.is_empty() {
            break;
        }
        if max_wait.is_some_and(|m| started.elapsed() >= m) {
            for (_, name) in waiting.drain(..) {
                outcomes.push(Outcome {
                    client: name,
                    result: "timeout",
                    activity: None,
                    note: "still running when --max-wait ran out".into(),
                });
            }
            break;
        }
        tokio::time::sleep(interval).await;
    }
    view.finish();
    Ok((order(outcomes, names), started.elapsed()))
}

fn order(mut outcomes: Vec<Outcome>, names: &[String]) -> Vec<Outcome> {
    outcomes.sort_by_key(|o| {
        names
            .iter()
            .position(|n| *n == o.client)
            .unwrap_or(usize::MAX)
    });
    outcomes
}

/// `incremental file`, `full image`...
pub fn describe(ty: BackupType) -> &'static str {
    match ty {
        BackupType::IncrFile => "incremental file",
        BackupType::FullFile => "full file",
        BackupType::IncrImage => "incremental image",
        BackupType::FullImage => "full image",
    }
}

//! `backups list|browse|download|restore|archive|unarchive|delete`.

use super::{client_by_name, resolve_backup, Ctx};
use crate::cli::BackupsCmd;
use crate::output::{human_bytes, Cell, Output, Table};
use crate::progress::{DownloadProgress, ProgressView};
use anyhow::{bail, Result};
use serde_json::json;
use std::time::{Duration, Instant};
use urbackup::{BackupEntry, BackupRef, RestorePhase};

/// `backups ...`; the exit code is non-zero for a restore that failed.
pub async fn run(ctx: &Ctx, cmd: &BackupsCmd) -> Result<(Output, u8)> {
    let out = match cmd {
        BackupsCmd::List {
            client,
            files,
            images,
        } => list(ctx, client, *files, *images).await?,
        BackupsCmd::Browse {
            client,
            backup,
            path,
        } => browse(ctx, client, backup, path).await?,
        BackupsCmd::Versions { client, path } => versions(ctx, client, path).await?,
        BackupsCmd::Download {
            client,
            backup,
            path,
            out,
            zip,
        } => {
            let c = client_by_name(ctx, client).await?;
            let r = resolve_backup(ctx, c.id, backup).await?;
            let (kind, id) = match r {
                BackupRef::File(id) => ("file", id),
                BackupRef::Image(id) => ("image", id),
            };
            let mut progress = DownloadProgress::new(
                ctx.style.stderr_tty,
                path,
                &format!(
                    "downloading {path}{} from {kind} backup {id} of `{client}` to {}",
                    if *zip { " as a ZIP file" } else { "" },
                    out.display()
                ),
            );
            let started = Instant::now();
            let update = |done, total| progress.update(done, total);
            let res = if *zip {
                ctx.server
                    .download_folder_zip_with_progress(c.id, r, path, out, update)
                    .await
            } else {
                ctx.server
                    .download_file_with_progress(c.id, r, path, out, update)
                    .await
            };
            let bytes = match res {
                Ok(bytes) => bytes,
                Err(e) => {
                    progress.abandon();
                    return Err(download_error(e, path));
                }
            };
            if bytes == 0 && !*zip && is_folder(ctx, c.id, r, path).await {
                progress.abandon();
                let _ = std::fs::remove_file(out);
                bail!("`{path}` is a folder: download it with --zip");
            }
            progress.finish(bytes);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            Output::done(
                format!(
                    "wrote {} to {} ({}, {}/s)",
                    path,
                    out.display(),
                    human_bytes(bytes),
                    human_bytes((bytes as f64 / secs) as u64)
                ),
                json!({"client": client, "backup_id": r.wire_id().abs(), "image": matches!(r, BackupRef::Image(_)), "path": path, "file": out, "bytes": bytes, "zip": zip}),
            )
        }
        BackupsCmd::Restore {
            client,
            backup,
            path,
            wait,
            interval,
            max_wait,
        } => {
            let max_wait = max_wait.map(|s| Duration::from_secs(s.max(0) as u64));
            return restore(ctx, client, backup, path, *wait, *interval, max_wait).await;
        }
        BackupsCmd::Archive { client, backup } => op(ctx, client, backup, Op::Archive).await?,
        BackupsCmd::Unarchive { client, backup } => op(ctx, client, backup, Op::Unarchive).await?,
        BackupsCmd::Delete {
            client,
            backup,
            cancel,
        } => {
            op(
                ctx,
                client,
                backup,
                if *cancel { Op::Undelete } else { Op::Delete },
            )
            .await?
        }
    };
    Ok((out, 0))
}

fn backup_row(b: &BackupEntry) -> Vec<Cell> {
    vec![
        Cell::text(if b.image {
            format!("image:{}", b.id)
        } else {
            b.id.to_string()
        }),
        Cell::from(if b.image { "image" } else { "file" }),
        Cell::from(if b.incremental > 0 { "incr" } else { "full" }),
        Cell::Time(b.backuptime),
        Cell::Bytes(b.size_bytes),
        b.letter.clone().map(Cell::text).unwrap_or(Cell::Null),
        Cell::Bool(b.archived),
        Cell::Bool(b.delete_pending),
        Cell::Int(b.id),
        Cell::Int(b.incremental),
    ]
}

/// `backups list`.
pub async fn list(ctx: &Ctx, client: &str, files: bool, images: bool) -> Result<Output> {
    let c = client_by_name(ctx, client).await?;
    let all = ctx.server.client_backups(c.id).await?;
    let mut t = Table::new(&[
        ("ref", "BACKUP"),
        ("kind", "KIND"),
        ("type", "TYPE"),
        ("time", "AGE"),
        ("size_bytes", "SIZE"),
        ("volume", "VOLUME"),
        ("archived", "ARCHIVED"),
        ("delete_pending", "DELETING"),
    ])
    .hidden("id")
    .hidden("incremental");
    let mut rows: Vec<&BackupEntry> = Vec::new();
    if !images {
        rows.extend(all.file_backups.iter());
    }
    if !files {
        rows.extend(all.image_backups.iter());
    }
    rows.sort_by_key(|b| std::cmp::Reverse((b.backuptime, b.id)));
    for b in rows {
        t.push(backup_row(b));
    }
    Ok(Output::Table(t))
}

async fn browse(ctx: &Ctx, client: &str, backup: &str, path: &str) -> Result<Output> {
    let c = client_by_name(ctx, client).await?;
    let r = resolve_backup(ctx, c.id, backup).await?;
    let listing = ctx.server.browse_backup(c.id, r, path).await?;
    if listing.files.is_empty() {
        // The server lists a path that does not exist as an empty folder (and a file as a
        // listing of that file): ask the parent whether it is there.
        let trimmed = path.trim_matches('/');
        if !trimmed.is_empty() {
            let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
            let above = ctx.server.browse_backup(c.id, r, parent).await?;
            let what = match r {
                BackupRef::File(id) => format!("file backup {id}"),
                BackupRef::Image(id) => format!("image backup {id}"),
            };
            if !above.files.iter().any(|f| f.name == name) {
                bail!("no `{trimmed}` in {what} of `{client}`");
            }
        }
    }
    let mut t = Table::new(&[
        ("name", "NAME"),
        ("dir", "DIR"),
        ("size_bytes", "SIZE"),
        ("modified", "MODIFIED"),
    ]);
    for f in &listing.files {
        t.push(vec![
            Cell::from(&f.name),
            Cell::Bool(f.dir),
            if f.dir {
                Cell::Null
            } else {
                Cell::Bytes(f.size)
            },
            Cell::Time(f.mod_time),
        ]);
    }
    Ok(Output::Table(t))
}

/// `backups versions`: one row per file backup holding the file, newest first.
async fn versions(ctx: &Ctx, client: &str, path: &str) -> Result<Output> {
    let c = client_by_name(ctx, client).await?;
    let v = ctx.server.file_versions(c.id, path).await?;
    if v.versions.is_empty() {
        bail!(
            "none of the {} file backups of `{client}` holds the file `{}`",
            v.backups,
            v.path
        );
    }
    let mut t = Table::new(&[
        ("backup_id", "BACKUP"),
        ("time", "AGE"),
        ("size_bytes", "SIZE"),
        ("modified", "MODIFIED"),
        ("changed", "CHANGED"),
    ])
    .hidden("sha");
    for x in &v.versions {
        t.push(vec![
            Cell::Int(x.backupid),
            Cell::Time(x.backuptime),
            Cell::Bytes(x.entry.size),
            Cell::Date(x.entry.mod_time),
            Cell::Bool(x.changed),
            x.entry
                .shahash
                .clone()
                .map(Cell::text)
                .unwrap_or(Cell::Null),
        ]);
    }
    Ok(Output::Table(t))
}

#[derive(Clone, Copy)]
enum Op {
    Archive,
    Unarchive,
    Delete,
    Undelete,
}

async fn op(ctx: &Ctx, client: &str, backup: &str, op: Op) -> Result<Output> {
    let c = client_by_name(ctx, client).await?;
    let r = resolve_backup(ctx, c.id, backup).await?;
    let (verb, res) = match op {
        Op::Archive => ("archived", ctx.server.archive_backup(c.id, r).await),
        Op::Unarchive => ("un-archived", ctx.server.unarchive_backup(c.id, r).await),
        Op::Delete => (
            "marked for deletion",
            ctx.server.delete_backup(c.id, r).await,
        ),
        Op::Undelete => (
            "no longer marked for deletion",
            ctx.server.cancel_backup_deletion(c.id, r).await,
        ),
    };
    res?;
    let (kind, id) = match r {
        BackupRef::File(id) => ("file", id),
        BackupRef::Image(id) => ("image", id),
    };
    Ok(Output::done(
        format!("{kind} backup {id} of `{client}` {verb}"),
        json!({"client": client, "kind": kind, "backup_id": id, "result": verb}),
    ))
}

async fn restore(
    ctx: &Ctx,
    client: &str,
    backup: &str,
    path: &str,
    wait: bool,
    interval: f64,
    max_wait: Option<Duration>,
) -> Result<(Output, u8)> {
    if !(interval > 0.0 && interval.is_finite()) {
        bail!("--interval must be a positive number of seconds");
    }
    let c = client_by_name(ctx, client).await?;
    let id = match resolve_backup(ctx, c.id, backup).await? {
        BackupRef::File(id) => id,
        BackupRef::Image(_) => {
            bail!("image backups cannot be restored from here: use the restore CD or the web interface")
        }
    };
    if !c.online {
        bail!("client `{client}` is offline: a restore needs a connected client");
    }
    let started = ctx.server.restore_files(c.id, id, path, None).await?;
    let confirm_note = format!(
        "a person at `{client}` must confirm the restore there (its client does not let the \
         server confirm restores: `urbackupclientbackend --restore server-confirms` would)"
    );
    if !wait {
        let mut text = format!("restore of {path} from backup {id} to `{client}` started");
        if started.needs_client_confirmation {
            text.push_str(&format!("; {confirm_note}"));
        }
        return Ok((
            Output::done(
                text,
                json!({"client": client, "backup_id": id, "path": path, "result": "started",
                       "needs_client_confirmation": started.needs_client_confirmation}),
            ),
            0,
        ));
    }
    let mut view = ProgressView::new(ctx.style.stderr_tty, false);
    view.println(&format!(
        "restoring {path} from backup {id} to `{client}`..."
    ));
    let mut told = false;
    let outcome = ctx
        .server
        .wait_for_restore_outcome(
            &started,
            Duration::from_secs_f64(interval),
            max_wait,
            |phase, item| {
                if phase == RestorePhase::Queued && started.needs_client_confirmation && !told {
                    view.println(&format!("waiting: {confirm_note}"));
                    told = true;
                }
                view.update(&item.into_iter().collect::<Vec<_>>());
            },
        )
        .await?;
    view.finish();
    let base = json!({"client": client, "backup_id": id, "path": path});
    let with = |mut v: serde_json::Value, extra: serde_json::Value| {
        if let (Some(m), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
            m.extend(e);
        }
        v
    };
    Ok(match outcome {
        Some(o) if o.succeeded() => (
            Output::done(
                format!(
                    "restored {path} from backup {id} to `{client}` in {}",
                    crate::output::human_duration(o.elapsed.as_secs() as i64)
                ),
                with(
                    base,
                    json!({"result": "ok", "log_id": o.log.id, "warnings": o.log.warnings,
                           "duration_seconds": o.elapsed.as_secs()}),
                ),
            ),
            0,
        ),
        Some(o) => {
            let errors: Vec<&str> = o.errors().map(|l| l.message.as_str()).collect();
            let why = if errors.is_empty() {
                format!("{} error(s) in its log", o.log.errors)
            } else {
                errors.join("; ")
            };
            (
                Output::done(
                    format!(
                        "restore of {path} to `{client}` failed: {why} (log {}: `urbackup logs show {}`)",
                        o.log.id, o.log.id
                    ),
                    with(
                        base,
                        json!({"result": "failed", "log_id": o.log.id, "errors": errors,
                               "error_count": o.log.errors}),
                    ),
                ),
                1,
            )
        }
        None => (
            Output::done(
                format!(
                    "restore of {path} to `{client}` has not ended after {}s{}",
                    max_wait.map(|d| d.as_secs()).unwrap_or_default(),
                    if started.needs_client_confirmation {
                        format!("; {confirm_note}")
                    } else {
                        String::new()
                    }
                ),
                with(base, json!({"result": "timeout"})),
            ),
            1,
        ),
    })
}

/// The server refuses missing paths as `path_dl_access_denied`: say so.
fn download_error(e: urbackup::UrbackupError, path: &str) -> anyhow::Error {
    match &e {
        urbackup::UrbackupError::AccessDenied {
            detail: Some(d), ..
        } if d.contains("path_dl_access_denied") => {
            anyhow::anyhow!("cannot download `{path}`: no such file in the backup, or no right to download it ({e})")
        }
        _ => e.into(),
    }
}

/// True when `path` is a folder of the backup (one `backups sa=files` request on its parent).
async fn is_folder(ctx: &Ctx, clientid: i64, r: BackupRef, path: &str) -> bool {
    let trimmed = path.trim_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    match ctx.server.browse_backup(clientid, r, parent).await {
        Ok(l) => l
            .files
            .iter()
            .any(|f| f.dir && urbackup::text::same_name(&f.name, name)),
        Err(_) => false,
    }
}

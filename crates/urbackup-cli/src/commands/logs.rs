//! `logs list|show|tail`.

use super::{client_by_name, Ctx};
use crate::cli::{Level, LogsCmd};
use crate::output::{iso_time, Cell, Output, Table};
use anyhow::{anyhow, Result};
use std::io::Write;
use urbackup::{LogEntry, LogFilter, LogLevel};

/// `logs ...`.
pub async fn run(ctx: &Ctx, cmd: &LogsCmd) -> Result<Output> {
    match cmd {
        LogsCmd::List { client, level } => list(ctx, client, *level).await,
        LogsCmd::Show { id } => {
            let log = ctx
                .server
                .get_log(*id)
                .await?
                .ok_or_else(|| anyhow!("no log {id} (or no right to read it)"))?;
            let mut t = Table::new(&[("time", "TIME"), ("level", "LEVEL"), ("message", "MESSAGE")])
                .hidden("log_id")
                .hidden("client");
            for l in &log.lines {
                t.push(vec![
                    Cell::Date(l.time),
                    Cell::from(l.level.as_str()),
                    Cell::from(&l.message),
                    Cell::Int(log.id),
                    Cell::from(&log.clientname),
                ]);
            }
            Ok(Output::Table(t))
        }
        LogsCmd::Tail { client, follow } => tail(ctx, client.as_deref(), *follow).await,
    }
}

/// `logs list`.
pub async fn list(ctx: &Ctx, clients: &[String], level: Level) -> Result<Output> {
    let mut ids = Vec::new();
    for c in clients {
        ids.push(client_by_name(ctx, c).await?.id);
    }
    let mut filter = LogFilter {
        clientids: ids,
        min_level: Some(match level {
            Level::Error => LogLevel::Error,
            Level::Warning => LogLevel::Warning,
            Level::Info => LogLevel::Info,
        }),
    };
    let logs = ctx.server.get_logs(&filter).await?;
    // Nothing at this level: say what the level left out (one more request).
    let mut empty = None;
    if logs.is_empty() && level != Level::Info {
        filter.min_level = Some(LogLevel::Info);
        let all = ctx.server.get_logs(&filter).await?.len();
        let what = match level {
            Level::Error => "errors",
            _ => "warnings or errors",
        };
        let of = if clients.is_empty() {
            String::new()
        } else {
            format!(" of {}", clients.join(", "))
        };
        empty = Some(match all {
            0 => format!("no logs{of}"),
            // The server lists at most the newest 50.
            50.. => format!("no {what} in the newest {all} logs{of}; --level info shows all"),
            1 => format!("no {what} in the 1 log{of}; --level info shows it"),
            n => format!("no {what} in {n} logs{of}; --level info shows all"),
        });
    }
    let mut t = Table::new(&[
        ("id", "ID"),
        ("client", "CLIENT"),
        ("time", "AGE"),
        ("kind", "KIND"),
        ("errors", "ERRORS"),
        ("warnings", "WARNINGS"),
    ])
    .hidden("image")
    .hidden("incremental")
    .hidden("resumed")
    .hidden("restore");
    if let Some(note) = empty {
        t = t.when_empty(note);
    }
    for l in &logs {
        let kind = if l.restore {
            "restore".to_owned()
        } else {
            format!(
                "{}{} {}",
                if l.resumed { "resumed " } else { "" },
                if l.incremental { "incr" } else { "full" },
                if l.image { "image" } else { "file" }
            )
        };
        t.push(vec![
            Cell::Int(l.id),
            Cell::from(&l.name),
            Cell::Time(l.time),
            Cell::text(kind),
            Cell::Int(l.errors),
            Cell::Int(l.warnings),
            Cell::Bool(l.image),
            Cell::Bool(l.incremental),
            Cell::Bool(l.resumed),
            Cell::Bool(l.restore),
        ]);
    }
    Ok(Output::Table(t))
}

fn entry_line(e: &LogEntry, json: bool) -> String {
    if json {
        serde_json::json!({"id": e.id, "time": e.time, "level": e.level.as_str(), "message": e.message})
            .to_string()
    } else {
        format!(
            "{}  {:<7}  {}",
            iso_time(e.time),
            e.level.as_str(),
            e.message
        )
    }
}

async fn tail(ctx: &Ctx, client: Option<&str>, follow: bool) -> Result<Output> {
    let clientid = match client {
        Some(name) => client_by_name(ctx, name).await?.id,
        None => 0,
    };
    let first = ctx.server.livelog(clientid, None, None).await?;
    if !follow {
        let mut t = Table::new(&[("time", "TIME"), ("level", "LEVEL"), ("message", "MESSAGE")])
            .hidden("id");
        for e in &first {
            t.push(vec![
                Cell::Date(e.time),
                Cell::from(e.level.as_str()),
                Cell::from(&e.message),
                Cell::Int(e.id),
            ]);
        }
        return Ok(Output::Table(t));
    }
    // Following: one line per entry (JSON: one object per line), until interrupted.
    let json = ctx.style.format == crate::output::Format::Json;
    let mut lastid = first.iter().map(|e| e.id).max().unwrap_or(-1);
    {
        let mut out = std::io::stdout().lock();
        for e in &first {
            writeln!(out, "{}", entry_line(e, json))?;
        }
        out.flush()?;
    }
    loop {
        // The server holds this request up to 10 s until there is a line after `lastid`.
        let new = ctx.server.livelog(clientid, Some(lastid), None).await?;
        let mut out = std::io::stdout().lock();
        for e in &new {
            writeln!(out, "{}", entry_line(e, json))?;
        }
        out.flush()?;
        if let Some(m) = new.iter().map(|e| e.id).max() {
            lastid = m;
        }
    }
}

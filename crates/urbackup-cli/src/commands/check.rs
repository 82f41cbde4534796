//! `check`: a Nagios/Icinga/Checkmk plugin.
//!
//! One `status` request (after the login) gives everything: the server's own verdict per
//! client (`file_ok`, `image_ok`, disabled kinds are not failures), last backup times and
//! online state. Prints one line, `URBACKUP STATE - summary | perfdata`, and exits 0 OK,
//! 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

use super::status::{file_flag, image_flag};
use super::Ctx;
use crate::cli::CheckArgs;
use crate::output::{human_duration, now, Flag};
use anyhow::{anyhow, Result};
use regex::Regex;
use urbackup::ClientStatus;

/// Plugin states, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// 0
    Ok,
    /// 1
    Warning,
    /// 2
    Critical,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
        }
    }
    fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
        }
    }
}

fn names(list: &[&ClientStatus]) -> String {
    let mut n: Vec<&str> = list.iter().take(5).map(|c| c.name.as_str()).collect();
    if list.len() > 5 {
        n.push("...");
    }
    n.join(", ")
}

fn count_state(n: usize, warn: Option<usize>, crit: Option<usize>) -> State {
    if crit.is_some_and(|c| n >= c && c > 0) {
        State::Critical
    } else if warn.is_some_and(|w| n >= w && w > 0) {
        State::Warning
    } else {
        State::Ok
    }
}

fn threshold(v: Option<usize>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn secs_threshold(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `check`: returns the exit code; errors are turned into UNKNOWN by `main`.
pub async fn run(ctx: &Ctx, a: &CheckArgs) -> Result<u8> {
    let include = a
        .client
        .as_deref()
        .map(Regex::new)
        .transpose()
        .map_err(|e| anyhow!("invalid --client pattern: {e}"))?;
    let exclude = a
        .exclude
        .as_deref()
        .map(Regex::new)
        .transpose()
        .map_err(|e| anyhow!("invalid --exclude pattern: {e}"))?;
    let report = ctx.server.status_report().await?;
    let clients: Vec<&ClientStatus> = report
        .status
        .iter()
        .filter(|c| !c.rejected)
        .filter(|c| include.as_ref().is_none_or(|r| r.is_match(&c.name)))
        .filter(|c| exclude.as_ref().is_none_or(|r| !r.is_match(&c.name)))
        .collect();
    if clients.is_empty() {
        println!(
            "URBACKUP UNKNOWN - no clients{}",
            if a.client.is_some() || a.exclude.is_some() {
                " match the filter"
            } else {
                " on the server"
            }
        );
        return Ok(3);
    }
    let now = now();
    let age = |t: i64| if t <= 0 { i64::MAX } else { (now - t).max(0) };
    let file_on = |c: &&ClientStatus| file_flag(c, Some(&report)) != Flag::Disabled;
    let image_on = |c: &&ClientStatus| {
        !a.ignore_images && matches!(image_flag(c, Some(&report)), Flag::Ok | Flag::Failed)
    };

    let failed: Vec<&ClientStatus> = clients
        .iter()
        .copied()
        .filter(|c| {
            file_flag(c, Some(&report)) == Flag::Failed
                || (!a.ignore_images && image_flag(c, Some(&report)) == Flag::Failed)
        })
        .collect();
    let offline: Vec<&ClientStatus> = clients.iter().copied().filter(|c| !c.online).collect();
    let (fw, fc) = if a.failed_warning.is_none() && a.failed_critical.is_none() {
        (None, Some(1))
    } else {
        (a.failed_warning, a.failed_critical)
    };

    let mut state = State::Ok;
    let mut problems: Vec<String> = Vec::new();
    let s = count_state(failed.len(), fw, fc);
    if s > State::Ok {
        problems.push(format!("{} failed ({})", failed.len(), names(&failed)));
    }
    state = state.max(s);
    let s = count_state(offline.len(), a.offline_warning, a.offline_critical);
    if s > State::Ok {
        problems.push(format!("{} offline ({})", offline.len(), names(&offline)));
    }
    state = state.max(s);

    // Ages: (kind, enabled clients, time of a client, warning, critical).
    type Kind<'a> = (
        &'a str,
        Vec<&'a ClientStatus>,
        fn(&ClientStatus) -> i64,
        Option<i64>,
        Option<i64>,
    );
    let kinds: [Kind; 2] = [
        (
            "file",
            clients.iter().copied().filter(file_on).collect(),
            |c| c.lastbackup,
            a.file_warning,
            a.file_critical,
        ),
        (
            "image",
            clients.iter().copied().filter(image_on).collect(),
            |c| c.lastbackup_image,
            a.image_warning,
            a.image_critical,
        ),
    ];
    let mut perf: Vec<String> = vec![
        format!("clients={}", clients.len()),
        format!(
            "failed={};{};{};0;{}",
            failed.len(),
            threshold(fw),
            threshold(fc),
            clients.len()
        ),
        format!(
            "offline={};{};{};0;{}",
            offline.len(),
            threshold(a.offline_warning),
            threshold(a.offline_critical),
            clients.len()
        ),
    ];
    let mut oldest_notes = Vec::new();
    for (kind, list, time, warn, crit) in &kinds {
        let crit_list: Vec<&ClientStatus> = list
            .iter()
            .copied()
            .filter(|c| crit.is_some_and(|l| age(time(c)) > l))
            .collect();
        let warn_list: Vec<&ClientStatus> = list
            .iter()
            .copied()
            .filter(|c| {
                warn.is_some_and(|l| age(time(c)) > l) && !crit_list.iter().any(|x| x.id == c.id)
            })
            .collect();
        if !crit_list.is_empty() {
            state = state.max(State::Critical);
            problems.push(format!(
                "{} with {kind} backup older than {} ({})",
                crit_list.len(),
                human_duration(crit.unwrap_or(0)),
                names(&crit_list)
            ));
        }
        if !warn_list.is_empty() {
            state = state.max(State::Warning);
            problems.push(format!(
                "{} with {kind} backup older than {} ({})",
                warn_list.len(),
                human_duration(warn.unwrap_or(0)),
                names(&warn_list)
            ));
        }
        let oldest = list.iter().max_by_key(|c| age(time(c)));
        if let Some(c) = oldest {
            let t = time(c);
            if t <= 0 {
                oldest_notes.push(format!("{} never had a {kind} backup", c.name));
            } else if warn.is_some() || crit.is_some() {
                oldest_notes.push(format!(
                    "oldest {kind} backup {} ({})",
                    human_duration(age(t)),
                    c.name
                ));
            }
            if t > 0 {
                perf.push(format!(
                    "oldest_{kind}_backup_age={}s;{};{};0;",
                    age(t),
                    secs_threshold(*warn),
                    secs_threshold(*crit)
                ));
            }
        }
        perf.push(format!(
            "{kind}_stale={};;;0;{}",
            crit_list.len() + warn_list.len(),
            list.len()
        ));
    }

    let summary = if problems.is_empty() {
        let mut s = format!(
            "{}, {} failed, {} offline",
            plural(clients.len(), "client"),
            failed.len(),
            offline.len()
        );
        if !oldest_notes.is_empty() {
            s.push_str(", ");
            s.push_str(&oldest_notes.join(", "));
        }
        s
    } else {
        format!(
            "{}: {}",
            plural(clients.len(), "client"),
            problems.join("; ")
        )
    };
    println!(
        "URBACKUP {} - {} | {}",
        state.word(),
        summary.replace('|', "/"),
        perf.join(" ")
    );
    Ok(state.code())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

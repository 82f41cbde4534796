//! `check`: a Nagios/Icinga plugin, or Checkmk local checks.
//!
//! One `status` request (after the login) gives everything; each client is judged by the
//! library's health rule ([`urbackup::health`]): disabled and unsupported kinds are never
//! failures, a client that never had a backup is "never", not stale. `--format nagios` prints
//! one line, `URBACKUP STATE - summary | perfdata`; `--format checkmk` one local-check line per
//! client (optionally in a piggyback section per client host) plus one for the server. Exit
//! 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

use super::Ctx;
use crate::cli::{CheckArgs, CheckFormat};
use crate::output::{human_duration, now};
use anyhow::{anyhow, Result};
use regex::Regex;
use urbackup::{BackupKind, BackupState, ClientHealth, HealthPolicy, Severity};

fn word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "OK",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
    }
}

fn names(list: &[&ClientHealth]) -> String {
    let mut n: Vec<&str> = list.iter().take(5).map(|c| c.name.as_str()).collect();
    if list.len() > 5 {
        n.push("...");
    }
    n.join(", ")
}

fn count_state(n: usize, warn: Option<usize>, crit: Option<usize>) -> Severity {
    if crit.is_some_and(|c| n >= c && c > 0) {
        Severity::Critical
    } else if warn.is_some_and(|w| n >= w && w > 0) {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Judges the clients of one server (filtered by the patterns; `ignore_images` leaves image
/// backups out of every verdict).
pub fn judge(
    report: &urbackup::StatusReport,
    policy: &HealthPolicy,
    include: Option<&Regex>,
    exclude: Option<&Regex>,
    ignore_images: bool,
    now: i64,
) -> Vec<ClientHealth> {
    policy
        .fleet(report, now)
        .into_iter()
        .filter(|c| include.is_none_or(|r| r.is_match(&c.name)))
        .filter(|c| exclude.is_none_or(|r| !r.is_match(&c.name)))
        .map(|mut c| {
            if ignore_images {
                c.image.severity = Severity::Ok;
                if !c.image.state.is_off() {
                    c.image.state = BackupState::Disabled;
                }
            }
            c
        })
        .collect()
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
    let policy = a.health.policy();
    let now = now();
    let clients = judge(
        &report,
        &policy,
        include.as_ref(),
        exclude.as_ref(),
        a.ignore_images,
        now,
    );
    if clients.is_empty() {
        let why = if a.client.is_some() || a.exclude.is_some() {
            " match the filter"
        } else {
            " on the server"
        };
        match a.format {
            CheckFormat::Nagios => println!("URBACKUP UNKNOWN - no clients{why}"),
            CheckFormat::Checkmk => println!("3 \"UrBackup\" - no clients{why}"),
        }
        return Ok(3);
    }
    let (state, summary, perf) = summary(&clients, a, &policy);
    match a.format {
        CheckFormat::Nagios => {
            println!(
                "URBACKUP {} - {} | {}",
                word(state),
                summary.replace('|', "/"),
                perf.join(" ")
            );
        }
        CheckFormat::Checkmk => {
            print!("{}", checkmk(&clients, state, &summary, &perf, a, &policy));
        }
    }
    Ok(state.code())
}

/// The state, the text and the Nagios perfdata of the whole server.
fn summary(
    clients: &[ClientHealth],
    a: &CheckArgs,
    policy: &HealthPolicy,
) -> (Severity, String, Vec<String>) {
    let failed: Vec<&ClientHealth> = clients.iter().filter(|c| c.failed()).collect();
    let never: Vec<&ClientHealth> = clients.iter().filter(|c| c.never()).collect();
    let offline: Vec<&ClientHealth> = clients.iter().filter(|c| !c.online).collect();
    let outdated: Vec<&ClientHealth> = clients.iter().filter(|c| c.outdated).collect();
    let (fw, fc) = if a.failed_warning.is_none() && a.failed_critical.is_none() {
        (None, Some(1))
    } else {
        (a.failed_warning, a.failed_critical)
    };
    let mut state = Severity::Ok;
    let mut problems: Vec<String> = Vec::new();
    let s = count_state(failed.len(), fw, fc);
    if s > Severity::Ok {
        problems.push(format!("{} failed ({})", failed.len(), names(&failed)));
    }
    state = state.max(s);
    let never_sev = never
        .iter()
        .map(|c| {
            let k = |k: &urbackup::KindHealth| {
                if k.state == BackupState::Never {
                    k.severity
                } else {
                    Severity::Ok
                }
            };
            k(&c.file).max(k(&c.image))
        })
        .max()
        .unwrap_or(Severity::Ok);
    if never_sev > Severity::Ok {
        problems.push(format!(
            "{} never backed up ({})",
            never.len(),
            names(&never)
        ));
    }
    state = state.max(never_sev);
    let s = count_state(offline.len(), a.offline_warning, a.offline_critical);
    if s > Severity::Ok {
        problems.push(format!("{} offline ({})", offline.len(), names(&offline)));
    }
    state = state.max(s);

    let h = &a.health;
    let mut perf: Vec<String> = vec![
        format!("clients={}", clients.len()),
        format!(
            "failed={};{};{};0;{}",
            failed.len(),
            opt(fw),
            opt(fc),
            clients.len()
        ),
        format!(
            "offline={};{};{};0;{}",
            offline.len(),
            opt(a.offline_warning),
            opt(a.offline_critical),
            clients.len()
        ),
        format!("never={};;;0;{}", never.len(), clients.len()),
    ];
    if policy.server_version.is_some() {
        perf.push(format!("outdated={};;;0;{}", outdated.len(), clients.len()));
    }
    let mut notes = Vec::new();
    for (kind, warn, crit) in [
        (BackupKind::File, h.file_warning, h.file_critical),
        (BackupKind::Image, h.image_warning, h.image_critical),
    ] {
        let name = kind.as_str();
        let on: Vec<&ClientHealth> = clients
            .iter()
            .filter(|c| !c.kind(kind).state.is_off())
            .collect();
        let stale = |sev: Severity| -> Vec<&ClientHealth> {
            on.iter()
                .copied()
                .filter(|c| {
                    let k = c.kind(kind);
                    k.state == BackupState::Stale && k.severity == sev
                })
                .collect()
        };
        let (crit_list, warn_list) = (stale(Severity::Critical), stale(Severity::Warning));
        for (list, sev, limit) in [
            (&crit_list, Severity::Critical, crit),
            (&warn_list, Severity::Warning, warn),
        ] {
            if !list.is_empty() {
                state = state.max(sev);
                problems.push(format!(
                    "{} with {name} backup older than {} ({})",
                    list.len(),
                    human_duration(limit.unwrap_or(0)),
                    names(list)
                ));
            }
        }
        let oldest = on
            .iter()
            .filter_map(|c| c.kind(kind).age_secs.map(|a| (a, *c)))
            .max_by_key(|(a, _)| *a);
        if let Some((age, c)) = oldest {
            if warn.is_some() || crit.is_some() {
                notes.push(format!(
                    "oldest {name} backup {} ({})",
                    human_duration(age),
                    c.name
                ));
            }
            perf.push(format!(
                "oldest_{name}_backup_age={age}s;{};{};0;",
                opt(warn),
                opt(crit)
            ));
        }
        perf.push(format!(
            "{name}_stale={};;;0;{}",
            crit_list.len() + warn_list.len(),
            on.len()
        ));
    }
    let summary = if problems.is_empty() {
        let mut s = format!(
            "{}, {} failed, {} offline",
            plural(clients.len(), "client"),
            failed.len(),
            offline.len()
        );
        if !notes.is_empty() {
            s.push_str(", ");
            s.push_str(&notes.join(", "));
        }
        if !outdated.is_empty() {
            s.push_str(&format!(
                ", {} outdated ({})",
                outdated.len(),
                names(&outdated)
            ));
        }
        s
    } else {
        format!(
            "{}: {}",
            plural(clients.len(), "client"),
            problems.join("; ")
        )
    };
    (state, summary, perf)
}

/// One kind in words: `file stale (3d 2h)`, `image unsupported`.
pub fn kind_text(c: &ClientHealth, kind: BackupKind) -> String {
    let k = c.kind(kind);
    match (k.state, k.age_secs) {
        (BackupState::Ok | BackupState::Stale | BackupState::Failed, Some(age)) => format!(
            "{} {} (last {} ago)",
            kind.as_str(),
            k.state.as_str(),
            human_duration(age)
        ),
        (state, _) => format!("{} {}", kind.as_str(), state.as_str()),
    }
}

/// A Checkmk service name or text: no double quotes, no line breaks or other control
/// characters (they would end or split the line).
fn cmk_clean(s: &str) -> String {
    s.chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect()
}

/// A piggyback host name: Checkmk replaces what a host name cannot hold; keep it on one line
/// and without the section brackets.
fn cmk_host(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '<' || c == '>' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Checkmk local-check lines: `<status> "<service>" <perfdata> <text>`, one for the server
/// and one per client (perfdata `name=value;warn;crit;min;max` joined by `|`).
fn checkmk(
    clients: &[ClientHealth],
    state: Severity,
    summary: &str,
    perf: &[String],
    a: &CheckArgs,
    _policy: &HealthPolicy,
) -> String {
    let mut out = String::new();
    // The server's service: perfdata names without units (Checkmk takes `s` as seconds).
    out.push_str(&format!(
        "{} \"UrBackup\" {} {}\n",
        state.code(),
        perf.join("|"),
        cmk_clean(summary)
    ));
    let h = &a.health;
    for c in clients {
        let sev = c.severity();
        let mut perfs = Vec::new();
        for (kind, warn, crit) in [
            (BackupKind::File, h.file_warning, h.file_critical),
            (BackupKind::Image, h.image_warning, h.image_critical),
        ] {
            if let Some(age) = c.kind(kind).age_secs {
                if !c.kind(kind).state.is_off() {
                    perfs.push(format!(
                        "{}_backup_age={age};{};{};0;",
                        kind.as_str(),
                        opt(warn),
                        opt(crit)
                    ));
                }
            }
        }
        perfs.push(format!("file_issues={}", c.file_issues));
        let mut text = format!(
            "{}, {}, {}",
            kind_text(c, BackupKind::File),
            kind_text(c, BackupKind::Image),
            if c.online { "online" } else { "offline" }
        );
        if c.outdated {
            text.push_str(&format!(", client version {} outdated", c.version));
        }
        let line = format!(
            "{} \"UrBackup {}\" {} {}\n",
            sev.code(),
            cmk_clean(&c.name),
            perfs.join("|"),
            cmk_clean(&text)
        );
        if a.piggyback {
            out.push_str(&format!(
                "<<<<{}>>>>\n<<<local:sep(0)>>>\n{line}<<<<>>>>\n",
                cmk_host(&c.name)
            ));
        } else {
            out.push_str(&line);
        }
    }
    if a.piggyback {
        // Back in the agent's own local section.
        out.push_str("<<<local:sep(0)>>>\n");
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkmk_names_stay_on_one_line() {
        assert_eq!(cmk_clean("a\"b\nc\r"), "a_b_c_");
        assert_eq!(cmk_host("x>>>>\ny z"), "x_____y_z");
    }
}

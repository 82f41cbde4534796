//! Compliance: for each client and backup kind, the share of the last 7, 30 and 90 days
//! during which it met its recovery point objective (RPO).
//!
//! **The rule.** A kind is compliant at a moment `t` when its newest *good* backup (one the
//! server lists: failed attempts are never listed) started less than the RPO before `t`,
//! and no attempt has failed since that backup. A failed attempt is
//!
//! * a poll at which the server's verdict on the kind is not OK (the health rule's
//!   `failed`): from that poll, or
//! * a backup log with errors whose backup did not succeed (no "Backup succeeded" or "Backup
//!   completed with issues" line): from the log's time,
//!
//! and it lasts until the next good backup starts. So a client that the overview shows as
//! failed is never at 100% for a window in which it was failed: the time since the console
//! saw the failure (at least the last second) is out of compliance.
//!
//! Worked example (RPO 26 h; the console first saw the client on day 0 at 08:00; now is day
//! 3 at 08:00): good backups start on day 0 and day 1 at 08:00; the attempt of day 2 fails,
//! its log (with "Backup failed") ends at 08:30; the next good backup starts on day 2 at 20:00.
//! The backups cover day 0 08:00 to day 2 10:00 (the second one's 26 h) and day 2 20:00
//! onwards; the failure takes day 2 08:30 to 20:00 out. Compliant: 48.5 h + 12 h = 60.5 h of
//! the 72 h the console has seen: the 7-day figure is 84.0% "of 3 days seen", and marked as
//! seen for less than half of its window (the test `the_worked_example` checks these numbers).
//!
//! **What the console can account for.** The window starts at `now - days`, or later when the
//! console cannot know earlier: at the first sign of the client (when the console first saw
//! it, or its oldest backup it has seen, whichever is older). Each share says how many seconds
//! of its window that is ([`Share::total`] of [`Share::window`]); a page shows it ("92% of 9
//! days seen") and marks a window seen for less than half. The backups are those the console
//! has recorded (kept after the server deletes them) and the client's last backup in the
//! current `status`. A kind switched off or not supported (image backups of a Linux client)
//! has no RPO: it is left out, never counted as a failure.

use crate::store::BackupTimes;
use urbackup::{BackupKind, BackupState, HealthPolicy};
use urbackup_fleet::FleetSnapshot;

/// The windows, in days.
pub const WINDOWS: [i64; 3] = [7, 30, 90];

/// The RPO of file backups when neither `--file-warning` nor `--file-critical` is given:
/// a day, plus two hours of slack for a backup that takes time to start.
pub const DEFAULT_FILE_RPO: i64 = 26 * 3600;
/// The RPO of image backups by default: a week and a day.
pub const DEFAULT_IMAGE_RPO: i64 = 8 * 86_400;

/// The recovery point objectives, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rpo {
    /// File backups.
    pub file: i64,
    /// Image backups.
    pub image: i64,
    /// Whether they come from the health thresholds (else the defaults).
    pub from_policy: (bool, bool),
}

impl Rpo {
    /// The same thresholds as `check` and `report`: a kind's warning age (when a backup
    /// older than that is stale), else its critical age, else the default.
    pub fn from_policy(p: &HealthPolicy) -> Rpo {
        let file = p.file_warning.or(p.file_critical);
        let image = p.image_warning.or(p.image_critical);
        Rpo {
            file: file.unwrap_or(DEFAULT_FILE_RPO),
            image: image.unwrap_or(DEFAULT_IMAGE_RPO),
            from_policy: (file.is_some(), image.is_some()),
        }
    }

    /// The RPO of a kind.
    pub fn of(&self, kind: BackupKind) -> i64 {
        match kind {
            BackupKind::File => self.file,
            BackupKind::Image => self.image,
        }
    }
}

/// Compliant and accountable seconds of one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Share {
    /// Seconds during which the kind met its RPO (see the module's rule).
    pub compliant: i64,
    /// Seconds of the window the console can account for.
    pub total: i64,
    /// Seconds of the whole window (summed over the kinds of a rollup).
    pub window: i64,
}

impl Share {
    /// The share, `None` when nothing is accountable.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.compliant as f64 / self.total as f64)
    }

    /// The part of the window the console can account for (0 to 1).
    pub fn coverage(&self) -> f64 {
        if self.window > 0 {
            (self.total as f64 / self.window as f64).min(1.0)
        } else {
            0.0
        }
    }

    /// The console has seen less than half of the window: its figure does not speak for the
    /// whole period.
    pub fn partial(&self) -> bool {
        self.total > 0 && self.total * 2 < self.window
    }

    fn add(&mut self, o: Share) {
        self.compliant += o.compliant;
        self.total += o.total;
        self.window += o.window;
    }
}

/// Sorted, merged half-open intervals.
fn merged(mut v: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    v.retain(|(a, b)| b > a);
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The seconds of `[start, end)` in the union of the sorted, merged intervals `v`.
fn measure(v: &[(i64, i64)], start: i64, end: i64) -> i64 {
    v.iter()
        .map(|&(a, b)| (b.min(end) - a.max(start)).max(0))
        .sum()
}

/// The seconds of `[start, end)` in `a` and in `b` (both sorted and merged).
fn measure_both(a: &[(i64, i64)], b: &[(i64, i64)], start: i64, end: i64) -> i64 {
    let (mut i, mut j, mut total) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0).max(start);
        let hi = a[i].1.min(b[j].1).min(end);
        total += (hi - lo).max(0);
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    total
}

/// The seconds of `[start, end)` covered by the union of `[b, b + rpo)` over the sorted
/// backup times `times` (no failed attempts).
pub fn covered(times: &[i64], rpo: i64, start: i64, end: i64) -> i64 {
    compliant(times, &[], rpo, start, end)
}

/// A failed attempt: `at` when it was seen (a poll, a log's time), `after` the newest good
/// backup it follows (a poll: the kind's last backup then; a log: its own time). It lasts from
/// `at` until the first good backup that starts after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failed {
    /// The good backup it follows (Unix time; a log: its own time).
    pub after: i64,
    /// When it was seen.
    pub at: i64,
}

/// The seconds of `[start, end)` during which the kind met its RPO: covered by some
/// `[b, b + rpo)` of the sorted good backups `good`, and not after a failed attempt that no
/// good backup has followed yet.
pub fn compliant(good: &[i64], failed: &[Failed], rpo: i64, start: i64, end: i64) -> i64 {
    let ok = merged(good.iter().map(|&b| (b, b.saturating_add(rpo))).collect());
    let bad = merged(
        failed
            .iter()
            .map(|f| {
                let next = good[good.partition_point(|&b| b <= f.after)..]
                    .first()
                    .copied()
                    .unwrap_or(i64::MAX);
                (f.at, next)
            })
            .collect(),
    );
    measure(&ok, start, end) - measure_both(&ok, &bad, start, end)
}

/// One kind of one client.
#[derive(Debug, Clone, PartialEq)]
pub struct KindCompliance {
    /// The kind.
    pub kind: BackupKind,
    /// One per window of [`WINDOWS`].
    pub shares: [Share; 3],
    /// The newest backup (0: none known).
    pub last_backup: i64,
}

/// One client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientCompliance {
    /// Server name.
    pub server: String,
    /// Client id.
    pub clientid: i64,
    /// Client name.
    pub name: String,
    /// The kinds that have an RPO (switched-off and unsupported kinds are left out).
    pub kinds: Vec<KindCompliance>,
}

impl ClientCompliance {
    /// The worst ratio of the 30-day window over its kinds (for sorting).
    pub fn worst(&self) -> f64 {
        self.kinds
            .iter()
            .filter_map(|k| k.shares[1].ratio())
            .fold(1.0, f64::min)
    }
}

/// Sums per kind and window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    /// File backups, one per window.
    pub file: [Share; 3],
    /// Image backups, one per window.
    pub image: [Share; 3],
}

impl Rollup {
    fn add(&mut self, k: &KindCompliance) {
        let sums = match k.kind {
            BackupKind::File => &mut self.file,
            BackupKind::Image => &mut self.image,
        };
        for (s, o) in sums.iter_mut().zip(k.shares) {
            s.add(o);
        }
    }

    /// Both kinds, one per window.
    pub fn all(&self) -> [Share; 3] {
        let mut out = self.file;
        for (s, o) in out.iter_mut().zip(self.image) {
            s.add(o);
        }
        out
    }
}

/// The whole computation.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every client of every readable server, worst first.
    pub clients: Vec<ClientCompliance>,
    /// Per server, in the fleet's order.
    pub servers: Vec<(String, Rollup)>,
    /// The fleet.
    pub fleet: Rollup,
}

/// What the console knows of one kind of one client.
#[derive(Debug, Clone, Default)]
pub struct KindFacts {
    /// Starts of its good backups the console knows (any order, any age).
    pub good: Vec<i64>,
    /// Its failed attempts (any order).
    pub failed: Vec<Failed>,
    /// When the console first saw the client.
    pub first_seen: i64,
    /// When the health state in the snapshot was read (`data_at` of its server).
    pub seen_at: i64,
}

/// One kind of one client at `now`: `health` its state in the last `status` read at
/// `facts.seen_at`. `None` for a kind switched off or unsupported (no RPO). A kind the health
/// rule finds failed counts as a failed attempt seen at `seen_at` (at the latest a second
/// before `now`), after its last backup: the compliance of a failed kind is never 100%.
pub fn kind_compliance(
    kind: BackupKind,
    health: &urbackup::KindHealth,
    facts: KindFacts,
    rpo: &Rpo,
    now: i64,
) -> Option<KindCompliance> {
    if health.state.is_off() {
        return None;
    }
    let KindFacts {
        good: mut times,
        mut failed,
        first_seen,
        seen_at,
    } = facts;
    times.extend(health.last_backup);
    times.sort_unstable();
    times.dedup();
    if health.state == BackupState::Failed {
        failed.push(Failed {
            after: health.last_backup.unwrap_or(0),
            at: seen_at.min(now - 1),
        });
    }
    let known_from = times.first().copied().unwrap_or(first_seen).min(first_seen);
    let r = rpo.of(kind);
    let mut shares = [Share::default(); 3];
    for (share, days) in shares.iter_mut().zip(WINDOWS) {
        let window = days * 86_400;
        let start = (now - window).max(known_from);
        *share = Share {
            window,
            ..Share::default()
        };
        if start < now {
            share.compliant = compliant(&times, &failed, r, start, now);
            share.total = now - start;
        }
    }
    Some(KindCompliance {
        kind,
        shares,
        last_backup: times.last().copied().unwrap_or(0),
    })
}

/// Computes compliance at `now` for the clients of `snapshot` (servers never read are left
/// out; an unreachable server's last known clients count, judged as last read).
pub fn compute(snapshot: &FleetSnapshot, known: &BackupTimes, rpo: &Rpo, now: i64) -> Report {
    let mut report = Report::default();
    for s in &snapshot.servers {
        let Some(data_at) = s.data_at else {
            continue;
        };
        let mut rollup = Rollup::default();
        for c in s.clients.iter() {
            let mut kinds = Vec::new();
            for kind in [BackupKind::File, BackupKind::Image] {
                let facts = known.facts(&s.name, c.id(), c.name(), kind, data_at);
                if let Some(k) = kind_compliance(kind, c.health.kind(kind), facts, rpo, now) {
                    rollup.add(&k);
                    report.fleet.add(&k);
                    kinds.push(k);
                }
            }
            report.clients.push(ClientCompliance {
                server: s.name.clone(),
                clientid: c.id(),
                name: c.name().to_owned(),
                kinds,
            });
        }
        report.servers.push((s.name.clone(), rollup));
    }
    report.clients.sort_by(|a, b| {
        a.worst()
            .total_cmp(&b.worst())
            .then_with(|| a.server.cmp(&b.server))
            .then_with(|| a.name.cmp(&b.name))
    });
    report
}

impl Report {
    /// The report of the clients of `fleet` only (a user's scoped view of the fleet): the
    /// clients outside it left out, the servers' and the fleet's sums recomputed from the
    /// clients that remain, so that no number counts anything outside the view.
    pub fn restricted_to(&self, fleet: &FleetSnapshot) -> Report {
        let seen: std::collections::HashSet<(&str, i64)> = fleet
            .servers
            .iter()
            .flat_map(|s| s.clients.iter().map(move |c| (s.name.as_str(), c.id())))
            .collect();
        let kept = |c: &&ClientCompliance| seen.contains(&(c.server.as_str(), c.clientid));
        let mut out = Report::default();
        for (name, _) in &self.servers {
            if fleet.server(name).is_none() {
                continue;
            }
            let mut rollup = Rollup::default();
            for c in self
                .clients
                .iter()
                .filter(|c| c.server == *name)
                .filter(kept)
            {
                for k in &c.kinds {
                    rollup.add(k);
                    out.fleet.add(k);
                }
            }
            out.servers.push((name.clone(), rollup));
        }
        out.clients = self.clients.iter().filter(kept).cloned().collect();
        out
    }
}

/// The report as CSV: one row per client and kind.
pub fn csv(report: &Report, rpo: &Rpo) -> Result<Vec<u8>, csv::Error> {
    // The header is plain text; the rows quote every text cell.
    let header = "server,client,clientid,kind,rpo_seconds,last_backup_unix,share_7d,share_30d,share_90d,accountable_seconds_90d,accountable_seconds_7d,accountable_seconds_30d\n";
    let mut w = csv_writer(header.as_bytes().to_vec());
    for c in &report.clients {
        for k in &c.kinds {
            // Never rounded up: a share below 1 is never written 1.0000.
            let ratio = |s: &Share| {
                s.ratio()
                    .map(|r| format!("{:.4}", (r * 10_000.0).floor() / 10_000.0))
                    .unwrap_or_default()
            };
            w.write_record([
                csv_text(&c.server),
                csv_text(&c.name),
                c.clientid.to_string(),
                k.kind.as_str().to_owned(),
                rpo.of(k.kind).to_string(),
                k.last_backup.to_string(),
                ratio(&k.shares[0]),
                ratio(&k.shares[1]),
                ratio(&k.shares[2]),
                k.shares[2].total.to_string(),
                k.shares[0].total.to_string(),
                k.shares[1].total.to_string(),
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A text cell that a spreadsheet will not run as a formula (client names are chosen by
/// clients): wherever a cell could start, at its beginning or after any character a
/// spreadsheet may split on (`,` `;` tab `|` line breaks, then spaces), a `=`, `+`, `-` or
/// `@` gets a `'` before it, and a leading tab or carriage return too. Every text cell is
/// also quoted ([`csv_writer`]), so a program that honours quotes sees one cell.
pub fn csv_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let mut cell_start = true;
    for c in s.chars() {
        if cell_start {
            match c {
                '=' | '+' | '-' | '@' => {
                    out.push('\'');
                    cell_start = false;
                }
                '\t' | '\r' if out.is_empty() => {
                    out.push('\'');
                }
                ' ' => {}
                _ => cell_start = false,
            }
        }
        if matches!(c, ',' | ';' | '\t' | '|' | '\r' | '\n') {
            cell_start = true;
        }
        out.push(c);
    }
    out
}

/// A CSV writer that quotes every field that is not a number.
pub fn csv_writer<W: std::io::Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::NonNumeric)
        .from_writer(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_is_the_union_cut_to_the_window() {
        // Backups at 0 and 10 with RPO 15: [0,15) ∪ [10,25) = [0,25).
        assert_eq!(covered(&[0, 10], 15, 0, 100), 25);
        // Gaps count as uncovered.
        assert_eq!(covered(&[0, 50], 10, 0, 100), 20);
        // A backup before the window covers its start.
        assert_eq!(covered(&[-5], 10, 0, 100), 5);
        // A backup after the window's end counts nothing.
        assert_eq!(covered(&[100], 10, 0, 100), 0);
        assert_eq!(covered(&[], 10, 0, 100), 0);
        // A daily backup with a 26 h RPO covers the whole window.
        let day = 86_400;
        let times: Vec<i64> = (0..10).map(|d| d * day).collect();
        assert_eq!(
            covered(&times, 26 * 3600, day, 9 * day),
            8 * day,
            "daily backups, 26h RPO"
        );
    }

    const H: i64 = 3600;

    fn kind(state: BackupState, last: Option<i64>) -> urbackup::KindHealth {
        urbackup::KindHealth {
            state,
            severity: urbackup::Severity::Ok,
            last_backup: last,
            age_secs: None,
        }
    }

    #[test]
    fn the_worked_example() {
        // Day 0 08:00 is t = 8 h. Good backups day 0 and day 1 at 08:00; the attempt of day 2
        // fails, its log at 08:30; the next good backup day 2 20:00; now day 3 08:00.
        let rpo = Rpo {
            file: 26 * H,
            image: DEFAULT_IMAGE_RPO,
            from_policy: (true, false),
        };
        let facts = KindFacts {
            good: vec![8 * H, 32 * H, 68 * H],
            failed: vec![Failed {
                after: 56 * H + 1800,
                at: 56 * H + 1800,
            }],
            first_seen: 8 * H,
            seen_at: 80 * H,
        };
        let k = kind_compliance(
            BackupKind::File,
            &kind(BackupState::Ok, Some(68 * H)),
            facts,
            &rpo,
            80 * H,
        )
        .unwrap();
        let week = k.shares[0];
        assert_eq!(week.total, 72 * H, "3 days seen");
        assert_eq!(week.compliant, 48 * H + 1800 + 12 * H, "60.5 h");
        assert_eq!(crate::fmt::percent(week.ratio().unwrap()), "84.0%");
        assert!(week.partial(), "3 of 7 days: less than half");
        assert!(!Share {
            window: 4,
            total: 2,
            compliant: 1
        }
        .partial());
        // Without the failed attempt: the RPO alone leaves day 2 10:00 to 20:00 out.
        assert_eq!(
            covered(&[8 * H, 32 * H, 68 * H], 26 * H, 8 * H, 80 * H),
            62 * H
        );
    }

    #[test]
    fn a_failed_attempt_lasts_until_the_next_good_backup() {
        let r = 10;
        // Good backups at 0 and 20, failure seen at 5 after 0: [5, 20) out.
        let f = [Failed { after: 0, at: 5 }];
        assert_eq!(compliant(&[0, 20], &f, r, 0, 30), 5 + 10);
        // A failure seen after a backup that started before it (running at the poll) ends
        // at once: the next good backup after `after` starts before `at`.
        let f = [Failed { after: 0, at: 25 }];
        assert_eq!(compliant(&[0, 20], &f, r, 0, 30), 20);
        // No good backup after it: out until the end.
        let f = [Failed { after: 20, at: 22 }];
        assert_eq!(compliant(&[0, 20], &f, r, 0, 30), 10 + 2);
    }

    #[test]
    fn a_kind_failed_now_is_never_at_100_percent() {
        let rpo = Rpo::from_policy(&HealthPolicy::default());
        let now = 1_000_000;
        // Backups every hour, the last one a minute ago; the server's verdict is not OK,
        // seen at this very second (before any record of it is stored).
        let good: Vec<i64> = (0..200).map(|i| now - 60 - i * H).collect();
        let facts = KindFacts {
            good,
            failed: Vec::new(),
            first_seen: now - 200 * H,
            seen_at: now,
        };
        let k = kind_compliance(
            BackupKind::File,
            &kind(BackupState::Failed, Some(now - 60)),
            facts,
            &rpo,
            now,
        )
        .unwrap();
        for s in k.shares {
            assert!(s.compliant < s.total, "{s:?}");
            assert_ne!(crate::fmt::percent(s.ratio().unwrap()), "100%");
        }
        // Switched off: no RPO at all.
        assert!(kind_compliance(
            BackupKind::Image,
            &kind(BackupState::Disabled, None),
            KindFacts::default(),
            &rpo,
            now
        )
        .is_none());
    }

    #[test]
    fn rpo_follows_the_health_thresholds() {
        let p = HealthPolicy {
            file_warning: Some(3600),
            image_critical: Some(7200),
            ..HealthPolicy::default()
        };
        let r = Rpo::from_policy(&p);
        assert_eq!((r.file, r.image), (3600, 7200));
        assert_eq!(r.from_policy, (true, true));
        let r = Rpo::from_policy(&HealthPolicy::default());
        assert_eq!((r.file, r.image), (DEFAULT_FILE_RPO, DEFAULT_IMAGE_RPO));
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_text("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_text("-2+3"), "'-2+3");
        assert_eq!(csv_text("pc-1"), "pc-1");
    }

    #[test]
    fn csv_text_cannot_start_a_formula_anywhere() {
        for (name, safe) in [
            ("alpha", "alpha"),
            ("db-01", "db-01"),
            ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("x;=1+1;", "x;'=1+1;"),
            ("x,+1", "x,'+1"),
            ("a |  -2", "a |  '-2"),
            ("a\t=b", "a\t'=b"),
            ("\tx", "'\tx"),
            ("line\n@x", "line\n'@x"),
        ] {
            assert_eq!(csv_text(name), safe, "{name:?}");
        }
        let mut w = csv_writer(Vec::new());
        w.write_record([csv_text("x;=1+1;"), "3".into()]).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out, "\"x;'=1+1;\",3\n");
    }
}

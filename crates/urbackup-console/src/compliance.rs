//! Compliance: for each client and backup kind, the share of the last 7, 30 and 90 days
//! during which its newest backup was younger than the recovery point objective (RPO).
//!
//! At a moment `t` a kind is compliant when some backup started in `(t - RPO, t]`. So the
//! compliant time is the union of the intervals `[b, b + RPO)` over its backups `b`, cut to
//! the window. The window starts at `now - days`, or later when the console cannot know
//! earlier: at the first sign of the client (when the console first saw it, or its oldest
//! backup the console has seen, whichever is older). The backups are those the console has
//! recorded (kept after the server deletes them) and the client's last backup in the
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
    /// Seconds during which the newest backup was younger than the RPO.
    pub compliant: i64,
    /// Seconds of the window the console can account for.
    pub total: i64,
}

impl Share {
    /// The share, `None` when nothing is accountable.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.compliant as f64 / self.total as f64)
    }

    fn add(&mut self, o: Share) {
        self.compliant += o.compliant;
        self.total += o.total;
    }
}

/// The seconds of `[start, end)` covered by the union of `[b, b + rpo)` over the sorted
/// backup times `times`.
pub fn covered(times: &[i64], rpo: i64, start: i64, end: i64) -> i64 {
    let mut total = 0;
    let mut reach = start; // everything before `reach` is counted
    for &b in times {
        let (lo, hi) = (b.max(reach), (b + rpo).min(end));
        if hi > lo {
            total += hi - lo;
            reach = hi;
        }
        if b >= end {
            break;
        }
    }
    total
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

/// One kind of one client at `now`: `health` its state in the last `status`, `times` the
/// starts of its backups the console knows (any order, any age), `first_seen` when the
/// console first saw the client. `None` for a kind switched off or unsupported (no RPO).
pub fn kind_compliance(
    kind: BackupKind,
    health: &urbackup::KindHealth,
    mut times: Vec<i64>,
    first_seen: i64,
    rpo: &Rpo,
    now: i64,
) -> Option<KindCompliance> {
    if matches!(
        health.state,
        BackupState::Disabled | BackupState::Unsupported
    ) {
        return None;
    }
    times.extend(health.last_backup);
    times.sort_unstable();
    times.dedup();
    let known_from = times.first().copied().unwrap_or(first_seen).min(first_seen);
    let r = rpo.of(kind);
    let mut shares = [Share::default(); 3];
    for (share, days) in shares.iter_mut().zip(WINDOWS) {
        let start = (now - days * 86_400).max(known_from);
        if start < now {
            *share = Share {
                compliant: covered(&times, r, start, now),
                total: now - start,
            };
        }
    }
    Some(KindCompliance {
        kind,
        shares,
        last_backup: times.last().copied().unwrap_or(0),
    })
}

/// Computes compliance at `now` for the clients of `snapshot` (servers never read are left
/// out; an unreachable server's last known clients count, up to its last data).
pub fn compute(snapshot: &FleetSnapshot, times: &BackupTimes, rpo: &Rpo, now: i64) -> Report {
    let mut report = Report::default();
    for s in &snapshot.servers {
        if s.data_at.is_none() {
            continue;
        }
        let mut rollup = Rollup::default();
        for c in s.clients.iter() {
            let mut kinds = Vec::new();
            let first_seen = times
                .first_seen
                .get(&(s.name.clone(), c.id()))
                .copied()
                .unwrap_or(s.data_at.unwrap_or(now));
            for kind in [BackupKind::File, BackupKind::Image] {
                let key = (s.name.clone(), c.id(), kind == BackupKind::Image);
                // The oldest backup seen stands for the history before the window.
                let mut t: Vec<i64> = times.times.get(&key).cloned().unwrap_or_default();
                t.extend(times.oldest.get(&key));
                let h = c.health.kind(kind);
                if let Some(k) = kind_compliance(kind, h, t, first_seen, rpo, now) {
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
    let header = "server,client,clientid,kind,rpo_seconds,last_backup_unix,share_7d,share_30d,share_90d,accountable_seconds_90d\n";
    let mut w = csv_writer(header.as_bytes().to_vec());
    for c in &report.clients {
        for k in &c.kinds {
            let ratio = |s: &Share| s.ratio().map(|r| format!("{r:.4}")).unwrap_or_default();
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

//! `exporter`: Prometheus metrics over HTTP.
//!
//! A tiny HTTP/1.1 server on tokio. `GET /metrics` scrapes the server with a bounded number of
//! requests whatever the number of clients: `status`, `progress` and `usage` sent at once,
//! then the backup lists (`backups`, one request per client) of at most K clients
//! (`--backup-refresh-per-scrape`), plus a login when the session has expired. Backup counts
//! come from a cache that those K requests refresh in rotation (see [`BackupCounts`]). One
//! [`urbackup::UrbackupServer`] is shared by every scrape, so the exporter logs in once and
//! keeps its session.

use super::status::{file_flag, image_flag};
use super::Ctx;
use crate::cli::ExporterArgs;
use crate::output::Flag;
use anyhow::{Context, Result};
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use urbackup::{BackupEntry, ClientBackups, UrbackupError, UrbackupServer};

/// How many `backups` requests of one scrape run at the same time.
const BACKUPS_CONCURRENCY: usize = 4;

/// `exporter`.
pub async fn run(ctx: &Ctx, a: &ExporterArgs) -> Result<u8> {
    // Log in once up front: a wrong password must not be retried on every scrape (the
    // server bans an address after 10 failed logins).
    match ctx.server.login_typed().await {
        Ok(_) => {}
        Err(e @ UrbackupError::Authentication(_)) => return Err(e.into()),
        Err(e) => {
            eprintln!("warning: cannot log in yet ({e}); serving urbackup_up 0 until it works")
        }
    }
    let listener = TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    eprintln!(
        "serving Prometheus metrics of {} on http://{}/metrics",
        ctx.server.url(),
        listener.local_addr()?
    );
    let exporter = Arc::new(Exporter::new(
        ctx.server.clone(),
        a.backup_refresh_per_scrape,
    ));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("warning: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let exporter = exporter.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(120), handle(stream, &exporter)).await;
        });
    }
}

/// What every scrape shares: the server (and its session) and the backup-count cache.
pub struct Exporter {
    server: UrbackupServer,
    /// At most this many `backups` requests per scrape.
    per_scrape: usize,
    counts: Mutex<BackupCounts>,
}

impl Exporter {
    /// An exporter refreshing the backup lists of at most `per_scrape` clients per scrape.
    pub fn new(server: UrbackupServer, per_scrape: usize) -> Exporter {
        Exporter {
            server,
            per_scrape,
            counts: Mutex::new(BackupCounts::default()),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, BackupCounts> {
        // A panic while holding the lock leaves consistent data: keep using it.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refreshes the backup lists of at most `per_scrape` of these clients (id, last file and
    /// image backup times); returns how many were refreshed.
    async fn refresh_counts(&self, clients: &[(i64, LastBackups)]) -> usize {
        let picked = self.counts().pick(clients, self.per_scrape, Instant::now());
        let results: Vec<(i64, urbackup::Result<ClientBackups>)> =
            futures_util::stream::iter(picked)
                .map(|id| async move { (id, self.server.client_backups(id).await) })
                .buffer_unordered(BACKUPS_CONCURRENCY)
                .collect()
                .await;
        let mut counts = self.counts();
        let (mut refreshed, mut failed) = (0, Vec::new());
        for (id, r) in results {
            match r {
                Ok(b) => {
                    counts.store(id, Counts::of(&b, Instant::now(), unix_now()));
                    refreshed += 1;
                }
                Err(e) => failed.push((id, e)),
            }
        }
        counts.errors += failed.len() as u64;
        drop(counts);
        // One line per scrape at most.
        if let Some((id, e)) = failed.first() {
            eprintln!(
                "warning: {} backup list(s) failed (client id {id}: {e})",
                failed.len()
            );
        }
        refreshed
    }
}

/// Backup counts per client, refreshed a few clients per scrape. The clients to refresh are
/// picked in this order: never tried, then clients whose last file or image backup time (in
/// `status`) changed since their last refresh, then the longest unrefreshed; ties by id. A
/// failed refresh counts as a refresh for the order (a failing client does not take a slot
/// of every scrape), and keeps the previous counts.
#[derive(Default)]
struct BackupCounts {
    clients: HashMap<i64, CountsEntry>,
    /// `backups` requests that failed since the start.
    errors: u64,
}

struct CountsEntry {
    /// The last refresh (tried).
    tried: Instant,
    /// The client's last backup times at that refresh.
    seen: LastBackups,
    /// The last counts received.
    counts: Option<Counts>,
}

/// A client's last file and image backup times, as `status` reports them.
type LastBackups = (i64, i64);

/// What one `backups` reply tells about a client.
#[derive(Debug, Clone, PartialEq)]
struct Counts {
    file: usize,
    image: usize,
    /// Size of the newest file backup (`None`: none, or not calculated).
    last_file_size: Option<i64>,
    last_image_size: Option<i64>,
    /// When they were received.
    at: Instant,
    unix: f64,
}

impl Counts {
    fn of(b: &ClientBackups, at: Instant, unix: f64) -> Counts {
        fn newest_size(list: &[BackupEntry]) -> Option<i64> {
            list.iter()
                .max_by_key(|e| (e.backuptime, e.id))
                .map(|e| e.size_bytes)
                .filter(|s| *s >= 0)
        }
        Counts {
            file: b.file_backups.len(),
            image: b.image_backups.len(),
            last_file_size: newest_size(&b.file_backups),
            last_image_size: newest_size(&b.image_backups),
            at,
            unix,
        }
    }
}

impl BackupCounts {
    /// Forgets clients that are gone, picks at most `k` of `clients` (id, last file and image
    /// backup times) to refresh now and marks them tried at `now`.
    fn pick(&mut self, clients: &[(i64, LastBackups)], k: usize, now: Instant) -> Vec<i64> {
        let present: HashSet<i64> = clients.iter().map(|(id, _)| *id).collect();
        self.clients.retain(|id, _| present.contains(id));
        let mut listed = HashSet::new();
        let mut order: Vec<(i64, LastBackups)> = clients
            .iter()
            .filter(|(id, _)| listed.insert(*id))
            .copied()
            .collect();
        order.sort_by_key(|&(id, seen)| match self.clients.get(&id) {
            None => (0, None, id),
            Some(e) if e.seen != seen => (1, Some(e.tried), id),
            Some(e) => (2, Some(e.tried), id),
        });
        order.truncate(k);
        for &(id, seen) in &order {
            let e = self.clients.entry(id).or_insert(CountsEntry {
                tried: now,
                seen,
                counts: None,
            });
            e.tried = now;
            e.seen = seen;
        }
        order.into_iter().map(|(id, _)| id).collect()
    }

    fn store(&mut self, id: i64, counts: Counts) {
        if let Some(e) = self.clients.get_mut(&id) {
            e.counts = Some(counts);
        }
    }

    fn get(&self, id: i64) -> Option<&Counts> {
        self.clients.get(&id).and_then(|e| e.counts.as_ref())
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as f64)
        .unwrap_or(0.0)
}

async fn handle(mut stream: TcpStream, exporter: &Exporter) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > 16 * 1024 {
            return respond(
                &mut stream,
                431,
                "text/plain",
                "request header too large\n",
                false,
            )
            .await;
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut stream,
            405,
            "text/plain",
            "method not allowed\n",
            false,
        )
        .await;
    }
    match path {
        "/metrics" => {
            let body = exporter.scrape().await;
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
                head_only,
            )
            .await
        }
        "/" => {
            respond(
                &mut stream,
                200,
                "text/html; charset=utf-8",
                "<html><head><title>UrBackup exporter</title></head><body><h1>UrBackup exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n",
                head_only,
            )
            .await
        }
        _ => respond(&mut stream, 404, "text/plain", "not found\n", head_only).await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

/// Prometheus text builder.
struct Metrics {
    out: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", fmt_value(value));
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn b(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}

impl Exporter {
    /// One scrape: `status`, `progress` and `usage`, sent concurrently, then at most
    /// `per_scrape` `backups` requests (only when `status` answered).
    pub async fn scrape(&self) -> String {
        let server = &self.server;
        let t0 = Instant::now();
        let (status, progress, usage) = tokio::join!(
            server.status_report(),
            server.get_actions_typed(),
            server.get_usage_typed()
        );
        let mut m = Metrics { out: String::new() };
        m.family(
            "urbackup_up",
            "gauge",
            "1 when the server answered the status request, else 0",
        );
        m.sample("urbackup_up", &[], b(status.is_ok()));
        if let Err(e) = &status {
            eprintln!("warning: scrape failed: {e}");
        }

        if let Ok(report) = &status {
            let clients: Vec<_> = report.status.iter().filter(|c| !c.rejected).collect();
            m.family("urbackup_clients", "gauge", "Number of clients");
            m.sample("urbackup_clients", &[], clients.len() as f64);

            m.family(
                "urbackup_client_info",
                "gauge",
                "Client facts as labels (always 1)",
            );
            for c in &clients {
                m.sample(
                    "urbackup_client_info",
                    &[
                        ("client", &c.name),
                        ("group", &c.groupname),
                        ("version", &c.client_version_string),
                        ("os", &c.os_simple),
                    ],
                    1.0,
                );
            }
            type Getter = fn(&urbackup::ClientStatus, &urbackup::StatusReport) -> f64;
            let per_client: [(&str, &str, Getter); 9] = [
                (
                    "urbackup_client_online",
                    "1 when the client is connected",
                    |c, _| b(c.online),
                ),
                (
                    "urbackup_client_last_file_backup_timestamp_seconds",
                    "Unix time of the last file backup (0 = never)",
                    |c, _| c.lastbackup as f64,
                ),
                (
                    "urbackup_client_last_image_backup_timestamp_seconds",
                    "Unix time of the last image backup (0 = never)",
                    |c, _| c.lastbackup_image as f64,
                ),
                (
                    "urbackup_client_last_seen_timestamp_seconds",
                    "Unix time the client was last seen",
                    |c, _| c.lastseen as f64,
                ),
                (
                    "urbackup_client_file_ok",
                    "The server's file backup status flag",
                    |c, _| b(c.file_ok),
                ),
                (
                    "urbackup_client_image_ok",
                    "The server's image backup status flag",
                    |c, _| b(c.image_ok),
                ),
                (
                    "urbackup_client_file_failed",
                    "1 when file backups are neither OK nor disabled",
                    |c, r| b(file_flag(c, Some(r)) == Flag::Failed),
                ),
                (
                    "urbackup_client_image_failed",
                    "1 when image backups are neither OK, disabled nor unsupported",
                    |c, r| b(image_flag(c, Some(r)) == Flag::Failed),
                ),
                (
                    "urbackup_client_last_file_backup_issues",
                    "Issues in the last file backup",
                    |c, _| c.last_filebackup_issues as f64,
                ),
            ];
            for (name, help, get) in per_client {
                m.family(name, "gauge", help);
                for c in &clients {
                    m.sample(name, &[("client", &c.name)], get(c, report));
                }
            }
            if self.per_scrape > 0 {
                let ids: Vec<(i64, LastBackups)> = clients
                    .iter()
                    .map(|c| (c.id, (c.lastbackup, c.lastbackup_image)))
                    .collect();
                let refreshed = self.refresh_counts(&ids).await;
                self.backup_count_metrics(&mut m, &clients, refreshed);
            }
        }

        m.family(
            "urbackup_usage_up",
            "gauge",
            "1 when the usage request succeeded (needs the statistics right)",
        );
        m.sample("urbackup_usage_up", &[], b(usage.is_ok()));
        if let Ok(usage) = &usage {
            m.family(
                "urbackup_client_used_bytes",
                "gauge",
                "Storage used by the client's backups, by kind (files, images)",
            );
            for u in usage {
                m.sample(
                    "urbackup_client_used_bytes",
                    &[("client", &u.name), ("kind", "files")],
                    u.files as f64,
                );
                m.sample(
                    "urbackup_client_used_bytes",
                    &[("client", &u.name), ("kind", "images")],
                    u.images as f64,
                );
            }
            m.family(
                "urbackup_client_used_total_bytes",
                "gauge",
                "Storage used by all backups of the client",
            );
            for u in usage {
                m.sample(
                    "urbackup_client_used_total_bytes",
                    &[("client", &u.name)],
                    u.used as f64,
                );
            }
        }

        if let Ok(actions) = &progress {
            m.family("urbackup_actions_running", "gauge", "Running actions");
            m.sample("urbackup_actions_running", &[], actions.len() as f64);
            let families: [(&str, &str); 5] = [
            (
                "urbackup_action_progress_ratio",
                "Progress of a running action, 0 to 1 (absent while unknown)",
            ),
            (
                "urbackup_action_done_bytes",
                "Bytes done by a running action",
            ),
            (
                "urbackup_action_total_bytes",
                "Total bytes of a running action (absent while unknown)",
            ),
            (
                "urbackup_action_speed_bytes_per_second",
                "Current speed of a running action",
            ),
            (
                "urbackup_action_eta_seconds",
                "Estimated time left of a running action (absent while unknown; 60 = under a minute)",
            ),
        ];
            for (i, (name, help)) in families.iter().enumerate() {
                m.family(name, "gauge", help);
                for a in actions {
                    let id = a.id.to_string();
                    let action = a.action.description();
                    let client = if a.name.is_empty() {
                        ""
                    } else {
                        a.name.as_str()
                    };
                    let labels = [
                        ("client", client),
                        ("action", action.as_str()),
                        ("id", id.as_str()),
                    ];
                    let v = match i {
                        0 => a.percent().map(|p| f64::from(p) / 100.0),
                        1 => Some(a.done_bytes.max(0) as f64),
                        2 if a.total_bytes >= 0 => Some(a.total_bytes as f64),
                        3 => Some(a.speed_bpms * 1000.0),
                        // The server says "under a minute" as 61 s: report the bound, 60.
                        4 if a.eta_under_a_minute() => Some(60.0),
                        4 => a.eta().map(|d| d.as_secs_f64()),
                        _ => None,
                    };
                    if let Some(v) = v {
                        m.sample(name, &labels, v);
                    }
                }
            }
        }

        m.family(
            "urbackup_scrape_duration_seconds",
            "gauge",
            "Time this scrape took (all its requests)",
        );
        m.sample(
            "urbackup_scrape_duration_seconds",
            &[],
            t0.elapsed().as_secs_f64(),
        );
        m.out
    }

    /// The backup-count metrics from the cache, for the clients of this scrape.
    fn backup_count_metrics(
        &self,
        m: &mut Metrics,
        clients: &[&urbackup::ClientStatus],
        refreshed: usize,
    ) {
        let counts = self.counts();
        let now = Instant::now();
        let known: Vec<(&str, &Counts)> = clients
            .iter()
            .filter_map(|c| counts.get(c.id).map(|k| (c.name.as_str(), k)))
            .collect();
        type Getter = fn(&Counts) -> Option<f64>;
        let families: [(&str, &str, Getter); 5] = [
        (
            "urbackup_client_file_backups",
            "File backups of the client (from the backup-count cache)",
            |k| Some(k.file as f64),
        ),
        (
            "urbackup_client_image_backups",
            "Image backups of the client (from the backup-count cache)",
            |k| Some(k.image as f64),
        ),
        (
            "urbackup_client_last_file_backup_size_bytes",
            "Size of the newest file backup as the server reports it (incremental: what it added; absent when unknown)",
            |k| k.last_file_size.map(|v| v as f64),
        ),
        (
            "urbackup_client_last_image_backup_size_bytes",
            "Size of the newest image backup as the server reports it (absent when unknown)",
            |k| k.last_image_size.map(|v| v as f64),
        ),
        (
            "urbackup_client_backup_counts_timestamp_seconds",
            "Unix time the client's backup counts were read",
            |k| Some(k.unix),
        ),
    ];
        for (name, help, get) in families {
            m.family(name, "gauge", help);
            for (client, k) in &known {
                if let Some(v) = get(k) {
                    m.sample(name, &[("client", client)], v);
                }
            }
        }
        m.family(
            "urbackup_backup_counts_clients",
            "gauge",
            "Clients that have backup counts so far",
        );
        m.sample("urbackup_backup_counts_clients", &[], known.len() as f64);
        m.family(
            "urbackup_backup_counts_age_seconds",
            "gauge",
            "Age of the oldest backup counts (absent before any)",
        );
        if let Some(oldest) = known.iter().map(|(_, k)| k.at).min() {
            m.sample(
                "urbackup_backup_counts_age_seconds",
                &[],
                now.saturating_duration_since(oldest).as_secs_f64().round(),
            );
        }
        m.family(
            "urbackup_backup_counts_refreshed",
            "gauge",
            "Clients whose backup list this scrape read (at most --backup-refresh-per-scrape)",
        );
        m.sample("urbackup_backup_counts_refreshed", &[], refreshed as f64);
        m.family(
            "urbackup_backup_counts_errors_total",
            "counter",
            "Backup-list requests that failed since the exporter started",
        );
        m.sample(
            "urbackup_backup_counts_errors_total",
            &[],
            counts.errors as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rotate_oldest_first_with_changed_clients_first() {
        let mut c = BackupCounts::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let clients: Vec<(i64, LastBackups)> = (1..=5).map(|id| (id, (100, 0))).collect();
        assert_eq!(c.pick(&clients, 2, at(0)), [1, 2]);
        assert_eq!(c.pick(&clients, 2, at(1)), [3, 4]);
        assert_eq!(
            c.pick(&clients, 2, at(2)),
            [5, 1],
            "never read first, then the oldest"
        );
        assert_eq!(c.pick(&clients, 2, at(3)), [2, 3]);
        // Client 5 has a new backup: it comes first; a new client 6 before it.
        let mut changed = clients.clone();
        changed[4].1 = (200, 0);
        changed.push((6, (0, 0)));
        assert_eq!(c.pick(&changed, 2, at(4)), [6, 5]);
        assert_eq!(c.pick(&changed, 3, at(5)), [4, 1, 2]);
        // Removed clients are forgotten; k = 0 picks nothing; duplicates are read once.
        assert_eq!(c.pick(&changed[..2], 5, at(6)), [1, 2]);
        assert_eq!(c.clients.len(), 2);
        assert!(c.pick(&changed, 0, at(7)).is_empty());
        assert_eq!(c.pick(&[(9, (0, 0)), (9, (0, 0))], 5, at(8)), [9]);
    }

    #[test]
    fn counts_of_a_backup_list() {
        let entries = |json: &str| -> Vec<BackupEntry> { serde_json::from_str(json).unwrap() };
        let b = ClientBackups {
            clientid: 1,
            clientname: "a".into(),
            file_backups: entries(
                r#"[{"id": 3, "backuptime": 300, "size_bytes": 30},
                    {"id": 2, "backuptime": 200, "size_bytes": 20}]"#,
            ),
            image_backups: entries(r#"[{"id": 7, "backuptime": 100, "size_bytes": -1}]"#),
            can_archive: true,
            can_delete: true,
        };
        let k = Counts::of(&b, Instant::now(), 1.0);
        assert_eq!((k.file, k.image), (2, 1));
        assert_eq!(k.last_file_size, Some(30));
        assert_eq!(k.last_image_size, None, "not calculated");
    }
}

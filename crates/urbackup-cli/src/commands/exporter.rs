//! `exporter`: Prometheus metrics over HTTP, for one server or a whole fleet.
//!
//! Served with hyper (HTTP/1.1); the exposition is encoded by the `prometheus-client` crate
//! (OpenMetrics text, label values escaped by it). Every series carries `server="<profile>"`
//! (the URL without a profile). One scrape runs one task per server, concurrently; a server
//! that does not answer gives `urbackup_up{server="X"} 0` and its error counter grows, the
//! others are served as usual.
//!
//! Per server, `GET /metrics` costs a bounded number of requests whatever the number of
//! clients: `status`, `progress` and `usage` sent at once, then the backup lists (`backups`,
//! one request per client) of at most K clients (`--backup-refresh-per-scrape`), plus a login
//! when the session has expired. Backup counts come from a cache that those K requests
//! refresh in rotation (see [`BackupCounts`]). Each server's handle is kept across scrapes,
//! so the exporter logs in once per server and keeps its session.

use super::report::server_label;
use crate::cli::ExporterArgs;
use crate::config::Resolved;
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use urbackup::{
    BackupEntry, BackupKind, BackupState, ClientBackups, HealthPolicy, ServerSwitches,
    UrbackupError, UrbackupServer,
};

/// How many `backups` requests of one scrape run at the same time.
const BACKUPS_CONCURRENCY: usize = 4;
/// Servers scraped at the same time.
const SCRAPE_CONCURRENCY: usize = 32;

/// The content type of the exposition (`prometheus-client` writes OpenMetrics text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `exporter`.
pub async fn run(targets: Vec<Resolved>, a: &ExporterArgs) -> Result<u8> {
    let policy = a.health.policy();
    let mut servers = Vec::new();
    for t in &targets {
        let name = server_label(t);
        if servers.iter().any(|s: &Arc<Exporter>| s.name == name) {
            bail!("two servers named `{name}`");
        }
        servers.push(Arc::new(Exporter::new(
            name,
            t.build()?,
            a.backup_refresh_per_scrape,
            policy.clone(),
        )));
    }
    // Log in once up front, every server at once: a wrong password must not be retried on
    // every scrape (the server bans an address after 10 failed logins).
    let logins =
        futures_util::future::join_all(servers.iter().map(|s| s.server.login_typed())).await;
    let many = servers.len() > 1;
    for (s, r) in servers.iter().zip(logins) {
        match r {
            Ok(_) => {}
            Err(e @ UrbackupError::Authentication(_)) if many => {
                return Err(anyhow::Error::from(e).context(format!("server `{}`", s.name)))
            }
            Err(e @ UrbackupError::Authentication(_)) => return Err(e.into()),
            Err(e) => eprintln!(
                "warning: {}: cannot log in yet ({e}); serving urbackup_up 0 until it works",
                s.name
            ),
        }
    }
    let listener = TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    eprintln!(
        "serving Prometheus metrics of {} server{} ({}) on http://{}/metrics",
        servers.len(),
        if servers.len() == 1 { "" } else { "s" },
        names.join(", "),
        listener.local_addr()?
    );
    let fleet = Arc::new(Fleet { servers });
    serve(listener, fleet).await
}

/// The servers of one exporter.
pub struct Fleet {
    /// One per server, in the order given.
    pub servers: Vec<Arc<Exporter>>,
}

/// Serves `/metrics` and `/` on `listener` with hyper, one task per connection.
pub async fn serve(listener: TcpListener, fleet: Arc<Fleet>) -> Result<u8> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("warning: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let fleet = fleet.clone();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = hyper::service::service_fn(move |req| {
                let fleet = fleet.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(req, &fleet).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .header_read_timeout(Duration::from_secs(10))
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(io, service);
            let _ = tokio::time::timeout(Duration::from_secs(300), conn).await;
        });
    }
}

type Body = BoxBody<Bytes, std::convert::Infallible>;

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

async fn handle<B>(req: Request<B>, fleet: &Fleet) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "method not allowed\n",
        );
        r.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        return r;
    }
    match req.uri().path() {
        "/metrics" => {
            let scrapes = gather(fleet).await;
            if head {
                return reply(StatusCode::OK, CONTENT_TYPE, Bytes::new());
            }
            // Encoded on a blocking thread into chunks that the response streams: the whole
            // exposition (tens of megabytes for a large fleet) is never in memory at once.
            let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
            tokio::task::spawn_blocking(move || {
                let mut w = ChunkWriter {
                    buf: String::with_capacity(CHUNK),
                    tx,
                };
                if encode_into(scrapes, &mut w).is_ok() {
                    w.flush();
                }
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|b| (Ok::<_, std::convert::Infallible>(Frame::data(b)), rx))
            });
            let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(CONTENT_TYPE),
            );
            r
        }
        "/" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            if head {
                ""
            } else {
                "<html><head><title>urbackup exporter</title></head><body><h1>urbackup exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n"
            },
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            if head { "" } else { "not found\n" },
        ),
    }
}

/// Size of the chunks of a streamed exposition.
const CHUNK: usize = 256 * 1024;

/// A `fmt::Write` that hands full chunks to the response body.
struct ChunkWriter {
    buf: String,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl ChunkWriter {
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let chunk = std::mem::take(&mut self.buf);
            let _ = self.tx.blocking_send(Bytes::from(chunk));
        }
    }
}

impl std::fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK {
            let chunk = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK + 4096));
            // The client went away: stop encoding.
            self.tx
                .blocking_send(Bytes::from(chunk))
                .map_err(|_| std::fmt::Error)?;
        }
        Ok(())
    }
}

/// One scrape of every server, one task each; at most [`SCRAPE_CONCURRENCY`] of them hold
/// replies at a time, which bounds the memory of a scrape of a large fleet.
async fn gather(fleet: &Fleet) -> Vec<Metrics> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(SCRAPE_CONCURRENCY));
    let tasks: Vec<_> = fleet
        .servers
        .iter()
        .map(|s| {
            let (s, permits) = (s.clone(), permits.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire().await;
                s.scrape().await
            })
        })
        .collect();
    let mut scrapes = Vec::with_capacity(tasks.len());
    for (s, t) in fleet.servers.iter().zip(tasks) {
        match t.await {
            Ok(m) => scrapes.push(m),
            Err(e) => {
                eprintln!("warning: {}: the scrape task failed: {e}", s.name);
                s.errors.fetch_add(1, Ordering::Relaxed);
                let mut m = Metrics::new(&s.name);
                m.gauge("urbackup_up", UP_HELP, vec![], 0.0);
                m.counter(
                    "urbackup_scrape_errors",
                    ERRORS_HELP,
                    vec![],
                    s.errors.load(Ordering::Relaxed),
                );
                scrapes.push(m);
            }
        }
    }
    scrapes
}

const UP_HELP: &str = "1 when the server answered the status request, else 0";
const ERRORS_HELP: &str =
    "Failed requests (status, progress, usage) of scrapes since the exporter started";

/// Encodes the metrics of every server with `prometheus-client`: the families in the order
/// first seen, each with the samples of every server (so that a family is one group).
#[cfg(test)]
fn encode(scrapes: Vec<Metrics>) -> String {
    let mut out = String::new();
    if encode_into(scrapes, &mut out).is_err() {
        out.clear();
    }
    out
}

/// [`encode`] into any writer.
fn encode_into(scrapes: Vec<Metrics>, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(scrapes)));
    prometheus_client::encoding::text::encode(out, &registry)
}

#[derive(Debug)]
struct Snapshot(Vec<Metrics>);

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let mut order: Vec<&'static str> = Vec::new();
        let mut seen = HashSet::new();
        for m in &self.0 {
            for f in &m.families {
                if seen.insert(f.name) {
                    order.push(f.name);
                }
            }
        }
        for name in order {
            let first = self
                .0
                .iter()
                .flat_map(|m| m.families.iter())
                .find(|f| f.name == name);
            let Some(first) = first else { continue };
            let mut me = encoder.encode_descriptor(name, first.help, None, first.kind)?;
            for m in &self.0 {
                for f in m.families.iter().filter(|f| f.name == name) {
                    for (labels, v) in &f.samples {
                        if first.kind == MetricType::Info {
                            // `name_info{server=..,labels..} 1`.
                            let server = [("server", m.server.as_str())];
                            let rest: Vec<(&str, &str)> =
                                labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                            me.encode_family(&server)?.encode_info(&rest)?;
                            continue;
                        }
                        let mut set: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + 1);
                        set.push(("server", m.server.as_str()));
                        set.extend(labels.iter().map(|(k, v)| (*k, v.as_str())));
                        let sample = me.encode_family(&set)?;
                        match (first.kind, v) {
                            (MetricType::Counter, Value::Counter(c)) => {
                                ConstCounter::new(*c).encode(sample)?
                            }
                            (_, Value::Gauge(g)) => ConstGauge::new(*g).encode(sample)?,
                            (_, Value::Counter(c)) => ConstGauge::new(*c as f64).encode(sample)?,
                        }
                    }
                }
            }
        }
        self.encode_clients(&mut encoder)
    }
}

impl Snapshot {
    /// The per-client families, from the compact rows of every server.
    fn encode_clients(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let servers = &self.0;
        if servers.iter().any(|m| !m.clients.is_empty()) {
            let mut me = encoder.encode_descriptor(
                "urbackup_client",
                "Client facts as labels",
                None,
                MetricType::Info,
            )?;
            for m in servers {
                for r in &m.clients {
                    let server = [("server", m.server.as_str())];
                    let facts = [
                        ("client", r.h.name.as_str()),
                        ("group", r.h.group.as_str()),
                        ("version", r.h.version.as_str()),
                        ("os", r.os.as_str()),
                    ];
                    me.encode_family(&server)?.encode_info(&facts)?;
                }
            }
            for (name, help, get) in CLIENT_GAUGES {
                let mut me = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                for m in servers {
                    for r in &m.clients {
                        let labels = [("server", m.server.as_str()), ("client", r.h.name.as_str())];
                        ConstGauge::new(get(r)).encode(me.encode_family(&labels)?)?;
                    }
                }
            }
            let mut me = encoder.encode_descriptor(
                "urbackup_client_backup_state",
                "The health rule's state of a backup kind: 1 for the current state (ok, stale, failed, never, disabled, unsupported)",
                None,
                MetricType::Gauge,
            )?;
            for m in servers {
                for r in &m.clients {
                    for kind in [BackupKind::File, BackupKind::Image] {
                        let labels = [
                            ("server", m.server.as_str()),
                            ("client", r.h.name.as_str()),
                            ("kind", kind.as_str()),
                            ("state", r.h.kind(kind).state.as_str()),
                        ];
                        ConstGauge::new(1.0).encode(me.encode_family(&labels)?)?;
                    }
                }
            }
            let mut me = encoder.encode_descriptor(
                "urbackup_client_backup_severity",
                "The health rule's severity of a backup kind: 0 ok, 1 warning, 2 critical",
                None,
                MetricType::Gauge,
            )?;
            for m in servers {
                for r in &m.clients {
                    for kind in [BackupKind::File, BackupKind::Image] {
                        let labels = [
                            ("server", m.server.as_str()),
                            ("client", r.h.name.as_str()),
                            ("kind", kind.as_str()),
                        ];
                        let v = f64::from(r.h.kind(kind).severity.code());
                        ConstGauge::new(v).encode(me.encode_family(&labels)?)?;
                    }
                }
            }
            if servers.iter().any(|m| m.outdated) {
                let mut me = encoder.encode_descriptor(
                    "urbackup_client_outdated",
                    "1 when the client's version is older than --server-version",
                    None,
                    MetricType::Gauge,
                )?;
                for m in servers.iter().filter(|m| m.outdated) {
                    for r in &m.clients {
                        let labels = [("server", m.server.as_str()), ("client", r.h.name.as_str())];
                        ConstGauge::new(b(r.h.outdated)).encode(me.encode_family(&labels)?)?;
                    }
                }
            }
        }
        if servers.iter().any(|m| m.counts.is_some()) {
            for (name, help, get) in COUNT_GAUGES {
                let mut me = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                for m in servers {
                    for (i, k) in m.counts.iter().flatten() {
                        let Some(r) = m.clients.get(*i as usize) else {
                            continue;
                        };
                        if let Some(v) = get(k) {
                            let labels =
                                [("server", m.server.as_str()), ("client", r.h.name.as_str())];
                            ConstGauge::new(v).encode(me.encode_family(&labels)?)?;
                        }
                    }
                }
            }
        }
        if servers.iter().any(|m| m.usage.is_some()) {
            let mut me = encoder.encode_descriptor(
                "urbackup_client_used_bytes",
                "Storage used by the client's backups, by kind (files, images)",
                None,
                MetricType::Gauge,
            )?;
            for m in servers {
                for u in m.usage.iter().flatten() {
                    for (kind, v) in [("files", u.files), ("images", u.images)] {
                        let labels = [
                            ("server", m.server.as_str()),
                            ("client", u.name.as_str()),
                            ("kind", kind),
                        ];
                        ConstGauge::new(v as f64).encode(me.encode_family(&labels)?)?;
                    }
                }
            }
            let mut me = encoder.encode_descriptor(
                "urbackup_client_used_total_bytes",
                "Storage used by all backups of the client",
                None,
                MetricType::Gauge,
            )?;
            for m in servers {
                for u in m.usage.iter().flatten() {
                    let labels = [("server", m.server.as_str()), ("client", u.name.as_str())];
                    ConstGauge::new(u.used as f64).encode(me.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// A sample value.
#[derive(Debug, Clone, Copy)]
enum Value {
    Gauge(f64),
    Counter(u64),
}

/// Labels of a sample besides `server`.
type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
struct FamilyData {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, Value)>,
}

/// The metrics of one server's scrape.
#[derive(Debug)]
pub struct Metrics {
    server: String,
    families: Vec<FamilyData>,
    /// The clients (when `status` answered), for the per-client families.
    clients: Vec<ClientRow>,
    /// Whether `urbackup_client_outdated` is exported.
    outdated: bool,
    /// The `usage` reply, when it answered.
    usage: Option<Vec<UsageRow>>,
    /// Backup counts known: (index into `clients`, counts), when counts are on.
    counts: Option<Vec<(u32, Counts)>>,
}

impl Metrics {
    fn new(server: &str) -> Metrics {
        Metrics {
            server: server.to_string(),
            families: Vec::new(),
            clients: Vec::new(),
            outdated: false,
            usage: None,
            counts: None,
        }
    }

    /// Declares a family (so that it is listed even without samples).
    fn family(&mut self, name: &'static str, help: &'static str, kind: MetricType) -> usize {
        if let Some(i) = self.families.iter().position(|f| f.name == name) {
            return i;
        }
        self.families.push(FamilyData {
            name,
            help,
            kind,
            samples: Vec::new(),
        });
        self.families.len() - 1
    }

    fn gauge(&mut self, name: &'static str, help: &'static str, labels: Labels, v: f64) {
        let i = self.family(name, help, MetricType::Gauge);
        self.families[i].samples.push((labels, Value::Gauge(v)));
    }

    fn counter(&mut self, name: &'static str, help: &'static str, labels: Labels, v: u64) {
        let i = self.family(name, help, MetricType::Counter);
        self.families[i].samples.push((labels, Value::Counter(v)));
    }
}

fn b(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
fn client(name: &str) -> Labels {
    vec![("client", name.to_string())]
}

/// What every scrape of one server shares: the server (and its session), the backup-count
/// cache and the error counter.
pub struct Exporter {
    /// The `server` label: the profile name (or the URL).
    name: String,
    server: UrbackupServer,
    /// At most this many `backups` requests per scrape.
    per_scrape: usize,
    policy: HealthPolicy,
    counts: Mutex<BackupCounts>,
    /// Failed requests of scrapes (`status`, `progress`, `usage`) since the start.
    errors: AtomicU64,
}

impl Exporter {
    /// An exporter refreshing the backup lists of at most `per_scrape` clients per scrape.
    pub fn new(
        name: String,
        server: UrbackupServer,
        per_scrape: usize,
        policy: HealthPolicy,
    ) -> Exporter {
        Exporter {
            name,
            server,
            per_scrape,
            policy,
            counts: Mutex::new(BackupCounts::default()),
            errors: AtomicU64::new(0),
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
                "warning: {}: {} backup list(s) failed (client id {id}: {e})",
                self.name,
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

impl Exporter {
    /// One scrape of this server: `status`, `progress` and `usage`, sent concurrently, then
    /// at most `per_scrape` `backups` requests (only when `status` answered).
    pub async fn scrape(&self) -> Metrics {
        let server = &self.server;
        let t0 = Instant::now();
        // Each client becomes a compact row as the reply arrives (the reply itself is never
        // held whole: memory per client, not per reply).
        let now = unix_now() as i64;
        let policy = &self.policy;
        let mut rows: Vec<ClientRow> = Vec::new();
        let mut ids: Vec<(i64, LastBackups)> = Vec::new();
        let status = server.for_each_client_status(|c| {
            if c.rejected {
                return;
            }
            ids.push((c.id, (c.lastbackup, c.lastbackup_image)));
            rows.push(ClientRow {
                h: policy.client(&c, ServerSwitches::default(), now),
                os: c.os_simple,
                file_ok: c.file_ok,
                image_ok: c.image_ok,
            });
        });
        let (status, progress, usage) =
            tokio::join!(status, server.get_actions_typed(), server.get_usage_typed());
        let mut m = Metrics::new(&self.name);
        m.gauge("urbackup_up", UP_HELP, vec![], b(status.is_ok()));
        let failed_requests =
            u64::from(status.is_err()) + u64::from(progress.is_err()) + u64::from(usage.is_err());
        if let Err(e) = &status {
            eprintln!("warning: {}: scrape failed: {e}", self.name);
        }
        if let Ok(rest) = &status {
            let switches = ServerSwitches::from(rest);
            for r in &mut rows {
                r.h.apply_switches(switches);
            }
            m.gauge(
                "urbackup_clients",
                "Number of clients",
                vec![],
                rows.len() as f64,
            );
            if self.per_scrape > 0 {
                let refreshed = self.refresh_counts(&ids).await;
                self.backup_count_metrics(&mut m, &ids, &rows, refreshed);
            }
            m.outdated = self.policy.server_version.is_some();
            m.clients = rows;
        }

        m.gauge(
            "urbackup_usage_up",
            "1 when the usage request succeeded (needs the statistics right)",
            vec![],
            b(usage.is_ok()),
        );
        if let Ok(usage) = usage {
            m.gauge(
                "urbackup_used_bytes",
                "Storage used by the backups of all clients",
                vec![],
                usage.iter().map(|u| u.used.max(0) as f64).sum(),
            );
            m.usage = Some(
                usage
                    .into_iter()
                    .map(|u| UsageRow {
                        name: u.name,
                        files: u.files,
                        images: u.images,
                        used: u.used,
                    })
                    .collect(),
            );
        }

        if let Ok(actions) = &progress {
            m.gauge(
                "urbackup_actions_running",
                "Running actions",
                vec![],
                actions.len() as f64,
            );
            let families: [(&'static str, &'static str); 5] = [
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
                let fi = m.family(name, help, MetricType::Gauge);
                for a in actions {
                    let labels = vec![
                        ("client", a.name.clone()),
                        ("action", a.action.description()),
                        ("id", a.id.to_string()),
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
                        m.families[fi].samples.push((labels, Value::Gauge(v)));
                    }
                }
            }
        }
        let errors = self.errors.fetch_add(failed_requests, Ordering::Relaxed) + failed_requests;
        m.counter("urbackup_scrape_errors", ERRORS_HELP, vec![], errors);
        m.gauge(
            "urbackup_scrape_duration_seconds",
            "Time the scrape of this server took (all its requests)",
            vec![],
            t0.elapsed().as_secs_f64(),
        );
        m
    }

    /// The backup-count metrics from the cache, for the clients of this scrape (`ids` and
    /// `rows` in the same order).
    fn backup_count_metrics(
        &self,
        m: &mut Metrics,
        ids: &[(i64, LastBackups)],
        rows: &[ClientRow],
        refreshed: usize,
    ) {
        let counts = self.counts();
        let now = Instant::now();
        let known: Vec<(u32, Counts)> = ids
            .iter()
            .enumerate()
            .filter_map(|(i, (id, _))| counts.get(*id).map(|k| (i as u32, k.clone())))
            .collect();
        m.gauge(
            "urbackup_backup_counts_clients",
            "Clients that have backup counts so far",
            vec![],
            known.len() as f64,
        );
        m.family(
            "urbackup_backup_counts_age_seconds",
            "Age of the oldest backup counts (absent before any)",
            MetricType::Gauge,
        );
        if let Some(oldest) = known.iter().map(|(_, k)| k.at).min() {
            m.gauge(
                "urbackup_backup_counts_age_seconds",
                "",
                vec![],
                now.saturating_duration_since(oldest).as_secs_f64().round(),
            );
        }
        m.gauge(
            "urbackup_backup_counts_refreshed",
            "Clients whose backup list this scrape read (at most --backup-refresh-per-scrape)",
            vec![],
            refreshed as f64,
        );
        m.counter(
            "urbackup_backup_counts_errors",
            "Backup-list requests that failed since the exporter started",
            vec![],
            counts.errors,
        );
        debug_assert_eq!(ids.len(), rows.len());
        m.counts = Some(known);
    }
}

/// What the exporter keeps of one client between its `status` reply and the encoding.
#[derive(Debug)]
struct ClientRow {
    h: urbackup::ClientHealth,
    os: String,
    file_ok: bool,
    image_ok: bool,
}

/// One client of the `usage` reply.
#[derive(Debug)]
struct UsageRow {
    name: String,
    files: i64,
    images: i64,
    used: i64,
}

type RowGetter = fn(&ClientRow) -> f64;

/// The per-client gauges, encoded from the rows.
const CLIENT_GAUGES: [(&str, &str, RowGetter); 9] = [
    (
        "urbackup_client_online",
        "1 when the client is connected",
        |r| b(r.h.online),
    ),
    (
        "urbackup_client_last_file_backup_timestamp_seconds",
        "Unix time of the last file backup (0 = never)",
        |r| r.h.file.last_backup.unwrap_or(0) as f64,
    ),
    (
        "urbackup_client_last_image_backup_timestamp_seconds",
        "Unix time of the last image backup (0 = never)",
        |r| r.h.image.last_backup.unwrap_or(0) as f64,
    ),
    (
        "urbackup_client_last_seen_timestamp_seconds",
        "Unix time the client was last seen",
        |r| r.h.last_seen as f64,
    ),
    (
        "urbackup_client_file_ok",
        "The server's file backup status flag",
        |r| b(r.file_ok),
    ),
    (
        "urbackup_client_image_ok",
        "The server's image backup status flag",
        |r| b(r.image_ok),
    ),
    (
        "urbackup_client_file_failed",
        "1 when the server's verdict on file backups is not OK (not disabled, backed up before)",
        |r| b(r.h.file.state == BackupState::Failed),
    ),
    (
        "urbackup_client_image_failed",
        "1 when the server's verdict on image backups is not OK (not disabled or unsupported, backed up before)",
        |r| b(r.h.image.state == BackupState::Failed),
    ),
    (
        "urbackup_client_last_file_backup_issues",
        "Issues in the last file backup",
        |r| r.h.file_issues as f64,
    ),
];

type CountsGetter = fn(&Counts) -> Option<f64>;

/// The per-client backup-count gauges, encoded from the cache's snapshot.
const COUNT_GAUGES: [(&str, &str, CountsGetter); 5] = [
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_label_values_are_escaped() {
        let mut m = Metrics::new("prod \"eu\"");
        m.gauge("urbackup_client_online", "help", client("a\"b\\c\nd"), 1.0);
        m.counter("urbackup_scrape_errors", "errors", vec![], 3);
        let text = encode(vec![m, Metrics::new("second")]);
        assert!(
            text.contains(
                "urbackup_client_online{server=\"prod \\\"eu\\\"\",client=\"a\\\"b\\\\c\\nd\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE urbackup_scrape_errors counter"),
            "{text}"
        );
        assert!(
            text.contains("urbackup_scrape_errors_total{server="),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 2);
        for l in text.lines() {
            assert!(!l.is_empty(), "no broken lines: {text}");
        }
    }

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

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
//! when the session has expired. Each scrape is one poll of the fleet crate
//! (`urbackup_fleet::ServerPoller`, the same code as `report` and the console), which keeps
//! the session, the backup counts (refreshed by those K requests in rotation) and, after a
//! refused login, a growing pause before the next login: a wrong password gives
//! `urbackup_up 0` and `urbackup_failure{reason="login_refused"}` for that server, the
//! others are served as usual, and the server is not asked to check the password at every
//! scrape (UrBackup bans an address after repeated failed logins).

use super::fleet::members;
use crate::cli::ExporterArgs;
use crate::config::Resolved;
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use urbackup::{BackupKind, BackupState, HealthPolicy, UsageEntry};
use urbackup_fleet::{
    ClientRow, Counts, FleetSnapshot, Member, NoObserver, Plan, ServerPoller, ServerSnapshot,
};

/// Servers scraped at the same time.
const SCRAPE_CONCURRENCY: usize = 32;

/// The content type of the exposition (`prometheus-client` writes OpenMetrics text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `exporter`.
pub async fn run(targets: Vec<Resolved>, a: &ExporterArgs) -> Result<u8> {
    let policy = a.health.policy();
    let servers: Vec<Arc<Exporter>> = members(&targets, a.server.name.as_deref())?
        .into_iter()
        .map(|m| {
            Arc::new(Exporter::new(
                m,
                a.backup_refresh_per_scrape,
                policy.clone(),
            ))
        })
        .collect();
    // Log in once up front, every server at once: a server that cannot be read is said
    // here, once; a refused login is not tried again at every scrape (see above).
    let logins = futures_util::future::join_all(servers.iter().map(|s| s.poller.login())).await;
    for (s, failure) in servers.iter().zip(&logins) {
        if let Some(f) = failure {
            eprintln!(
                "warning: {}: {} ({}); serving urbackup_up 0 for it until it can be read",
                s.poller.name(),
                f.kind.describe(),
                f.message
            );
        }
    }
    let listener = TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let names: Vec<&str> = servers.iter().map(|s| s.poller.name()).collect();
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

/// The exposition of a fleet snapshot (the console's `/metrics`): content type and text.
pub fn exposition(f: &FleetSnapshot, outdated: bool) -> (String, String) {
    let metrics = f.servers.iter().map(|s| Metrics::of(s, outdated)).collect();
    let mut out = String::new();
    if encode_into(metrics, &mut out).is_err() {
        out.clear();
    }
    (CONTENT_TYPE.to_owned(), out)
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
                eprintln!("warning: {}: the scrape task failed: {e}", s.poller.name());
                let mut m = Metrics::new(s.poller.name());
                m.gauge("urbackup_up", UP_HELP, vec![], 0.0);
                scrapes.push(m);
            }
        }
    }
    scrapes
}

const UP_HELP: &str = "1 when the server answered the status request, else 0";
const ERRORS_HELP: &str =
    "Failed requests (status, progress, usage) of scrapes since the exporter started";
const FAILURE_HELP: &str = "1 while the server cannot be read, labelled with why: login_refused (wrong password, unknown user, banned address), access_denied, unreachable, bad_reply";
const LOGIN_RETRY_HELP: &str =
    "After a refused login: Unix time before which no new login is tried";

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
                for r in m.clients.iter() {
                    let server = [("server", m.server.as_str())];
                    let facts = [
                        ("client", r.health.name.as_str()),
                        ("group", r.health.group.as_str()),
                        ("version", r.health.version.as_str()),
                        ("os", r.os.as_str()),
                    ];
                    me.encode_family(&server)?.encode_info(&facts)?;
                }
            }
            for (name, help, get) in CLIENT_GAUGES {
                let mut me = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                for m in servers {
                    for r in m.clients.iter() {
                        let labels = [
                            ("server", m.server.as_str()),
                            ("client", r.health.name.as_str()),
                        ];
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
                for r in m.clients.iter() {
                    for kind in [BackupKind::File, BackupKind::Image] {
                        let labels = [
                            ("server", m.server.as_str()),
                            ("client", r.health.name.as_str()),
                            ("kind", kind.as_str()),
                            ("state", r.health.kind(kind).state.as_str()),
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
                for r in m.clients.iter() {
                    for kind in [BackupKind::File, BackupKind::Image] {
                        let labels = [
                            ("server", m.server.as_str()),
                            ("client", r.health.name.as_str()),
                            ("kind", kind.as_str()),
                        ];
                        let v = f64::from(r.health.kind(kind).severity.code());
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
                    for r in m.clients.iter() {
                        let labels = [
                            ("server", m.server.as_str()),
                            ("client", r.health.name.as_str()),
                        ];
                        ConstGauge::new(b(r.health.outdated)).encode(me.encode_family(&labels)?)?;
                    }
                }
            }
        }
        if servers.iter().any(|m| m.counts.is_some()) {
            for (name, help, get) in COUNT_GAUGES {
                let mut me = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                for m in servers {
                    for (r, k) in m.counted() {
                        if let Some(v) = get(k) {
                            let labels = [
                                ("server", m.server.as_str()),
                                ("client", r.health.name.as_str()),
                            ];
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
                for u in m.usage.iter().flat_map(|u| u.iter()) {
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
                for u in m.usage.iter().flat_map(|u| u.iter()) {
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
    clients: Arc<Vec<ClientRow>>,
    /// Whether `urbackup_client_outdated` is exported.
    outdated: bool,
    /// The `usage` reply, when it answered.
    usage: Option<Arc<Vec<UsageEntry>>>,
    /// Backup counts aligned with `clients`, when counts are on.
    counts: Option<Arc<Vec<Option<Counts>>>>,
}

impl Metrics {
    fn new(server: &str) -> Metrics {
        Metrics {
            server: server.to_string(),
            families: Vec::new(),
            clients: Arc::new(Vec::new()),
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

    /// The clients that have backup counts, with them.
    fn counted(&self) -> impl Iterator<Item = (&ClientRow, &Counts)> {
        self.counts
            .iter()
            .flat_map(|c| c.iter())
            .zip(self.clients.iter())
            .filter_map(|(k, r)| Some((r, k.as_ref()?)))
    }

    /// The metrics of one server's poll. Clients, usage and actions only when the server
    /// could be read (a snapshot keeps an unreachable server's last data; metrics do not).
    pub fn of(s: &ServerSnapshot, outdated: bool) -> Metrics {
        let mut m = Metrics::new(&s.name);
        let up = s.is_up();
        m.gauge("urbackup_up", UP_HELP, vec![], b(up));
        m.family("urbackup_failure", FAILURE_HELP, MetricType::Gauge);
        if let Some(f) = &s.failure {
            m.gauge(
                "urbackup_failure",
                FAILURE_HELP,
                vec![("reason", f.kind.as_str().to_owned())],
                1.0,
            );
            if let Some(t) = f.retry_login_at {
                m.gauge(
                    "urbackup_login_retry_timestamp_seconds",
                    LOGIN_RETRY_HELP,
                    vec![],
                    t as f64,
                );
            }
        }
        if up {
            m.gauge(
                "urbackup_clients",
                "Number of clients",
                vec![],
                s.clients.len() as f64,
            );
            m.clients = s.clients.clone();
            if s.counts.is_some() {
                m.counts = s.counts.clone();
                m.backup_count_metrics(s);
            }
            m.outdated = outdated;
        }
        let usage = s.usage.as_ref().filter(|_| up).map(|(_, u)| u.clone());
        m.gauge(
            "urbackup_usage_up",
            "1 when the usage request succeeded (needs the statistics right)",
            vec![],
            b(usage.is_some()),
        );
        if let Some(usage) = usage {
            m.gauge(
                "urbackup_used_bytes",
                "Storage used by the backups of all clients",
                vec![],
                usage.iter().map(|u| u.used.max(0) as f64).sum(),
            );
            m.usage = Some(usage);
        }
        if let (true, Some(actions)) = (up, &s.actions) {
            m.action_metrics(actions);
        }
        m.counter(
            "urbackup_scrape_errors",
            ERRORS_HELP,
            vec![],
            s.request_errors,
        );
        m.gauge(
            "urbackup_scrape_duration_seconds",
            "Time the scrape of this server took (all its requests)",
            vec![],
            s.poll_duration.as_secs_f64(),
        );
        m
    }

    fn action_metrics(&mut self, actions: &[urbackup::ActionProgress]) {
        self.gauge(
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
            let fi = self.family(name, help, MetricType::Gauge);
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
                    // "Under a minute" (the server's 61 s) is its bound, 60 s.
                    4 => a.eta().map(|d| d.as_secs_f64()),
                    _ => None,
                };
                if let Some(v) = v {
                    self.families[fi].samples.push((labels, Value::Gauge(v)));
                }
            }
        }
    }

    /// The backup-count metrics of the server's counts (set in `self.counts`).
    fn backup_count_metrics(&mut self, s: &ServerSnapshot) {
        let now = Instant::now();
        let (known, oldest) = self
            .counted()
            .fold((0usize, None::<Instant>), |(n, oldest), (_, k)| {
                (n + 1, Some(oldest.map_or(k.at, |o| o.min(k.at))))
            });
        self.gauge(
            "urbackup_backup_counts_clients",
            "Clients that have backup counts so far",
            vec![],
            known as f64,
        );
        self.family(
            "urbackup_backup_counts_age_seconds",
            "Age of the oldest backup counts (absent before any)",
            MetricType::Gauge,
        );
        if let Some(oldest) = oldest {
            self.gauge(
                "urbackup_backup_counts_age_seconds",
                "",
                vec![],
                now.saturating_duration_since(oldest).as_secs_f64().round(),
            );
        }
        self.gauge(
            "urbackup_backup_counts_refreshed",
            "Clients whose backup list this scrape read (at most --backup-refresh-per-scrape)",
            vec![],
            s.counts_refreshed as f64,
        );
        self.counter(
            "urbackup_backup_counts_errors",
            "Backup-list requests that failed since the exporter started",
            vec![],
            s.counts_errors,
        );
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

/// One server of the exporter: its poller (session, backup counts, login pause) and what a
/// scrape reads.
pub struct Exporter {
    poller: ServerPoller,
    plan: Plan,
    outdated: bool,
}

impl Exporter {
    /// An exporter of `member` refreshing the backup lists of at most `per_scrape` clients
    /// per scrape.
    pub fn new(member: Member, per_scrape: usize, policy: HealthPolicy) -> Exporter {
        let outdated = policy.server_version.is_some();
        Exporter {
            poller: ServerPoller::new(member, policy),
            plan: Plan::exporter(per_scrape),
            outdated,
        }
    }

    /// One scrape of this server: `status`, `progress` and `usage`, sent concurrently, then
    /// at most `per_scrape` `backups` requests (only when `status` answered).
    pub async fn scrape(&self) -> Metrics {
        let snap = self.poller.poll(&self.plan, &NoObserver).await;
        Metrics::of(&snap, self.outdated)
    }
}

type RowGetter = fn(&ClientRow) -> f64;

/// The per-client gauges, encoded from the rows.
const CLIENT_GAUGES: [(&str, &str, RowGetter); 9] = [
    (
        "urbackup_client_online",
        "1 when the client is connected",
        |r| b(r.health.online),
    ),
    (
        "urbackup_client_last_file_backup_timestamp_seconds",
        "Unix time of the last file backup (0 = never)",
        |r| r.health.file.last_backup.unwrap_or(0) as f64,
    ),
    (
        "urbackup_client_last_image_backup_timestamp_seconds",
        "Unix time of the last image backup (0 = never)",
        |r| r.health.image.last_backup.unwrap_or(0) as f64,
    ),
    (
        "urbackup_client_last_seen_timestamp_seconds",
        "Unix time the client was last seen",
        |r| r.health.last_seen as f64,
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
        |r| b(r.health.file.state == BackupState::Failed),
    ),
    (
        "urbackup_client_image_failed",
        "1 when the server's verdict on image backups is not OK (not disabled or unsupported, backed up before)",
        |r| b(r.health.image.state == BackupState::Failed),
    ),
    (
        "urbackup_client_last_file_backup_issues",
        "Issues in the last file backup",
        |r| r.health.file_issues as f64,
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
        |k| Some(k.unix as f64),
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
}

//! Builder, network front end, fault injection, counters and the control endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::actions::{self, Ctx, Outcome, Reply};
use crate::http::{self, parse_params, parse_request, ParseError, Response, Route};
use crate::json::to_urbackup_json;
use crate::seed::{self, ClientSpec};
use crate::state::{ServerVersion, SimConfig, State, User};

/// Entry point: `Simulator::builder()`.
pub struct Simulator;

impl Simulator {
    /// A builder with the defaults described in the crate docs.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }
}

#[derive(Debug, Clone)]
struct UserSpec {
    name: String,
    password: String,
    rights: Vec<(String, String)>,
    rounds: u32,
}

/// Configures and starts a simulator.
#[derive(Debug, Clone)]
pub struct SimBuilder {
    clients: usize,
    specs: Vec<ClientSpec>,
    users: Vec<UserSpec>,
    login_failure_delay: Duration,
    session_idle_timeout: Duration,
    latency: Duration,
    keep_alive: bool,
    manual_clock: bool,
    time_scale: f64,
    backup_duration: Duration,
    livelog_wait: Duration,
    rate_limit: bool,
    seed: u64,
    listen: SocketAddr,
    installers: bool,
    start_time: Option<i64>,
    seeded_clients_confirm_restores: bool,
    version: ServerVersion,
}

impl Default for SimBuilder {
    fn default() -> Self {
        SimBuilder {
            clients: 0,
            specs: Vec::new(),
            users: Vec::new(),
            login_failure_delay: Duration::from_secs(1),
            session_idle_timeout: Duration::from_secs(1800),
            latency: Duration::ZERO,
            keep_alive: false,
            manual_clock: false,
            time_scale: 1.0,
            backup_duration: Duration::from_secs(20),
            livelog_wait: Duration::from_secs(10),
            rate_limit: true,
            seed: 42,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            installers: true,
            start_time: None,
            seeded_clients_confirm_restores: false,
            version: ServerVersion::V2_5,
        }
    }
}

impl SimBuilder {
    /// Seed `n` deterministic clients (`client-00001` …, see crate docs).
    pub fn clients(mut self, n: usize) -> Self {
        self.clients = n;
        self
    }
    /// Add the clients of [`example_fleet`](crate::example_fleet) (`fileserver`, `web-01`,
    /// ... `db-01` with a backup running: the names the CLI README's examples use).
    pub fn example_fleet(mut self) -> Self {
        self.specs.extend(crate::example_fleet());
        self
    }
    /// Add an explicit client (created after the seeded ones, in call order).
    pub fn client(mut self, spec: ClientSpec) -> Self {
        self.specs.push(spec);
        self
    }
    /// Add a user with all rights (`all=all`). Without any user, anonymous login works.
    pub fn admin(mut self, name: &str, password: &str) -> Self {
        self.users.push(UserSpec {
            name: name.into(),
            password: password.into(),
            rights: vec![("all".into(), "all".into())],
            rounds: 10000,
        });
        self
    }
    /// Add a limited user with (domain, right) pairs, e.g. `("status", "all")`, `("logs", "1,2")`.
    pub fn user(mut self, name: &str, password: &str, rights: &[(&str, &str)]) -> Self {
        self.users.push(UserSpec {
            name: name.into(),
            password: password.into(),
            rights: rights
                .iter()
                .map(|(d, r)| (d.to_string(), r.to_string()))
                .collect(),
            rounds: 10000,
        });
        self
    }
    /// Add a legacy account (`pbkdf2_rounds` 0, MD5 only) with all rights.
    pub fn legacy_md5_user(mut self, name: &str, password: &str) -> Self {
        self.users.push(UserSpec {
            name: name.into(),
            password: password.into(),
            rights: vec![("all".into(), "all".into())],
            rounds: 0,
        });
        self
    }
    /// Delay before a failed password login answers (default 1 s).
    pub fn login_failure_delay(mut self, d: Duration) -> Self {
        self.login_failure_delay = d;
        self
    }
    /// Idle expiry of sessions on the virtual clock (default 1800 s).
    pub fn session_idle_timeout(mut self, d: Duration) -> Self {
        self.session_idle_timeout = d;
        self
    }
    /// Extra latency added to every action reply (default 0).
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }
    /// Keep-alive mode: send Content-Length and keep connections open (default off,
    /// like the real server: one request per connection, body delimited by close).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }
    /// Manual clock: virtual time only moves with [`SimServer::advance`].
    pub fn manual_clock(mut self) -> Self {
        self.manual_clock = true;
        self
    }
    /// Runs backups, restores and the server's other jobs `s` times faster: their durations
    /// ([`backup_duration`](SimBuilder::backup_duration) and what derives from it) are
    /// divided by `s` (default 1.0; ignored with a manual clock, and when `s` is not a
    /// positive number). The clock itself stays on real time, so that the times the server
    /// reports (backup times, `lastseen`, log times) are real times and ages computed by a
    /// client against its own clock are right.
    pub fn time_scale(mut self, s: f64) -> Self {
        self.time_scale = s;
        self
    }
    /// Duration of a backup at time scale 1 (default 20 s); restores take half of it.
    pub fn backup_duration(mut self, d: Duration) -> Self {
        self.backup_duration = d;
        self
    }
    /// Maximum real time `livelog` (with `lastid`) and `restore_prepare_wait` wait (default 10 s).
    pub fn livelog_wait(mut self, d: Duration) -> Self {
        self.livelog_wait = d;
        self
    }
    /// Failed-login rate limiting (default on).
    pub fn rate_limit(mut self, on: bool) -> Self {
        self.rate_limit = on;
        self
    }
    /// Seed for generated data (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Listen address (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// Whether client installers are available (default true). With `false`,
    /// `download_client` answers `ERROR: Signature verification failed` like a source build
    /// of the real server, and `status` has no `client_downloads`.
    pub fn installers(mut self, on: bool) -> Self {
        self.installers = on;
        self
    }
    /// Seeded clients ([`clients`](SimBuilder::clients)) wait for a person at the client to
    /// confirm each restore, as the client software does by default (default off: they let
    /// the server confirm; see [`ClientSpec::restores_confirmed_at_client`] for one client).
    pub fn seeded_clients_confirm_restores(mut self, on: bool) -> Self {
        self.seeded_clients_confirm_restores = on;
        self
    }
    /// Virtual start time (Unix seconds); default: the real current time.
    pub fn start_time(mut self, unix_secs: i64) -> Self {
        self.start_time = Some(unix_secs);
        self
    }

    /// The server generation to speak: [`ServerVersion::V2_5`] (default, replies as a real
    /// 2.5.33) or [`ServerVersion::V2_4`] (as a real 2.4.15; see [`ServerVersion`] for what
    /// differs). `"2.4.15".parse()` gives one.
    pub fn server_version(mut self, v: ServerVersion) -> Self {
        self.version = v;
        self
    }

    /// Build the initial state (also useful to measure seeding).
    pub fn build_state(&self) -> State {
        let now_ms = self
            .start_time
            .map(|t| t * 1000)
            .unwrap_or_else(real_now_ms);
        let scale = if self.manual_clock || !(self.time_scale.is_finite() && self.time_scale > 0.0)
        {
            1.0
        } else {
            self.time_scale
        };
        let cfg = SimConfig {
            version: self.version,
            backup_duration_ms: ((self.backup_duration.as_millis() as f64 / scale).round() as i64)
                .max(1),
            session_idle_ms: self.session_idle_timeout.as_millis() as i64,
            rate_limit: self.rate_limit,
            installers_available: self.installers,
        };
        let mut st = State::new(self.seed, cfg, now_ms);
        seed::seed_clients(&mut st, self.clients, self.seed);
        if self.seeded_clients_confirm_restores {
            for c in st.clients.values_mut() {
                c.server_confirms_restore = false;
            }
        }
        for spec in &self.specs {
            seed::add_spec(&mut st, spec, self.seed);
        }
        let mut rng = crate::tree::Rng(crate::tree::mix(self.seed ^ 0x5EED));
        for u in &self.users {
            let salt = crate::state::rand_str(&mut rng, 50);
            let hash = crate::auth::stored_hash(&salt, u.password.as_bytes(), u.rounds);
            let id = st.next_user_id;
            st.next_user_id += 1;
            st.users.insert(
                id,
                User {
                    id,
                    name: u.name.clone(),
                    salt,
                    hash,
                    pbkdf2_rounds: u.rounds,
                    rights: u.rights.clone(),
                    report_mail: String::new(),
                    report_loglevel: None,
                    report_sendonly: None,
                },
            );
        }
        st
    }

    fn make_inner(&self, addr: SocketAddr, rx: watch::Receiver<bool>) -> Arc<Inner> {
        let st = self.build_state();
        Arc::new(Inner {
            clock: Clock {
                manual: self.manual_clock,
                start: Instant::now(),
                base_ms: st.now_ms,
                offset_ms: AtomicI64::new(0),
            },
            state: Mutex::new(st),
            login_failure_delay: self.login_failure_delay,
            latency: Mutex::new(self.latency),
            keep_alive: self.keep_alive,
            livelog_wait: self.livelog_wait,
            faults: Mutex::new(Vec::new()),
            counters: Mutex::new(Counters::default()),
            session_locks: Mutex::new(HashMap::new()),
            addr,
            shutdown: rx,
        })
    }

    /// Start on the caller's tokio runtime.
    pub async fn start(self) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let inner = self.make_inner(addr, rx);
        tokio::spawn(accept_loop(inner.clone(), listener));
        Ok(SimServer {
            inner,
            guard: Arc::new(Guard {
                tx,
                thread: Mutex::new(None),
            }),
        })
    }

    /// Start on a dedicated runtime thread (for blocking tests and CLI tests).
    pub fn start_blocking(self) -> std::io::Result<SimServer> {
        let (res_tx, res_rx) = std::sync::mpsc::channel();
        let (tx, rx) = watch::channel(false);
        let builder = self;
        let handle = std::thread::Builder::new()
            .name("urbackup-sim".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = res_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match TcpListener::bind(builder.listen).await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = res_tx.send(Err(e));
                            return;
                        }
                    };
                    let addr = match listener.local_addr() {
                        Ok(a) => a,
                        Err(e) => {
                            let _ = res_tx.send(Err(e));
                            return;
                        }
                    };
                    let mut rx2 = rx.clone();
                    let inner = builder.make_inner(addr, rx);
                    let _ = res_tx.send(Ok(inner.clone()));
                    let task = tokio::spawn(accept_loop(inner, listener));
                    while !*rx2.borrow() {
                        if rx2.changed().await.is_err() {
                            break;
                        }
                    }
                    let _ = task.await;
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })?;
        let inner = res_rx
            .recv()
            .map_err(|_| std::io::Error::other("simulator thread died"))??;
        Ok(SimServer {
            inner,
            guard: Arc::new(Guard {
                tx,
                thread: Mutex::new(Some(handle)),
            }),
        })
    }
}

fn real_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A fault to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Delay the reply by this long (request is processed).
    Delay(Duration),
    /// Send the head and half of the body, then stall (connection stays open).
    StallMidBody,
    /// Read the request, do not process it, reset the TCP connection.
    ResetConnection,
    /// HTTP 502 with an HTML body, as a reverse proxy would (request not processed).
    BadGateway,
    /// Process the request, answer 200 with a body that is not valid JSON.
    InvalidJson,
    /// Process the request, answer with the JSON body cut in half.
    TruncatedJson,
    /// Process the request, answer valid JSON whose values have the wrong types
    /// (numbers → strings, booleans → numbers, strings → objects).
    WrongTypes,
    /// Reset connections as soon as they are accepted (before reading; with an action
    /// filter, after reading the request line).
    RefuseConnections,
    /// Process the request, send the head and half of the body, then close the connection
    /// (a server that goes away in the middle of a download).
    DropMidBody,
}

/// A fault plus where and how often it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// Only for this action (None = every action).
    pub action: Option<String>,
    /// Remaining occurrences (None = unlimited).
    pub times: Option<u64>,
}

impl FaultRule {
    /// A rule for every action, unlimited.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            fault,
            action: None,
            times: None,
        }
    }
    /// Restrict to one action.
    pub fn action(mut self, a: &str) -> Self {
        self.action = Some(a.to_string());
        self
    }
    /// Apply only `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
}

#[derive(Debug, Default, Clone)]
struct Counters {
    requests: HashMap<String, u64>,
    total: u64,
    logins: u64,
}

/// The server's clock: real time from the start (nothing with a manual clock), plus what
/// [`SimServer::advance`] added. The time scale does not touch it (a clock that ran faster
/// than real time would stamp new backups in the future of every client's clock); it
/// shortens the jobs instead (`SimConfig::backup_duration_ms`).
struct Clock {
    manual: bool,
    start: Instant,
    base_ms: i64,
    offset_ms: AtomicI64,
}

impl Clock {
    fn now_ms(&self) -> i64 {
        let real = if self.manual {
            0
        } else {
            self.start.elapsed().as_millis() as i64
        };
        self.base_ms + self.offset_ms.load(Ordering::SeqCst) + real
    }
}

struct Inner {
    state: Mutex<State>,
    clock: Clock,
    login_failure_delay: Duration,
    latency: Mutex<Duration>,
    keep_alive: bool,
    livelog_wait: Duration,
    faults: Mutex<Vec<FaultRule>>,
    counters: Mutex<Counters>,
    session_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        let mut st = lock(&self.state);
        st.tick(self.clock.now_ms());
        st
    }

    fn take_fault(&self, action: Option<&str>, pre_read: bool) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let idx = faults.iter().position(|r| {
            let m = match (&r.action, action) {
                (None, _) => true,
                (Some(a), Some(b)) => a == b,
                (Some(_), None) => false,
            };
            m && (!pre_read || (r.fault == Fault::RefuseConnections && r.action.is_none()))
                && r.times != Some(0)
        })?;
        let f = faults[idx].fault.clone();
        if let Some(t) = faults[idx].times.as_mut() {
            *t -= 1;
            if *t == 0 {
                faults.remove(idx);
            }
        }
        Some(f)
    }
}

struct Guard {
    tx: watch::Sender<bool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.tx.send(true);
    }
}

/// A running simulator. Cheap to clone; the server stops when the last clone is dropped
/// or on [`SimServer::shutdown`].
#[derive(Clone)]
pub struct SimServer {
    inner: Arc<Inner>,
    guard: Arc<Guard>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl SimServer {
    /// `http://ADDR/x`
    pub fn url(&self) -> String {
        format!("http://{}/x", self.inner.addr)
    }
    /// `http://ADDR`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }
    /// Bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }
    /// Move the virtual clock forward (works with any clock) and progress backups.
    pub fn advance(&self, d: Duration) {
        self.inner
            .clock
            .offset_ms
            .fetch_add(d.as_millis() as i64, Ordering::SeqCst);
        drop(self.inner.state());
    }
    /// Virtual time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.inner.clock.now_ms() / 1000
    }
    /// Add a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.inner.faults).push(rule);
    }
    /// Remove all fault rules.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }
    /// Drop all sessions (clients get `{"error":1}` and must log in again).
    pub fn invalidate_sessions(&self) {
        self.inner.state().sessions.clear();
    }
    /// Simulated server restart: state kept, sessions lost, running processes aborted,
    /// image mounts gone.
    pub fn restart(&self) {
        self.inner.state().restart();
    }
    /// Requests that reached the server for `action` (faulted ones included).
    pub fn requests(&self, action: &str) -> u64 {
        lock(&self.inner.counters)
            .requests
            .get(action)
            .copied()
            .unwrap_or(0)
    }
    /// All action requests.
    pub fn total_requests(&self) -> u64 {
        lock(&self.inner.counters).total
    }
    /// Successful logins.
    pub fn logins(&self) -> u64 {
        lock(&self.inner.counters).logins
    }
    /// Reset all counters.
    pub fn reset_counters(&self) {
        *lock(&self.inner.counters) = Counters::default();
    }
    /// Change the per-request latency at run time.
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.inner.latency) = d;
    }
    /// Full access to the state (after progressing processes to "now"). The state lock is
    /// held while `f` runs: do not call other `SimServer` methods inside `f`.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.inner.state();
        f(&mut st)
    }
    /// The bytes of file `path` (`/`-separated; `\xHH` (80-FF) stands for that byte) in file
    /// backup `backupid` of client `name`, as a download sends them; `None` when that backup
    /// holds no such file. For tests that compare what reached them.
    pub fn backup_file(&self, name: &str, backupid: i64, path: &str) -> Option<Vec<u8>> {
        let st = self.inner.state();
        let c = st.clients.get(&st.client_id(name)?)?;
        let b = c.file_backups.iter().find(|b| b.id == backupid)?;
        let comps = crate::backups_action::path_components(&crate::bytes::latin1(path));
        match crate::extra::lookup(c, b, &comps)? {
            Err(e) => Some(crate::tree::content(&e, &format!("/{}", comps.join("/")))),
            Ok(_) => None,
        }
    }
    /// Client id by name.
    pub fn client_id(&self, name: &str) -> Option<i64> {
        self.inner.state().client_id(name)
    }
    /// The answer of the person at client `name` to its restores waiting for confirmation
    /// (see [`ClientSpec::restores_confirmed_at_client`]); returns how many were waiting.
    pub fn answer_restore(&self, name: &str, yes: bool) -> usize {
        let mut st = self.inner.state();
        match st.client_id(name) {
            Some(id) => st.answer_restore(id, yes),
            None => 0,
        }
    }
    /// Set a client online/offline (offline aborts its running backups).
    pub fn set_online(&self, name: &str, online: bool) {
        let mut st = self.inner.state();
        let now = st.now();
        if let Some(id) = st.client_id(name) {
            if let Some(c) = st.clients.get_mut(&id) {
                c.online = online;
                if online {
                    if c.ip == "-" {
                        c.ip = "127.0.0.1".into();
                    }
                    c.lastseen = now;
                }
            }
        }
        let t = self.inner.clock.now_ms();
        st.tick(t);
    }
    /// Stop the server.
    pub async fn shutdown(self) {
        let _ = self.guard.tx.send(true);
        tokio::task::yield_now().await;
    }
    /// Stop the server and wait for its thread (for `start_blocking`).
    pub fn shutdown_blocking(self) {
        let _ = self.guard.tx.send(true);
        let h = lock(&self.guard.thread).take();
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    let mut rx = inner.shutdown.clone();
    loop {
        if *rx.borrow() {
            break;
        }
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, peer)) = r else { continue };
                if let Some(Fault::RefuseConnections) = inner.take_fault(None, true) {
                    count(&inner, None);
                    reset(stream);
                    continue;
                }
                let inner = inner.clone();
                tokio::spawn(async move {
                    let _ = handle_conn(inner, stream, peer).await;
                });
            }
            r = rx.changed() => {
                if r.is_err() { break; }
            }
        }
    }
}

fn reset(stream: TcpStream) {
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

fn count(inner: &Inner, action: Option<&str>) {
    let mut c = lock(&inner.counters);
    c.total += 1;
    if let Some(a) = action {
        *c.requests.entry(a.to_string()).or_insert(0) += 1;
    }
}

enum Outgoing {
    Respond(Response, Option<Fault>),
    Reset,
}

async fn handle_conn(
    inner: Arc<Inner>,
    mut stream: TcpStream,
    peer: SocketAddr,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let req = loop {
            match parse_request(&buf) {
                Ok(r) => break r,
                Err(ParseError::Incomplete) => {
                    let mut tmp = [0u8; 8192];
                    let mut rx = inner.shutdown.clone();
                    let n = tokio::select! {
                        r = tokio::time::timeout(Duration::from_secs(300), stream.read(&mut tmp)) => match r {
                            Ok(r) => r?,
                            Err(_) => return Ok(()),
                        },
                        _ = rx.changed() => return Ok(()),
                    };
                    if n == 0 {
                        return Ok(());
                    }
                    buf.extend_from_slice(&tmp[..n]);
                }
                Err(_) => {
                    let _ = stream
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return Ok(());
                }
            }
        };
        buf.drain(..req.consumed.min(buf.len()));
        let out = process(&inner, req, peer).await;
        let keep = inner.keep_alive;
        match out {
            Outgoing::Reset => {
                reset(stream);
                return Ok(());
            }
            Outgoing::Respond(mut resp, fault) => {
                if let Some(f @ (Fault::StallMidBody | Fault::DropMidBody)) = &fault {
                    let mut head = resp.head(false);
                    if keep && !resp.has_content_length {
                        head = resp.head(true);
                    }
                    stream.write_all(&head).await?;
                    write_body(&mut stream, &resp, resp.body_len() / 2).await?;
                    stream.flush().await?;
                    if *f == Fault::DropMidBody {
                        // The server goes away: the connection closes in the middle.
                        let _ = stream.shutdown().await;
                        return Ok(());
                    }
                    let mut rx = inner.shutdown.clone();
                    let mut tmp = [0u8; 1024];
                    loop {
                        tokio::select! {
                            r = stream.read(&mut tmp) => {
                                match r { Ok(0) | Err(_) => return Ok(()), Ok(_) => {} }
                            }
                            _ = rx.changed() => return Ok(()),
                            _ = tokio::time::sleep(Duration::from_secs(600)) => return Ok(()),
                        }
                    }
                }
                if keep && resp.has_content_length {
                    // body length may have changed through a fault
                    let len = resp.body_len().to_string();
                    for h in resp.headers.iter_mut() {
                        if h.0.eq_ignore_ascii_case("Content-Length") {
                            h.1.clone_from(&len);
                        }
                    }
                }
                stream.write_all(&resp.head(keep)).await?;
                write_body(&mut stream, &resp, resp.body_len()).await?;
                stream.flush().await?;
                if !keep {
                    let _ = stream.shutdown().await;
                    return Ok(());
                }
            }
        }
    }
}

/// Writes the first `limit` bytes of a response's body: its bytes, then its generated part
/// piece by piece (a large file is never held whole).
async fn write_body(stream: &mut TcpStream, resp: &Response, limit: u64) -> std::io::Result<()> {
    const PIECE: usize = 256 * 1024;
    let head = (resp.body.len() as u64).min(limit) as usize;
    stream.write_all(&resp.body[..head]).await?;
    if let Some(g) = resp.generated {
        let end = g.len.min(limit - head as u64);
        let mut at = 0u64;
        while at < end {
            let n = (end - at).min(PIECE as u64) as usize;
            stream
                .write_all(&crate::tree::generated(g.seed, at, n))
                .await?;
            at += n as u64;
        }
    }
    Ok(())
}

fn json_response(v: &Value) -> Response {
    Response {
        status_line: "HTTP/1.1 200 ok".into(),
        headers: vec![
            ("Cache-Control".into(), "max-age=0".into()),
            ("Content-type".into(), "application/json".into()),
        ],
        body: serde_json::to_vec_pretty(v).unwrap_or_default(),
        has_content_length: false,
        generated: None,
    }
}

fn reply_to_response(reply: Reply) -> Response {
    let mut headers: Vec<(String, String)> = vec![("Cache-Control".into(), "max-age=0".into())];
    let mut has_cl = false;
    let mut generated = None;
    let body = match reply {
        Reply::Json(v) => {
            headers.push(("Content-type".into(), "application/json".into()));
            headers.push(("X-Frame-Options".into(), "DENY".into()));
            to_urbackup_json(&v)
        }
        Reply::Empty => {
            headers.push(("X-Frame-Options".into(), "DENY".into()));
            Vec::new()
        }
        Reply::Text {
            content_type,
            body,
            xframe,
        } => {
            if let Some(ct) = content_type {
                headers.push(("Content-type".into(), ct.into()));
            }
            if xframe {
                headers.push(("X-Frame-Options".into(), "DENY".into()));
            }
            body.into_bytes()
        }
        Reply::Download {
            filename,
            body,
            generated: g,
            content_length,
            no_cache,
        } => {
            generated = g;
            if content_length {
                let len = body.len() as u64 + generated.map_or(0, |g| g.len);
                headers.push(("Content-Length".into(), len.to_string()));
                has_cl = true;
            }
            headers.push((
                "Content-Disposition".into(),
                format!("attachment; filename=\"{filename}\""),
            ));
            if no_cache {
                headers.push(("Cache-Control".into(), "no-cache".into()));
            }
            headers.push(("Content-type".into(), "application/octet-stream".into()));
            headers.push(("X-Frame-Options".into(), "DENY".into()));
            body
        }
    };
    Response {
        status_line: "HTTP/1.1 200 ok".into(),
        headers,
        body,
        has_content_length: has_cl,
        generated,
    }
}

fn bad_gateway() -> Response {
    let body = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    Response {
        status_line: "HTTP/1.1 502 Bad Gateway".into(),
        headers: vec![
            ("Server".into(), "nginx".into()),
            ("Content-Type".into(), "text/html".into()),
            ("Content-Length".into(), body.len().to_string()),
        ],
        body: body.as_bytes().to_vec(),
        has_content_length: true,
        generated: None,
    }
}

fn wrong_types(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => json!(if *b { 1 } else { 0 }),
        Value::String(s) => json!({ "value": s }),
        Value::Array(a) => Value::Array(a.iter().map(wrong_types).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), wrong_types(v))).collect())
        }
        Value::Null => Value::Null,
    }
}

async fn process(inner: &Arc<Inner>, req: http::ParsedRequest, peer: SocketAddr) -> Outgoing {
    let route = http::route(&req.target);
    let (name, context, query) = match route {
        Route::Control { path, query } => {
            return Outgoing::Respond(control(inner, &path, &query), None);
        }
        Route::NotFound => {
            count(inner, None);
            return Outgoing::Respond(
                Response {
                    status_line: "HTTP/1.1 404 Not Found".into(),
                    headers: vec![
                        ("Content-Type".into(), "text/html".into()),
                        ("Content-Length".into(), "22".into()),
                    ],
                    body: b"Sorry. File not found.".to_vec(),
                    has_content_length: true,
                    generated: None,
                },
                None,
            );
        }
        Route::Action {
            name,
            context,
            query,
        } => (name, context, query),
    };
    count(inner, Some(&name));
    let fault = inner.take_fault(Some(&name), false);
    match &fault {
        Some(Fault::ResetConnection) | Some(Fault::RefuseConnections) => return Outgoing::Reset,
        Some(Fault::BadGateway) => return Outgoing::Respond(bad_gateway(), None),
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let latency = *lock(&inner.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let known = matches!(
        name.as_str(),
        "progress"
            | "login"
            | "salt"
            | "lastacts"
            | "piegraph"
            | "usagegraph"
            | "usage"
            | "users"
            | "status"
            | "backups"
            | "settings"
            | "logs"
            | "getimage"
            | "download_client"
            | "livelog"
            | "start_backup"
            | "add_client"
            | "restore_prepare_wait"
            | "scripts"
            | "status_check"
            | "restore_image"
            | "server_status"
    );
    if !context.is_empty() || !known {
        let resp = Response {
            status_line: "HTTP/1.1 200 ok".into(),
            headers: vec![
                ("Cache-Control".into(), "max-age=0".into()),
                ("Content-type".into(), "text/html; charset=UTF-8".into()),
            ],
            body: format!("Error: Unknown action [{}]", http::html_escape(&name)).into_bytes(),
            has_content_length: false,
            generated: None,
        };
        return Outgoing::Respond(resp, fault);
    }
    let get = parse_params(query.as_bytes());
    let post = if req.method.eq_ignore_ascii_case("POST") {
        parse_params(&req.body)
    } else {
        Default::default()
    };
    let p = match name.as_str() {
        "download_client" => get,
        "backups" if get.contains_key("ses") => get,
        _ => post,
    };
    let ip = req
        .header("X-Forwarded-For")
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| peer.ip().to_string());
    let ctx = Ctx { p, ip };
    let ses = ctx.get("ses").to_string();
    let _session_guard = if !ses.is_empty() && name != "livelog" {
        let m = {
            let mut locks = lock(&inner.session_locks);
            if locks.len() > 4096 {
                locks.retain(|_, v| Arc::strong_count(v) > 1);
            }
            locks.entry(ses.clone()).or_default().clone()
        };
        Some(m.lock_owned().await)
    } else {
        None
    };
    let outcome: Outcome = match name.as_str() {
        "livelog" | "restore_prepare_wait" => {
            let deadline = Instant::now() + inner.livelog_wait;
            loop {
                let final_attempt = Instant::now() >= deadline;
                let r = {
                    let mut st = inner.state();
                    if name == "livelog" {
                        actions::livelog_step(&mut st, &ctx, final_attempt)
                    } else {
                        actions::restore_wait_step(&mut st, &ctx, final_attempt)
                    }
                };
                if let Some(o) = r {
                    break o;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                let mut rx = inner.shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(left.min(Duration::from_millis(50))) => {}
                    _ = rx.changed() => {}
                }
            }
        }
        _ => {
            let mut st = inner.state();
            match actions::dispatch(&mut st, &name, &ctx) {
                Some(o) => o,
                None => Reply::Empty.into(),
            }
        }
    };
    if outcome.login_success {
        lock(&inner.counters).logins += 1;
    }
    if outcome.login_failed && !inner.login_failure_delay.is_zero() {
        tokio::time::sleep(inner.login_failure_delay).await;
    }
    let is_json = matches!(outcome.reply, Reply::Json(_));
    // the real server repeats X-Frame-Options in some `backups` replies
    let xframe_repeat = match (name.as_str(), ctx.get("sa")) {
        ("backups", "backups") if is_json => 3,
        ("backups", "files") if is_json => 2,
        _ => 1,
    };
    let mut resp = match (&fault, outcome.reply) {
        (Some(Fault::WrongTypes), Reply::Json(v)) => {
            reply_to_response(Reply::Json(wrong_types(&v)))
        }
        (_, r) => reply_to_response(r),
    };
    for _ in 1..xframe_repeat {
        resp.headers.push(("X-Frame-Options".into(), "DENY".into()));
    }
    match &fault {
        Some(Fault::InvalidJson) if is_json => {
            resp.body = b"{\n\"error\": nope,\n\"status\": [{\n\"id\": 1,,\n}\n".to_vec();
        }
        Some(Fault::TruncatedJson) if is_json => {
            let n = (resp.body.len() / 2)
                .max(1)
                .min(resp.body.len().saturating_sub(1));
            resp.body.truncate(n);
        }
        _ => {}
    }
    Outgoing::Respond(resp, fault)
}

fn parse_fault(p: &HashMap<String, String>) -> Option<Fault> {
    let kind = p.get("kind").map(|s| s.as_str()).unwrap_or("");
    Some(match kind {
        "delay" => Fault::Delay(Duration::from_millis(
            p.get("ms").and_then(|s| s.parse().ok()).unwrap_or(1000),
        )),
        "stall" | "stall_mid_body" => Fault::StallMidBody,
        "drop" | "drop_mid_body" => Fault::DropMidBody,
        "reset" | "reset_connection" => Fault::ResetConnection,
        "bad_gateway" | "502" => Fault::BadGateway,
        "invalid_json" => Fault::InvalidJson,
        "truncated_json" => Fault::TruncatedJson,
        "wrong_types" => Fault::WrongTypes,
        "refuse" | "refuse_connections" => Fault::RefuseConnections,
        _ => return None,
    })
}

fn control(inner: &Arc<Inner>, path: &str, query: &str) -> Response {
    let p = parse_params(query.as_bytes());
    let v = match path.trim_end_matches('/') {
        "stats" => {
            let c = lock(&inner.counters).clone();
            json!({"requests": c.requests, "total": c.total, "logins": c.logins, "now": inner.clock.now_ms() / 1000})
        }
        "reset" => {
            *lock(&inner.counters) = Counters::default();
            json!({"ok": true})
        }
        "fault" => match parse_fault(&p) {
            Some(f) => {
                let mut r = FaultRule::new(f);
                if let Some(a) = p.get("action").filter(|a| !a.is_empty()) {
                    r = r.action(a);
                }
                if let Some(t) = p.get("times").and_then(|t| t.parse().ok()) {
                    r = r.times(t);
                }
                lock(&inner.faults).push(r);
                json!({"ok": true})
            }
            None => json!({"ok": false, "error": "unknown fault kind"}),
        },
        "clear_faults" => {
            lock(&inner.faults).clear();
            json!({"ok": true})
        }
        "advance" => {
            let secs: f64 = p.get("secs").and_then(|s| s.parse().ok()).unwrap_or(0.0);
            inner
                .clock
                .offset_ms
                .fetch_add((secs * 1000.0) as i64, Ordering::SeqCst);
            drop(inner.state());
            json!({"ok": true, "now": inner.clock.now_ms() / 1000})
        }
        "restart" => {
            inner.state().restart();
            json!({"ok": true})
        }
        "invalidate_sessions" => {
            inner.state().sessions.clear();
            json!({"ok": true})
        }
        "online" => {
            let name = p.get("name").cloned().unwrap_or_default();
            let on = p
                .get("online")
                .map(|v| v == "true" || v == "1")
                .unwrap_or(true);
            let mut st = inner.state();
            let found = match st.client_id(&name) {
                Some(id) => {
                    if let Some(c) = st.clients.get_mut(&id) {
                        c.online = on;
                        if on && c.ip == "-" {
                            c.ip = "127.0.0.1".into();
                        }
                    }
                    true
                }
                None => false,
            };
            json!({"ok": found})
        }
        "confirm_restore" => {
            let name = p.get("client").cloned().unwrap_or_default();
            let yes = p.get("ok").map(|v| v == "true" || v == "1").unwrap_or(true);
            let mut st = inner.state();
            let n = st.client_id(&name).map(|id| st.answer_restore(id, yes));
            json!({"ok": n.is_some_and(|n| n > 0), "restores": n.unwrap_or(0)})
        }
        "latency" => {
            let ms: u64 = p.get("ms").and_then(|s| s.parse().ok()).unwrap_or(0);
            *lock(&inner.latency) = Duration::from_millis(ms);
            json!({"ok": true})
        }
        _ => json!({"ok": false, "error": "unknown control endpoint"}),
    };
    json_response(&v)
}

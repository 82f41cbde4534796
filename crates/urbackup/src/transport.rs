//! The one code path of every web-API call: encode the form, attach the session (logging in
//! first, single-flight), send with timeouts and basic auth, decode, map the in-body error
//! shapes in one table, and log in again once when the server says the session is gone.
//!
//! Downloads share the path up to the decoding step, then hand the body on as a stream
//! ([`BackupDownload`]), which [`Transport::download`] writes to a temporary file that is
//! renamed into place only when complete.

use crate::download::BackupDownload;
use crate::error::{snippet, AuthFailure, Result, UrbackupError};
use crate::http::{HttpClient, HttpError, Response, TlsOptions};
use crate::models::FromElement;
use crate::secret::Secret;
use crate::session::{Session, SessionObserver};
use crate::stream::ListSplitter;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tracing::{debug, trace, warn};
use url::Url;

/// Bodies larger than this cannot be one of the server's error shapes (the largest, the
/// settings refusal with its `ONLY_WIN32_*` keys, is under 100 bytes), so they skip the probe.
const ERROR_PROBE_LIMIT: usize = 1024;

/// Whether repeating a call is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A read: retried (bounded, jittered) on connection failures and proxy errors.
    Read,
    /// A write: never retried after it may have reached the server.
    Write,
}

/// One web-API call.
pub(crate) struct Call<'a> {
    pub action: &'static str,
    pub params: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub kind: Kind,
    /// A long-poll call (`livelog`, `restore_prepare_wait`) gets the long-poll timeout.
    pub long_poll: bool,
    /// Parameters go in the query string (`download_client` reads only those).
    pub query_params: bool,
    /// Indexes of parameters sent exactly as given (passwords), not through
    /// [`text::to_server`](crate::text::to_server) like every other value.
    pub verbatim: Vec<usize>,
}

impl<'a> Call<'a> {
    pub(crate) fn read(action: &'static str) -> Self {
        Call {
            action,
            params: Vec::new(),
            kind: Kind::Read,
            long_poll: false,
            query_params: false,
            verbatim: Vec::new(),
        }
    }

    pub(crate) fn write(action: &'static str) -> Self {
        Call {
            kind: Kind::Write,
            ..Call::read(action)
        }
    }

    pub(crate) fn param(
        mut self,
        key: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.params.push((key.into(), value.into()));
        self
    }

    /// A parameter sent exactly as given (a clear password): not read under the crate's
    /// rule for names that are not UTF-8.
    pub(crate) fn verbatim_param(
        mut self,
        key: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.verbatim.push(self.params.len());
        self.param(key, value)
    }

    pub(crate) fn param_opt(
        self,
        key: &'static str,
        value: Option<impl Into<Cow<'a, str>>>,
    ) -> Self {
        match value {
            Some(v) => self.param(key, v),
            None => self,
        }
    }

    pub(crate) fn long_poll(mut self) -> Self {
        self.long_poll = true;
        self
    }

    /// The sub-action (`sa`), if the call has one.
    fn sub_action(&self) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == "sa")
            .map(|(_, v)| v.as_ref())
    }

    /// The refusal of this call: access denied, naming the sub-action (so that the error can
    /// say which right is missing).
    fn denied(&self) -> UrbackupError {
        UrbackupError::access_denied(self.action, self.sub_action().map(str::to_owned))
    }

    /// An error of this call's error table with the sub-action filled in where the server
    /// gave no code.
    fn refine(&self, e: UrbackupError) -> UrbackupError {
        match e {
            UrbackupError::AccessDenied { detail: None, .. } => self.denied(),
            other => other,
        }
    }

    /// Sends the parameters (and the session) in the query string: for the one action that
    /// reads nothing else (`download_client`).
    pub(crate) fn in_query(mut self) -> Self {
        self.query_params = true;
        self
    }
}

/// How the password is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoginMethod {
    /// `salt` + PBKDF2/MD5 proof, as the web interface does (local accounts).
    #[default]
    Hashed,
    /// `plainpw=1` with the clear password: needed for LDAP accounts. The password then
    /// travels in the request body: use HTTPS.
    PlainPassword,
}

/// Timeouts and limits of the transport.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub long_poll_timeout: Duration,
    pub download_idle_timeout: Duration,
    pub read_retries: u32,
    pub retry_base_delay: Duration,
    pub max_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            long_poll_timeout: Duration::from_secs(45),
            download_idle_timeout: Duration::from_secs(60),
            read_retries: 2,
            retry_base_delay: Duration::from_millis(200),
            max_response_bytes: 256 * 1024 * 1024,
        }
    }
}

/// What the last successful login reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginInfo {
    /// The session is the anonymous admin session (the server has no users).
    pub anonymous: bool,
    /// Web API version (2 for UrBackup 2.x).
    pub api_version: Option<i64>,
    /// Rights reported by the login reply (`status`, `graph`, `progress`, `browse_backups`,
    /// `settings`, `logs`): `all`, `none` or a client id list.
    pub rights: Vec<(String, String)>,
}

#[derive(Default)]
struct SessionSlot {
    token: Option<Secret>,
    generation: u64,
}

/// A body as it came.
pub(crate) struct Reply {
    pub body: Bytes,
    pub content_type: Option<String>,
}

impl Reply {
    fn is_html(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("text/html"))
    }
}

/// The shared state behind every clone of a server handle.
pub(crate) struct Transport {
    http: HttpClient,
    endpoint: Url,
    username: String,
    password: Secret,
    basic: Option<(String, Secret)>,
    login_method: LoginMethod,
    anonymous_first: bool,
    pub(crate) limits: Limits,
    session: RwLock<SessionSlot>,
    login_lock: tokio::sync::Mutex<()>,
    /// The server refused an anonymous login once: it has users, skip that probe next time.
    has_users: AtomicBool,
    last_login: Mutex<Option<LoginInfo>>,
    /// Told of every new session and of a session that is gone.
    observer: Option<SessionObserver>,
    /// The server generation its replies showed: 0 not yet known, 24, 25.
    generation: std::sync::atomic::AtomicU8,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.endpoint.as_str())
            .field("username", &self.username)
            .field("password", &self.password)
            .field("basic_auth", &self.basic.as_ref().map(|(u, _)| (u, "***")))
            .field("login_method", &self.login_method)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Normalises the server URL to the action endpoint `.../x`.
pub(crate) fn endpoint_url(url: &str) -> Result<(Url, Option<(String, Secret)>)> {
    let mut u = Url::parse(url.trim())
        .map_err(|e| UrbackupError::InvalidInput(format!("invalid server URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(UrbackupError::InvalidInput(format!(
            "server URL must be http or https, not `{}`",
            u.scheme()
        )));
    }
    if u.host_str().is_none() {
        return Err(UrbackupError::InvalidInput("server URL has no host".into()));
    }
    // Credentials in the URL are moved to basic auth, so they never appear in a logged URL.
    let basic = if !u.username().is_empty() {
        let user = percent_decode(u.username());
        let pw = percent_decode(u.password().unwrap_or(""));
        let _ = u.set_username("");
        let _ = u.set_password(None);
        Some((user, Secret::new(pw)))
    } else {
        None
    };
    u.set_query(None);
    u.set_fragment(None);
    let path = u.path().trim_end_matches('/').to_owned();
    let path = if path.rsplit('/').next() == Some("x") {
        path
    } else {
        format!("{path}/x")
    };
    u.set_path(&path);
    Ok((u, basic))
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub(crate) struct TransportConfig {
    pub url: String,
    pub username: String,
    pub password: Secret,
    pub basic: Option<(String, Secret)>,
    pub login_method: LoginMethod,
    pub anonymous_first: bool,
    pub limits: Limits,
    pub user_agent: String,
    pub root_certificates_pem: Vec<Vec<u8>>,
    pub accept_invalid_certs: bool,
    /// A session made earlier (by another process) to use until the server refuses it.
    pub resume: Option<Session>,
    pub observer: Option<SessionObserver>,
}

impl Transport {
    pub(crate) fn new(cfg: TransportConfig) -> Result<Transport> {
        let (endpoint, url_basic) = endpoint_url(&cfg.url)?;
        let basic = cfg.basic.or(url_basic);
        let http = HttpClient::new(
            &endpoint,
            cfg.limits.connect_timeout,
            &cfg.user_agent,
            basic.as_ref().map(|(u, p)| (u.as_str(), p.expose())),
            TlsOptions {
                extra_roots_pem: cfg.root_certificates_pem,
                accept_invalid_certs: cfg.accept_invalid_certs,
            },
        )
        .map_err(UrbackupError::InvalidInput)?;
        let (slot, last_login) = match cfg.resume {
            Some(s) if !s.token().is_empty() => (
                SessionSlot {
                    token: Some(s.token().clone()),
                    generation: 0,
                },
                Some(s.login_info().clone()),
            ),
            _ => (SessionSlot::default(), None),
        };
        Ok(Transport {
            http,
            endpoint,
            username: cfg.username,
            password: cfg.password,
            basic,
            login_method: cfg.login_method,
            anonymous_first: cfg.anonymous_first,
            limits: cfg.limits,
            session: RwLock::new(slot),
            login_lock: tokio::sync::Mutex::new(()),
            has_users: AtomicBool::new(false),
            last_login: Mutex::new(last_login),
            observer: cfg.observer,
            generation: std::sync::atomic::AtomicU8::new(0),
        })
    }

    /// Notes the server generation a reply showed.
    pub(crate) fn note_generation(&self, g: crate::models::ServerGeneration) {
        let v = match g {
            crate::models::ServerGeneration::V2_4 => 24,
            crate::models::ServerGeneration::V2_5 => 25,
        };
        self.generation.store(v, Ordering::Relaxed);
    }

    /// The server generation replies have shown so far.
    pub(crate) fn generation(&self) -> Option<crate::models::ServerGeneration> {
        match self.generation.load(Ordering::Relaxed) {
            24 => Some(crate::models::ServerGeneration::V2_4),
            25 => Some(crate::models::ServerGeneration::V2_5),
            _ => None,
        }
    }

    pub(crate) fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    pub(crate) fn last_login(&self) -> Option<LoginInfo> {
        self.last_login.lock().ok().and_then(|l| l.clone())
    }

    /// The session in use, if any (made by a login of this handle or resumed).
    pub(crate) fn session(&self) -> Option<Session> {
        let (token, _) = self.current()?;
        Some(Session::new(token, self.last_login().unwrap_or_default()))
    }

    fn notify(&self, session: Option<&Session>) {
        if let Some(observer) = &self.observer {
            observer(session);
        }
    }

    /// Calls an action and decodes its reply as `T`.
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T> {
        let reply = self.execute(&call).await?;
        decode(call.action, &reply)
    }

    /// Calls an action and decodes the elements of the list under `key` one by one as the
    /// reply arrives, handing each to `on_item`; the whole reply is never held in memory.
    /// Returns the reply's other fields, decoded as `R` (the list left empty). Session
    /// handling, the error table and timeouts are those of [`Transport::call`].
    pub(crate) async fn call_each<T: FromElement, R: DeserializeOwned>(
        &self,
        call: Call<'_>,
        key: &'static str,
        on_item: &mut (dyn FnMut(T) + Send),
    ) -> Result<R> {
        let mut relogged = false;
        loop {
            let (token, generation, fresh) = self.ensure_session().await?;
            let timeout = self.limits.timeout;
            let outcome = self
                .within(&call, timeout, call.kind == Kind::Write, async {
                    let mut resp = self
                        .retrying(&call, || self.send_head(&call, &token))
                        .await?;
                    // Enough of the body to tell an error shape (they are all tiny) from data.
                    let mut head = Vec::new();
                    let mut ended = false;
                    while head.len() <= ERROR_PROBE_LIMIT {
                        match resp.chunk().await.map_err(|e| self.map_http(&call, e))? {
                            Some(c) => head.extend_from_slice(&c),
                            None => {
                                ended = true;
                                break;
                            }
                        }
                    }
                    if ended {
                        let reply = Reply {
                            body: Bytes::from(head),
                            content_type: resp.content_type.take(),
                        };
                        match classify(call.action, &reply) {
                            Verdict::SessionRefused => return Ok(None),
                            Verdict::Error(e) => return Err(call.refine(e)),
                            Verdict::Ok => {}
                        }
                        return split_items(call.action, key, &reply.body, &mut *on_item).map(Some);
                    }
                    let limit = self.limits.max_response_bytes;
                    let mut splitter = ListSplitter::new(key);
                    let mut decode = element_decoder(call.action, &mut *on_item);
                    let mut total = head.len() as u64;
                    splitter.feed(&head, &mut decode)?;
                    drop(head);
                    while let Some(chunk) =
                        resp.chunk().await.map_err(|e| self.map_http(&call, e))?
                    {
                        total += chunk.len() as u64;
                        if total > limit {
                            return Err(UrbackupError::ResponseTooLarge {
                                action: call.action.to_owned(),
                                limit,
                            });
                        }
                        splitter.feed(&chunk, &mut decode)?;
                    }
                    if !splitter.complete() {
                        return Err(UrbackupError::unexpected(
                            call.action,
                            "the reply ended early",
                            b"",
                        ));
                    }
                    Ok(Some(Bytes::copy_from_slice(splitter.outside())))
                })
                .await?;
            match outcome {
                Some(rest) => {
                    return decode(
                        call.action,
                        &Reply {
                            body: rest,
                            content_type: None,
                        },
                    )
                }
                None if relogged || fresh => return Err(call.denied()),
                None => {
                    debug!(action = call.action, "session refused; logging in again");
                    self.relogin(Some(generation)).await?;
                    relogged = true;
                }
            }
        }
    }

    /// Sends a call with the session, logging in first when needed and once more when the
    /// server refuses the session. Returns a reply that passed the error table.
    async fn execute(&self, call: &Call<'_>) -> Result<Reply> {
        let mut relogged = false;
        loop {
            let (token, generation, fresh) = self.ensure_session().await?;
            let reply = self.send(call, Some(&token)).await?;
            match classify(call.action, &reply) {
                Verdict::Ok => return Ok(reply),
                Verdict::Error(e) => return Err(call.refine(e)),
                Verdict::SessionRefused => {
                    if relogged || fresh {
                        // Refused with a session that was just made: a missing right.
                        return Err(call.denied());
                    }
                    debug!(action = call.action, "session refused; logging in again");
                    self.relogin(Some(generation)).await?;
                    relogged = true;
                }
            }
        }
    }

    /// The current session, logging in when there is none. `fresh` is true when this call
    /// waited for a login that happened just now.
    async fn ensure_session(&self) -> Result<(Secret, u64, bool)> {
        if let Some((t, g)) = self.current() {
            return Ok((t, g, false));
        }
        let (t, g) = self.relogin(None).await?;
        Ok((t, g, true))
    }

    fn current(&self) -> Option<(Secret, u64)> {
        let slot = self.session.read().unwrap_or_else(|p| p.into_inner());
        slot.token.clone().map(|t| (t, slot.generation))
    }

    /// Logs in unless another caller already replaced the session of generation `stale`
    /// (single flight: concurrent callers wait for one login).
    async fn relogin(&self, stale: Option<u64>) -> Result<(Secret, u64)> {
        let _guard = self.login_lock.lock().await;
        if let Some((t, g)) = self.current() {
            if stale != Some(g) {
                return Ok((t, g));
            }
        }
        let (token, info) = match self.perform_login().await {
            Ok(ok) => ok,
            Err(e) => {
                // The server refused the session of generation `stale`: it is of no use any
                // more, even though no new one could be made.
                if stale.is_some() && self.clear_session(stale) {
                    self.notify(None);
                }
                return Err(e);
            }
        };
        let generation = {
            let mut slot = self.session.write().unwrap_or_else(|p| p.into_inner());
            slot.token = Some(token.clone());
            slot.generation += 1;
            slot.generation
        };
        if let Ok(mut l) = self.last_login.lock() {
            *l = Some(info.clone());
        }
        self.notify(Some(&Session::new(token.clone(), info)));
        Ok((token, generation))
    }

    /// Drops the session (of generation `only`, if given); true when there was one.
    fn clear_session(&self, only: Option<u64>) -> bool {
        let mut slot = self.session.write().unwrap_or_else(|p| p.into_inner());
        if only.is_some_and(|g| g != slot.generation) {
            return false;
        }
        slot.token.take().is_some()
    }

    /// Forgets the session (the next call logs in again).
    pub(crate) fn forget_session(&self) {
        if self.clear_session(None) {
            self.notify(None);
        }
    }

    /// Makes sure a session exists, logging in if needed.
    pub(crate) async fn login(&self) -> Result<LoginInfo> {
        self.ensure_session().await?;
        Ok(self.last_login().unwrap_or_default())
    }

    /// The login flow. With a user name: `salt` + the hashed proof (or the plain password),
    /// falling back to the anonymous login when the server does not know the user (a server
    /// without users). Without one, or with `anonymous_first`: the anonymous login first, as
    /// the specification describes (one round trip more for servers with users).
    async fn perform_login(&self) -> Result<(Secret, LoginInfo)> {
        let direct = !self.username.is_empty() && !self.anonymous_first;
        if !direct && !self.has_users.load(Ordering::Relaxed) {
            if let Some(anonymous) = self.login_anonymous().await? {
                return Ok(anonymous);
            }
        }
        if self.username.is_empty() {
            return Err(UrbackupError::Authentication(
                AuthFailure::CredentialsRequired,
            ));
        }
        let result = match self.login_method {
            LoginMethod::PlainPassword => self.login_plain().await,
            LoginMethod::Hashed => self.login_hashed().await,
        };
        match result {
            // The server may have no users at all: then the anonymous login is the way in.
            Err(UrbackupError::Authentication(
                AuthFailure::UnknownUser | AuthFailure::WrongPassword,
            )) if direct && !self.has_users.load(Ordering::Relaxed) => {
                match self.login_anonymous().await? {
                    Some(anonymous) => Ok(anonymous),
                    None => result,
                }
            }
            other => other,
        }
    }

    /// The anonymous login; `None` when the server has users (and remembers that).
    async fn login_anonymous(&self) -> Result<Option<(Secret, LoginInfo)>> {
        let r = self.login_request(Call::write("login")).await?;
        check_login_state(&r)?;
        if r.get("success").and_then(Value::as_bool) == Some(true) {
            if let Some(ses) = r.get("session").and_then(Value::as_str) {
                debug!("logged in anonymously");
                return Ok(Some((Secret::new(ses), login_info(&r, true))));
            }
        }
        self.has_users.store(true, Ordering::Relaxed);
        Ok(None)
    }

    async fn login_hashed(&self) -> Result<(Secret, LoginInfo)> {
        let salt = self
            .login_request(Call::write("salt").param("username", self.username.as_str()))
            .await?;
        check_login_state(&salt)?;
        match salt.get("error").and_then(Value::as_i64) {
            Some(0) => return Err(UrbackupError::Authentication(AuthFailure::UnknownUser)),
            Some(3) => return Err(UrbackupError::Authentication(AuthFailure::RateLimited)),
            _ => {}
        }
        let (Some(ses), Some(salt_text), Some(rnd)) = (
            salt.get("ses").and_then(Value::as_str),
            salt.get("salt").and_then(Value::as_str),
            salt.get("rnd").and_then(Value::as_str),
        ) else {
            return Err(UrbackupError::Authentication(AuthFailure::Refused {
                detail: "the salt reply lacks ses, salt or rnd".into(),
            }));
        };
        // The server knows this user: it has users, no anonymous login will work.
        self.has_users.store(true, Ordering::Relaxed);
        let rounds = salt
            .get("pbkdf2_rounds")
            .and_then(|r| {
                r.as_u64()
                    .or_else(|| r.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(0);
        let rounds = u32::try_from(rounds).map_err(|_| {
            UrbackupError::Authentication(AuthFailure::Refused {
                detail: format!("implausible pbkdf2_rounds {rounds}"),
            })
        })?;
        let proof = crate::auth::login_proof(salt_text, self.password.expose(), rounds, rnd);
        let ses = Secret::new(ses);
        let call = Call::write("login")
            .param("username", self.username.as_str())
            .param("password", proof)
            .param("ses", ses.expose());
        let r = self.login_request(call).await?;
        finish_login(&r)?;
        debug!(rounds, "logged in with a hashed password");
        Ok((ses, login_info(&r, false)))
    }

    async fn login_plain(&self) -> Result<(Secret, LoginInfo)> {
        let call = Call::write("login")
            .param("username", self.username.as_str())
            .verbatim_param("password", self.password.expose())
            .param("plainpw", "1");
        let r = self.login_request(call).await?;
        finish_login(&r)?;
        let ses = r.get("session").and_then(Value::as_str).ok_or_else(|| {
            UrbackupError::Authentication(AuthFailure::Refused {
                detail: "the login reply lacks a session".into(),
            })
        })?;
        debug!("logged in with a plain password");
        Ok((Secret::new(ses), login_info(&r, false)))
    }

    /// `login`/`salt` requests: sent without the session slot, never retried (a repeated
    /// failed login counts towards the server's ban).
    async fn login_request(&self, call: Call<'_>) -> Result<Value> {
        let reply = self.send(&call, None).await?;
        if reply.is_html() {
            return Err(unknown_action_error(call.action, &reply.body));
        }
        crate::text::decode_json(&reply.body).map_err(|e| {
            UrbackupError::unexpected(
                call.action,
                format!("not JSON ({e})"),
                &self.redact(&reply.body),
            )
        })
    }

    /// Replaces secrets that a body may echo (the session id) before it goes into an error.
    fn redact(&self, body: &[u8]) -> Vec<u8> {
        let mut text = String::from_utf8_lossy(&body[..body.len().min(480)]).into_owned();
        if let Some((t, _)) = self.current() {
            if !t.is_empty() {
                text = text.replace(t.expose(), "***");
            }
        }
        if !self.password.is_empty() {
            text = text.replace(self.password.expose(), "***");
        }
        // Session ids inside a reply (`"session": "..."`, `"ses": "..."`).
        for key in ["\"session\"", "\"ses\""] {
            if let Some(pos) = text.find(key) {
                let rest = &text[pos + key.len()..];
                if let Some(q1) = rest.find('"') {
                    if let Some(q2) = rest[q1 + 1..].find('"') {
                        let start = pos + key.len() + q1 + 1;
                        text.replace_range(start..start + q2, "***");
                    }
                }
            }
        }
        text.into_bytes()
    }

    /// The URL and (for a POST) the form body of a call: `a=ACTION` alone in the query (the
    /// server finds the action by scanning for the first `a=`), everything else in the body,
    /// except for actions that read only the query string.
    fn prepare(&self, call: &Call<'_>, token: Option<&Secret>) -> (Url, Option<String>) {
        let mut url = self.endpoint.clone();
        let mut form = String::new();
        if let Some(t) = token {
            append_pair(&mut form, "ses", t.expose().as_bytes());
        }
        for (i, (k, v)) in call.params.iter().enumerate() {
            // Names, paths and values carry the bytes they stand for (`text` module);
            // passwords go as given.
            let value = if call.verbatim.contains(&i) {
                Cow::Borrowed(v.as_bytes())
            } else {
                crate::text::to_server(v)
            };
            append_pair(&mut form, k, &value);
        }
        if call.query_params {
            let mut query = String::new();
            append_pair(&mut query, "a", call.action.as_bytes());
            if !form.is_empty() {
                query.push('&');
                query.push_str(&form);
            }
            url.set_query(Some(&query));
            return (url, None);
        }
        url.query_pairs_mut().append_pair("a", call.action);
        (url, Some(form))
    }

    /// Sends one call and reads the body (bounded), retrying reads on failures that a repeat
    /// can cure. Never retries writes, and never retries timeouts (a slow server does not get
    /// faster by asking again).
    async fn send(&self, call: &Call<'_>, token: Option<&Secret>) -> Result<Reply> {
        self.retrying(call, || self.send_once(call, token)).await
    }

    /// Runs `attempt` once, and again (bounded, with jittered backoff) while it fails in a way
    /// a repeat can cure, for reads only.
    async fn retrying<T, F, Fut>(&self, call: &Call<'_>, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut n = 0u32;
        loop {
            let started = Instant::now();
            let result = attempt().await;
            trace!(
                action = call.action,
                attempt = n,
                ok = result.is_ok(),
                ms = started.elapsed().as_millis() as u64,
                "request"
            );
            match result {
                Err(e)
                    if call.kind == Kind::Read && n < self.limits.read_retries && retryable(&e) =>
                {
                    let delay = backoff(self.limits.retry_base_delay, n);
                    warn!(action = call.action, attempt = n, error = %e, "read failed; retrying in {} ms", delay.as_millis());
                    tokio::time::sleep(delay).await;
                    n += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_once(&self, call: &Call<'_>, token: Option<&Secret>) -> Result<Reply> {
        let timeout = if call.long_poll {
            self.limits.long_poll_timeout
        } else {
            self.limits.timeout
        };
        let exchange = async {
            let (url, body) = self.prepare(call, token);
            let mut resp = self
                .http
                .send(&url, body)
                .await
                .map_err(|e| self.map_http(call, e))?;
            let body = self.read_body(call, &mut resp).await?;
            self.check_status(call, &resp, &body)?;
            Ok(Reply {
                body,
                content_type: resp.content_type.take(),
            })
        };
        self.within(call, timeout, call.kind == Kind::Write, exchange)
            .await
    }

    /// HTTP status other than 200: a proxy's error page, a wrong URL, a redirect.
    fn check_status(&self, call: &Call<'_>, resp: &Response, body: &[u8]) -> Result<()> {
        if resp.status == 200 {
            return Ok(());
        }
        let snippet = match (&resp.location, resp.status) {
            (Some(to), 300..=399) => format!("redirected to {to}; use that URL"),
            _ => snippet(&self.redact(body)),
        };
        Err(UrbackupError::HttpStatus {
            action: call.action.to_owned(),
            status: resp.status,
            snippet,
        })
    }

    /// Reads a whole body, refusing more than the configured limit.
    async fn read_body(&self, call: &Call<'_>, resp: &mut Response) -> Result<Bytes> {
        let limit = self.limits.max_response_bytes;
        let too_large = || UrbackupError::ResponseTooLarge {
            action: call.action.to_owned(),
            limit,
        };
        if resp.content_length.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut buf =
            Vec::with_capacity(resp.content_length.unwrap_or(16 * 1024).min(limit) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_http(call, e))? {
            if buf.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    }

    /// Maps a failed exchange: before the connection was made, the server never saw the
    /// request; after it, a write's outcome is unknown.
    fn map_http(&self, call: &Call<'_>, e: HttpError) -> UrbackupError {
        match e {
            HttpError::ConnectTimeout => UrbackupError::Timeout {
                action: call.action.to_owned(),
                secs: self.limits.connect_timeout.as_secs_f64(),
                outcome_unknown: false,
                url: self.endpoint.to_string(),
            },
            HttpError::Connect(message) => UrbackupError::Transport {
                action: call.action.to_owned(),
                message: format!("cannot connect: {message}"),
                outcome_unknown: false,
                url: self.endpoint.to_string(),
            },
            HttpError::Io(message) => UrbackupError::Transport {
                action: call.action.to_owned(),
                message,
                outcome_unknown: call.kind == Kind::Write,
                url: self.endpoint.to_string(),
            },
        }
    }

    /// Downloads a file that the server sends as `application/octet-stream` to `dest`:
    /// streamed to a temporary file beside it, renamed into place only when complete.
    /// Returns the number of bytes written.
    pub(crate) async fn download(
        &self,
        call: Call<'_>,
        zip: bool,
        dest: &Path,
        progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    ) -> Result<u64> {
        let d = self.download_stream(call, zip).await?;
        self.stream_to_file(d, dest, progress).await
    }

    /// Starts a download that the server sends as `application/octet-stream` and returns
    /// its body as a stream ([`BackupDownload`]); a reply that is not a file is the error it
    /// stands for (the error table, `ERROR:` texts), after one new login where the session
    /// was refused. `zip`: the body is a ZIP file, checked for its closing record at the end.
    pub(crate) async fn download_stream(
        &self,
        call: Call<'_>,
        zip: bool,
    ) -> Result<BackupDownload> {
        let mut relogged = false;
        loop {
            let (token, generation, fresh) = self.ensure_session().await?;
            let mut resp = self
                .retrying(&call, || self.send_head(&call, &token))
                .await?;
            let is_file = resp
                .content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/octet-stream"));
            if is_file {
                return Ok(BackupDownload::new(
                    resp,
                    call.action,
                    self.endpoint.to_string(),
                    self.limits.download_idle_timeout,
                    zip,
                ));
            }
            let body = self.read_body_within(&call, &mut resp).await?;
            let content_type = resp.content_type.take();
            if body.starts_with(b"ERROR:") {
                let msg = String::from_utf8_lossy(&body[6..]).trim().to_owned();
                return Err(UrbackupError::Server {
                    action: call.action.to_owned(),
                    message: msg,
                });
            }
            let reply = Reply { body, content_type };
            match classify(call.action, &reply) {
                Verdict::SessionRefused if !relogged && !fresh => {
                    self.relogin(Some(generation)).await?;
                    relogged = true;
                }
                Verdict::SessionRefused => return Err(call.denied()),
                Verdict::Error(e) => return Err(call.refine(e)),
                Verdict::Ok => {
                    return Err(UrbackupError::unexpected(
                        call.action,
                        "expected a file download",
                        &self.redact(&reply.body),
                    ))
                }
            }
        }
    }

    /// Sends a request and waits for its head (within the request timeout); a status other
    /// than 200 is an error. The body is left to stream: a download may take hours, so it has
    /// no total timeout, only one per piece.
    async fn send_head(&self, call: &Call<'_>, token: &Secret) -> Result<Response> {
        let head = async {
            let (url, body) = self.prepare(call, Some(token));
            self.http
                .send(&url, body)
                .await
                .map_err(|e| self.map_http(call, e))
        };
        let mut resp = self.within(call, self.limits.timeout, false, head).await?;
        if resp.status != 200 {
            let body = self.read_body_within(call, &mut resp).await?;
            self.check_status(call, &resp, &body)?;
        }
        Ok(resp)
    }

    /// Reads a (small, non-file) body of a download request within the request timeout.
    async fn read_body_within(&self, call: &Call<'_>, resp: &mut Response) -> Result<Bytes> {
        self.within(call, self.limits.timeout, false, self.read_body(call, resp))
            .await
    }

    /// Runs `fut` within `limit`, or fails with a timeout error for `call`.
    async fn within<T>(
        &self,
        call: &Call<'_>,
        limit: Duration,
        outcome_unknown: bool,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| UrbackupError::Timeout {
                action: call.action.to_owned(),
                secs: limit.as_secs_f64(),
                outcome_unknown,
                url: self.endpoint.to_string(),
            })?
    }

    async fn stream_to_file(
        &self,
        mut d: BackupDownload,
        dest: &Path,
        progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    ) -> Result<u64> {
        let io_err = |source: std::io::Error| UrbackupError::Io {
            path: dest.display().to_string(),
            source,
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".urbackup-download-")
            .tempfile_in(&dir)
            .map_err(io_err)?;
        let (std_file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let expected = d.content_length();
        while let Some(c) = d.next_chunk().await? {
            file.write_all(&c).await.map_err(io_err)?;
            progress(d.received(), expected);
        }
        file.flush().await.map_err(io_err)?;
        file.sync_all().await.map_err(io_err)?;
        drop(file);
        tmp_path.persist(dest).map_err(|e| io_err(e.error))?;
        debug!(bytes = d.received(), "download complete");
        Ok(d.received())
    }
}

/// Appends `key=value` to a form (`application/x-www-form-urlencoded`, as the web interface
/// sends it), the value as bytes.
fn append_pair(form: &mut String, key: &str, value: &[u8]) {
    if !form.is_empty() {
        form.push('&');
    }
    form.extend(form_urlencoded::byte_serialize(key.as_bytes()));
    form.push('=');
    form.extend(form_urlencoded::byte_serialize(value));
}

/// What the error table says about a reply.
pub(crate) enum Verdict {
    Ok,
    /// `{"error":1}`, `{"error":true}` or an empty body: the session is unknown, expired or not
    /// logged in (or, in many actions, a right is missing: a fresh login tells them apart).
    SessionRefused,
    Error(UrbackupError),
}

/// Decodes the list elements of a complete reply, as [`Transport::call_each`] does while the
/// reply arrives; returns the rest of it (the list left empty).
pub(crate) fn split_items<T: FromElement>(
    action: &str,
    key: &'static str,
    body: &Bytes,
    on_item: &mut (dyn FnMut(T) + Send),
) -> Result<Bytes> {
    // Not a JSON object: the same error as the in-memory path gives.
    let _: Map<String, Value> = decode(
        action,
        &Reply {
            body: body.clone(),
            content_type: None,
        },
    )?;
    let mut splitter = ListSplitter::new(key);
    splitter.feed(body, &mut element_decoder(action, on_item))?;
    Ok(Bytes::copy_from_slice(splitter.outside()))
}

/// Decodes one list element and hands it on.
fn element_decoder<'a, T: FromElement>(
    action: &'a str,
    on_item: &'a mut (dyn FnMut(T) + Send),
) -> impl FnMut(&[u8]) -> Result<()> + 'a {
    move |bytes| {
        let item = T::from_element(bytes).map_err(|e| {
            UrbackupError::unexpected(action, format!("cannot decode ({e})"), bytes)
        })?;
        on_item(item);
        Ok(())
    }
}

/// The one table of in-body error shapes (HTTP 200 for all of them).
pub(crate) fn classify(action: &str, reply: &Reply) -> Verdict {
    if reply.body.iter().all(u8::is_ascii_whitespace) {
        return Verdict::SessionRefused;
    }
    if reply.is_html() {
        return Verdict::Error(unknown_action_error(action, &reply.body));
    }
    if reply.body.len() > ERROR_PROBE_LIMIT {
        return Verdict::Ok;
    }
    let Ok(Value::Object(obj)) = crate::text::decode_json::<Value>(&reply.body) else {
        return Verdict::Ok; // decoding reports it with the action's context
    };
    if let Some(err) = obj.get("error") {
        return match err {
            Value::Bool(true) => Verdict::SessionRefused,
            Value::Number(n) if n.as_i64() == Some(1) => Verdict::SessionRefused,
            Value::Number(n) if n.as_i64() == Some(3) => {
                Verdict::Error(UrbackupError::Authentication(AuthFailure::RateLimited))
            }
            Value::Number(n) if n.as_i64() == Some(2) => {
                Verdict::Error(UrbackupError::access_denied(action, None))
            }
            Value::String(s) if s == "2" => Verdict::Error(UrbackupError::access_denied(
                action,
                Some("unknown client".into()),
            )),
            Value::Bool(false) => Verdict::Ok,
            other => Verdict::Error(UrbackupError::Server {
                action: action.to_owned(),
                message: format!("error {other}"),
            }),
        };
    }
    if let Some(err) = obj.get("err").and_then(Value::as_str) {
        let code = obj
            .get("errcode")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Verdict::Error(if err == "access_denied" {
            UrbackupError::access_denied(action, code)
        } else {
            UrbackupError::Server {
                action: action.to_owned(),
                message: match code {
                    Some(c) => format!("{err} ({c})"),
                    None => err.to_owned(),
                },
            }
        });
    }
    Verdict::Ok
}

fn unknown_action_error(action: &str, body: &[u8]) -> UrbackupError {
    let text = String::from_utf8_lossy(body);
    if text.starts_with("Error: Unknown action") {
        UrbackupError::Server {
            action: action.to_owned(),
            message: "the server does not offer this action (is it upgrading its database, or not an UrBackup 2.x server?)".into(),
        }
    } else {
        UrbackupError::unexpected(action, "an HTML page instead of JSON", body)
    }
}

/// Decodes a reply that passed the error table.
pub(crate) fn decode<T: DeserializeOwned>(action: &str, reply: &Reply) -> Result<T> {
    crate::text::decode_json(&reply.body)
        .map_err(|e| UrbackupError::unexpected(action, format!("cannot decode ({e})"), &reply.body))
}

/// Decodes a model from a JSON value of a reply (models keep their raw text, so they are
/// decoded from text).
pub(crate) fn from_value<T: DeserializeOwned>(action: &str, v: &Value) -> Result<T> {
    let text = v.to_string();
    serde_json::from_str(&text).map_err(|e| {
        UrbackupError::unexpected(action, format!("cannot decode ({e})"), text.as_bytes())
    })
}

/// Start-up states of `login`/`salt`: database upgrade, file index creation, ban.
fn check_login_state(r: &Value) -> Result<()> {
    if r.get("upgrading_database").and_then(Value::as_bool) == Some(true) {
        let detail = format!(
            "database version {} of {}",
            r.get("curr_db_version").unwrap_or(&Value::Null),
            r.get("target_db_version").unwrap_or(&Value::Null)
        );
        return Err(UrbackupError::Authentication(
            AuthFailure::ServerUpgrading { detail },
        ));
    }
    if r.get("creating_filescache").and_then(Value::as_bool) == Some(true) {
        let detail = format!(
            "creating its file index, {}% done",
            r.get("percent_finished").unwrap_or(&Value::Null)
        );
        return Err(UrbackupError::Authentication(
            AuthFailure::ServerUpgrading { detail },
        ));
    }
    if r.get("error").and_then(Value::as_i64) == Some(3) {
        return Err(UrbackupError::Authentication(AuthFailure::RateLimited));
    }
    Ok(())
}

/// The answer to the credentialed `login`.
pub(crate) fn finish_login(r: &Value) -> Result<()> {
    check_login_state(r)?;
    if r.get("success").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    Err(UrbackupError::Authentication(
        match r.get("error").and_then(Value::as_i64) {
            Some(2) => AuthFailure::WrongPassword,
            Some(1) => AuthFailure::Refused {
                detail: "the server lost the login session (restarted?)".into(),
            },
            _ => AuthFailure::Refused {
                detail: "the server did not confirm the login".into(),
            },
        },
    ))
}

pub(crate) fn login_info(r: &Value, anonymous: bool) -> LoginInfo {
    let rights = [
        "status",
        "graph",
        "progress",
        "browse_backups",
        "settings",
        "logs",
    ]
    .iter()
    .filter_map(|k| {
        r.get(*k)
            .and_then(Value::as_str)
            .map(|v| ((*k).to_owned(), v.to_owned()))
    })
    .collect();
    LoginInfo {
        anonymous,
        api_version: r.get("api_version").and_then(Value::as_i64),
        rights,
    }
}

fn retryable(e: &UrbackupError) -> bool {
    match e {
        UrbackupError::Transport { .. } => true,
        UrbackupError::HttpStatus { status, .. } => matches!(status, 502..=504),
        _ => false,
    }
}

/// Exponential backoff with ±50 % jitter.
fn backoff(base: Duration, attempt: u32) -> Duration {
    use rand::Rng;
    let nominal = base.saturating_mul(1 << attempt.min(6));
    let jitter: f64 = rand::thread_rng().gen_range(0.5..1.5);
    nominal.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        let e = |u: &str| endpoint_url(u).unwrap().0.to_string();
        assert_eq!(e("http://127.0.0.1:55414"), "http://127.0.0.1:55414/x");
        assert_eq!(e("http://127.0.0.1:55414/"), "http://127.0.0.1:55414/x");
        assert_eq!(e("http://127.0.0.1:55414/x"), "http://127.0.0.1:55414/x");
        assert_eq!(e("http://h/urbackup/"), "http://h/urbackup/x");
        assert_eq!(e("https://h/urbackup/x?a=status"), "https://h/urbackup/x");
        assert!(endpoint_url("ftp://h").is_err());
        assert!(endpoint_url("not a url").is_err());
    }

    #[test]
    fn url_credentials_move_to_basic_auth() {
        let (u, basic) = endpoint_url("https://bob:p%40ss@h/x").unwrap();
        assert_eq!(u.as_str(), "https://h/x");
        let (user, pw) = basic.unwrap();
        assert_eq!((user.as_str(), pw.expose()), ("bob", "p@ss"));
    }

    fn reply(body: &str, ct: Option<&str>) -> Reply {
        Reply {
            body: Bytes::from(body.to_owned()),
            content_type: ct.map(str::to_owned),
        }
    }

    #[test]
    fn error_table() {
        let v = |b: &str| classify("status", &reply(b, Some("application/json")));
        assert!(matches!(v("{\"error\": 1}"), Verdict::SessionRefused));
        assert!(matches!(v("{\"error\": true}"), Verdict::SessionRefused));
        assert!(matches!(v(""), Verdict::SessionRefused));
        assert!(matches!(
            v("{\"ONLY_WIN32_BEGIN\":\"<!--\",\"error\":1}"),
            Verdict::SessionRefused
        ));
        assert!(matches!(
            v("{\"error\": 2}"),
            Verdict::Error(UrbackupError::AccessDenied { .. })
        ));
        assert!(matches!(
            v("{\"err\":\"access_denied\",\"errcode\":\"x\"}"),
            Verdict::Error(UrbackupError::AccessDenied {
                detail: Some(_),
                ..
            })
        ));
        assert!(matches!(
            v("{\"err\":\"client_not_online\"}"),
            Verdict::Error(UrbackupError::Server { .. })
        ));
        assert!(matches!(v("{\"status\": []}"), Verdict::Ok));
        assert!(matches!(
            classify(
                "x",
                &reply(
                    "Error: Unknown action [x]",
                    Some("text/html; charset=UTF-8")
                )
            ),
            Verdict::Error(UrbackupError::Server { .. })
        ));
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let b = Duration::from_millis(100);
        for attempt in 0..10 {
            let d = backoff(b, attempt);
            assert!(d >= b / 2 && d <= b * 64 * 3 / 2, "{d:?}");
        }
    }
}

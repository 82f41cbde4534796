//! The server handle and its builder.

use crate::error::{Result, UrbackupError};
use crate::secret::Secret;
use crate::session::{Session, SessionObserver};
use crate::transport::{Limits, LoginInfo, LoginMethod, Transport, TransportConfig};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A connection to one UrBackup server (spec: `urbackup_server`).
///
/// Cheap to clone: clones share one HTTP client and one session, and the type is
/// `Send + Sync`, so one value can serve many tasks. The first call logs in; later calls
/// reuse the session and log in again by themselves when the server has forgotten it.
///
/// ```no_run
/// # async fn demo() -> Result<(), urbackup::UrbackupError> {
/// let server = urbackup::UrbackupServer::new("http://127.0.0.1:55414/x", "admin", "secret")?;
/// for client in server.get_client_statuses().await? {
///     println!("{} online={} file_ok={}", client.name, client.online, client.file_ok);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct UrbackupServer {
    pub(crate) transport: Arc<Transport>,
}

impl fmt::Debug for UrbackupServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrbackupServer")
            .field("transport", &self.transport)
            .finish()
    }
}

impl UrbackupServer {
    /// A server at `url` (with or without the trailing `/x`; a reverse-proxy sub-path such as
    /// `https://host/urbackup/` works), logging in as `username` with `password`. Leave both
    /// empty for a server without users (anonymous login).
    pub fn new(url: &str, username: &str, password: &str) -> Result<Self> {
        Self::builder(url).credentials(username, password).build()
    }

    /// A builder for the other options: basic auth, timeouts, TLS, LDAP login...
    pub fn builder(url: &str) -> UrbackupServerBuilder {
        UrbackupServerBuilder::new(url)
    }

    /// The action endpoint this handle talks to (`.../x`), without credentials.
    pub fn url(&self) -> &str {
        self.transport.endpoint().as_str()
    }

    /// Logs in now unless a session exists, and reports what the login said (web action
    /// `login`, with `salt` first for a hashed password).
    pub async fn login_typed(&self) -> Result<LoginInfo> {
        self.transport.login().await
    }

    /// Forgets the session: the next call logs in again. (The server has no logout action;
    /// its sessions expire after 30 minutes idle.)
    pub fn forget_session(&self) {
        self.transport.forget_session()
    }

    /// The session in use, to resume it in another process with
    /// [`UrbackupServerBuilder::resume_session`]; `None` before the first login, after
    /// [`forget_session`](Self::forget_session), or after the server refused the session
    /// and no new login succeeded.
    pub fn session(&self) -> Option<Session> {
        self.transport.session()
    }
}

/// Builds an [`UrbackupServer`].
///
/// ```
/// use std::time::Duration;
/// let server = urbackup::UrbackupServer::builder("https://backup.example.com/urbackup/")
///     .credentials("admin", "secret")
///     .basic_auth("proxyuser", "proxypass")
///     .timeout(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// assert_eq!(server.url(), "https://backup.example.com/urbackup/x");
/// ```
#[must_use]
pub struct UrbackupServerBuilder {
    url: String,
    username: String,
    password: Secret,
    basic: Option<(String, Secret)>,
    login_method: LoginMethod,
    anonymous_first: bool,
    limits: Limits,
    user_agent: String,
    certs: Vec<std::result::Result<Vec<u8>, String>>,
    accept_invalid_certs: bool,
    resume: Option<Session>,
    observer: Option<SessionObserver>,
}

impl fmt::Debug for UrbackupServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrbackupServerBuilder")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("basic_auth", &self.basic.as_ref().map(|(u, _)| (u, "***")))
            .field("login_method", &self.login_method)
            .field("limits", &self.limits)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("resume_session", &self.resume)
            .field("on_session_change", &self.observer.is_some())
            .finish()
    }
}

impl UrbackupServerBuilder {
    fn new(url: &str) -> Self {
        UrbackupServerBuilder {
            url: url.to_owned(),
            username: String::new(),
            password: Secret::default(),
            basic: None,
            login_method: LoginMethod::Hashed,
            anonymous_first: false,
            limits: Limits::default(),
            user_agent: concat!("urbackup-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            certs: Vec::new(),
            accept_invalid_certs: false,
            resume: None,
            observer: None,
        }
    }

    /// The action endpoint the handle will talk to (`.../x`, without credentials or query):
    /// the same text as [`UrbackupServer::url`], e.g. a key to store sessions under.
    pub fn endpoint(&self) -> Result<String> {
        Ok(crate::transport::endpoint_url(&self.url)?.0.into())
    }

    /// Starts with a session made earlier (by another process, see
    /// [`UrbackupServer::session`]) instead of logging in: the first call is then one
    /// request. A server that has forgotten the session (30 minutes idle, a restart) answers
    /// as if none was given; the call then logs in once with the credentials and is repeated,
    /// as for any expired session. That holds for writes too: the server checks the session
    /// before it does anything, so a write refused for lack of a session was not executed.
    /// The credentials are still needed for that login.
    pub fn resume_session(mut self, session: Session) -> Self {
        self.resume = Some(session);
        self
    }

    /// Calls `observer` with every new session (after each login) and with `None` when the
    /// session is gone ([`UrbackupServer::forget_session`], or refused by the server with no
    /// new login possible), e.g. to keep a stored copy current. It runs on the task that
    /// made the call, between the login and the call's repeat: keep it short.
    pub fn on_session_change(
        mut self,
        observer: impl Fn(Option<&Session>) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(std::sync::Arc::new(observer));
        self
    }

    /// The UrBackup user and password (spec: `username`, `password`).
    pub fn credentials(mut self, username: &str, password: &str) -> Self {
        self.username = username.to_owned();
        self.password = Secret::new(password);
        self
    }

    /// HTTP basic auth for a reverse proxy (spec: `basic_username`, `basic_password`).
    /// An empty user name means none.
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        self.basic = (!username.is_empty()).then(|| (username.to_owned(), Secret::new(password)));
        self
    }

    /// Log in with the clear password (`plainpw=1`) instead of the salted hash: required for
    /// LDAP accounts. The password then travels in the request body, so use HTTPS.
    pub fn plain_password_login(mut self, yes: bool) -> Self {
        self.login_method = if yes {
            LoginMethod::PlainPassword
        } else {
            LoginMethod::Hashed
        };
        self
    }

    /// Try the anonymous login before the user's credentials, as the specification
    /// describes (default: off). By default a handle with a user name logs in with it at
    /// once and tries the anonymous login only when the server does not know the user (a
    /// server without users): one round trip less per login. The fallback costs such a
    /// server one failed-login count (the server bans an address after more than ten within
    /// about 40 s), so set this for a server without users that is given a user name.
    pub fn anonymous_first(mut self, yes: bool) -> Self {
        self.anonymous_first = yes;
        self
    }

    /// Time allowed to establish a connection (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.limits.connect_timeout = d;
        self
    }

    /// Time allowed for one request, from connecting to the end of the body (default 60 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.limits.timeout = d;
        self
    }

    /// Time allowed for long-poll calls (`livelog` waits up to 10 s on the server,
    /// `restore_prepare_wait` too; default 45 s).
    pub fn long_poll_timeout(mut self, d: Duration) -> Self {
        self.limits.long_poll_timeout = d;
        self
    }

    /// Longest pause between two pieces of a download before it is abandoned (default 60 s).
    /// Downloads have no total timeout: they can be gigabytes.
    pub fn download_idle_timeout(mut self, d: Duration) -> Self {
        self.limits.download_idle_timeout = d;
        self
    }

    /// How often a failed read is repeated (connection refused or reset, HTTP 502–504), with
    /// jittered exponential backoff (default 2). Writes are never repeated.
    pub fn read_retries(mut self, n: u32) -> Self {
        self.limits.read_retries = n;
        self
    }

    /// Base delay of the read retry backoff (default 200 ms).
    pub fn retry_base_delay(mut self, d: Duration) -> Self {
        self.limits.retry_base_delay = d;
        self
    }

    /// Largest JSON reply accepted, in bytes (default 256 MiB).
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.limits.max_response_bytes = n;
        self
    }

    /// The User-Agent header (default `urbackup-rs/VERSION`).
    pub fn user_agent(mut self, ua: &str) -> Self {
        self.user_agent = ua.to_owned();
        self
    }

    /// Trusts an extra CA certificate (PEM), e.g. a company CA or a self-signed server.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.certs
            .push(crate::http::check_pem(pem).map(|()| pem.to_vec()));
        self
    }

    /// Trusts the CA certificate in the PEM file at `path`.
    pub fn ca_certificate_file(self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        match std::fs::read(path) {
            Ok(pem) => self.add_root_certificate_pem(&pem),
            Err(e) => {
                let mut s = self;
                s.certs.push(Err(format!(
                    "cannot read CA certificate {}: {e}",
                    path.display()
                )));
                s
            }
        }
    }

    /// Accepts any TLS certificate, even invalid or for another host. Only for tests against a
    /// server you control: it makes the connection open to interception.
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }

    /// Builds the handle. Fails on an invalid URL or certificate; does not contact the server.
    pub fn build(self) -> Result<UrbackupServer> {
        let mut certs = Vec::new();
        for c in self.certs {
            certs.push(c.map_err(UrbackupError::InvalidInput)?);
        }
        let transport = Transport::new(TransportConfig {
            url: self.url,
            username: self.username,
            password: self.password,
            basic: self.basic,
            login_method: self.login_method,
            anonymous_first: self.anonymous_first,
            limits: self.limits,
            user_agent: self.user_agent,
            root_certificates_pem: certs,
            accept_invalid_certs: self.accept_invalid_certs,
            resume: self.resume,
            observer: self.observer,
        })?;
        Ok(UrbackupServer {
            transport: Arc::new(transport),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let b = UrbackupServer::builder("http://h")
            .credentials("admin", "hunter2")
            .basic_auth("proxy", "proxysecret");
        let text = format!("{b:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("proxysecret"),
            "{text}"
        );
        let s = b.build().unwrap();
        let text = format!("{s:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("proxysecret"),
            "{text}"
        );
        assert!(text.contains("admin"));
    }

    #[test]
    fn bad_ca_is_an_error() {
        let r = UrbackupServer::builder("http://h")
            .add_root_certificate_pem(b"not a pem")
            .build();
        assert!(matches!(r, Err(UrbackupError::InvalidInput(_))));
    }

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn handle_is_shareable() {
        assert_send_sync_clone::<UrbackupServer>();
    }
}

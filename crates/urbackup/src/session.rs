//! A login session that can leave the process and come back: exported with
//! [`UrbackupServer::session`](crate::UrbackupServer::session), resumed with
//! [`UrbackupServerBuilder::resume_session`](crate::UrbackupServerBuilder::resume_session),
//! followed with [`UrbackupServerBuilder::on_session_change`](crate::UrbackupServerBuilder::on_session_change).

use crate::secret::Secret;
use crate::transport::LoginInfo;
use std::fmt;
use std::sync::Arc;

/// A session of the server (its `ses` token) and what the login that made it reported.
///
/// The token is a credential: whoever holds it acts as the user until the server forgets the
/// session (UrBackup 2.5 forgets a session after 30 minutes without a request, and all of
/// them when it restarts). `Debug` and `Display` never show it; only
/// [`Session::expose_token`] does, for the code that stores it.
///
/// ```
/// let s = urbackup::Session::from_token("0123456789abcdefghijABCDEFGHIJ");
/// assert_eq!(format!("{s:?}"), r#"Session { token: "***", login: LoginInfo { anonymous: false, api_version: None, rights: [] } }"#);
/// assert_eq!(s.to_string(), "***");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    token: Secret,
    login: LoginInfo,
}

impl Session {
    /// A session from a stored token, with nothing known of its login.
    pub fn from_token(token: impl Into<String>) -> Session {
        Session {
            token: Secret::new(token),
            login: LoginInfo::default(),
        }
    }

    /// The same session, with what its login reported (returned by
    /// [`UrbackupServer::login_typed`](crate::UrbackupServer::login_typed) while it is in use).
    #[must_use]
    pub fn with_login_info(mut self, login: LoginInfo) -> Session {
        self.login = login;
        self
    }

    pub(crate) fn new(token: Secret, login: LoginInfo) -> Session {
        Session { token, login }
    }

    pub(crate) fn token(&self) -> &Secret {
        &self.token
    }

    /// The token itself, for the one place that stores it. Never log it.
    pub fn expose_token(&self) -> &str {
        self.token.expose()
    }

    /// What the login that made this session reported.
    pub fn login_info(&self) -> &LoginInfo {
        &self.login
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("token", &"***")
            .field("login", &self.login)
            .finish()
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The observer of [`UrbackupServerBuilder::on_session_change`](crate::UrbackupServerBuilder::on_session_change).
pub(crate) type SessionObserver = Arc<dyn Fn(Option<&Session>) + Send + Sync>;

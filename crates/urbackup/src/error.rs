//! The one error type of the typed surface.

use std::fmt;

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The server has no user of that name (`salt` answered `error: 0`).
    UnknownUser,
    /// The password (or the login proof computed from it) was refused (`error: 2`).
    WrongPassword,
    /// Too many failed logins from this address: UrBackup 2.5 bans it for about ten minutes
    /// (`error: 3`). Do not retry before then; every retry extends nothing but wastes a try.
    RateLimited,
    /// The server is upgrading its database (or building its file index) and accepts no login
    /// until it has finished.
    ServerUpgrading {
        /// What the server reported, e.g. `database version 56 of 70`.
        detail: String,
    },
    /// The server has users but no credentials were configured.
    CredentialsRequired,
    /// The server answered the login with a shape this library does not know.
    Refused {
        /// A short excerpt of the reply.
        detail: String,
    },
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthFailure::UnknownUser => f.write_str("unknown user"),
            AuthFailure::WrongPassword => f.write_str("wrong password"),
            AuthFailure::RateLimited => f.write_str(
                "too many failed logins from this address: the server refuses logins for about 10 minutes",
            ),
            AuthFailure::ServerUpgrading { detail } => {
                write!(f, "the server is upgrading its database ({detail}); try again later")
            }
            AuthFailure::CredentialsRequired => {
                f.write_str("the server has users: a username and password are required")
            }
            AuthFailure::Refused { detail } => write!(f, "login refused: {detail}"),
        }
    }
}

/// Every error of the typed surface.
///
/// The first five variants are the errors of the specification (`AuthenticationError`,
/// `ClientNotFoundError`, `AccessDeniedError`, `UserAlreadyExistsError` and the `KeyError` of
/// `change_client_setting_typed`); the others are what a Rust caller needs to tell a network
/// failure from a server that answers nonsense.
///
/// No variant ever carries the password, the session id or basic-auth credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UrbackupError {
    /// Login failed (spec: `AuthenticationError`).
    #[error("authentication failed: {0}")]
    Authentication(AuthFailure),

    /// No client of that name on the server (spec: `ClientNotFoundError`).
    #[error("client not found: {0}")]
    ClientNotFound(String),

    /// The session lacks the right for this call, or the server refused it after a fresh login
    /// (spec: `AccessDeniedError`). The message names the rights the call needs
    /// ([`UrbackupError::needed_rights`]).
    #[error("access denied for `{action}`{}{}", fmt_detail(.detail), fmt_rights(needed_rights(.action, .detail.as_deref())))]
    AccessDenied {
        /// The web action that was refused.
        action: String,
        /// The sub-action (`listusers`, `general`...) or the server's error code where it
        /// gave one (e.g. `path_browse_access_denied`).
        detail: Option<String>,
    },

    /// A user of that name exists already (spec: `UserAlreadyExistsError`).
    #[error("user already exists: {0}")]
    UserAlreadyExists(String),

    /// The setting key is not one the server knows (spec: `KeyError` of
    /// `change_client_setting_typed`).
    #[error("unknown setting key: {0}")]
    UnknownSetting(String),

    /// The request could not be completed on the network (connection refused or reset, TLS...).
    /// The message names the server's URL and what the call was doing (`logging in` for the
    /// login steps `salt` and `login`).
    ///
    /// `outcome_unknown` is true when the request may have reached the server: for a write,
    /// check the server's state before repeating it.
    #[error("connection to {url} failed while {}: {message}{}", step(.action), unknown_note(*.outcome_unknown))]
    Transport {
        /// The web action.
        action: String,
        /// What failed.
        message: String,
        /// Whether the server may have carried the request out.
        outcome_unknown: bool,
        /// The server's action endpoint (e.g. `http://host:55414/x`: never credentials, never
        /// a query).
        url: String,
    },

    /// The server did not answer within the configured timeout.
    #[error("timeout after {secs:.1} s waiting for {url} while {}{}", step(.action), unknown_note(*.outcome_unknown))]
    Timeout {
        /// The web action.
        action: String,
        /// The timeout that expired, in seconds.
        secs: f64,
        /// Whether the server may have carried the request out.
        outcome_unknown: bool,
        /// The server's action endpoint (as in [`UrbackupError::Transport`]).
        url: String,
    },

    /// An HTTP status other than 200. The UrBackup server itself answers every action with 200,
    /// so this comes from a reverse proxy (502, 504...) or a wrong URL (404).
    #[error("HTTP {status} on `{action}`: {snippet}")]
    HttpStatus {
        /// The web action.
        action: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the body.
        snippet: String,
    },

    /// The reply is not what this action returns (not JSON, truncated, wrong shape).
    #[error("unexpected response to `{action}`: {reason}; body starts with: {snippet}")]
    UnexpectedResponse {
        /// The web action.
        action: String,
        /// What was wrong with it.
        reason: String,
        /// The start of the body (at most 120 characters).
        snippet: String,
    },

    /// The server reported an error of its own (e.g. `client_not_online`, `ERROR: ...` text,
    /// an unknown action during a database upgrade).
    #[error("server error on `{action}`: {message}")]
    Server {
        /// The web action.
        action: String,
        /// The server's message.
        message: String,
    },

    /// The reply exceeded the configured size limit.
    #[error("response to `{action}` exceeds the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The web action.
        action: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// The server's version cannot do what was asked: nothing was changed (for example a
    /// setting that UrBackup 2.5 has and 2.4 does not).
    #[error("{server} cannot {what}")]
    Unsupported {
        /// The server generation that cannot do it.
        server: crate::models::ServerGeneration,
        /// What was asked.
        what: String,
    },

    /// A caller-side problem: an invalid URL, an invalid argument.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A local I/O error while writing a download.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file concerned.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn fmt_detail(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
}

/// What a call was doing, for messages: the login steps are one step for the user.
fn step(action: &str) -> String {
    match action {
        "salt" | "login" => "logging in".to_owned(),
        other => format!("calling `{other}`"),
    }
}

/// `: needs the right `x``, `: needs the rights `x` and `y``, or nothing.
fn fmt_rights(rights: &[&str]) -> String {
    match rights {
        [] => String::new(),
        [one] => format!(": needs the right `{one}`"),
        [first @ .., last] => format!(
            ": needs the rights {} and `{last}`",
            first
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The rights (domains of the server's user rights, as `add_user` takes them) that a web
/// action (and its sub-action or error code) needs, from the real server's checks
/// (`urbackupserver/serverinterface/*.cpp`). Empty when unknown.
fn needed_rights(action: &str, detail: Option<&str>) -> &'static [&'static str] {
    let detail = detail.unwrap_or("");
    match action {
        "status" if detail == "remove_client" => &["status", "remove_client"],
        "status" | "status_check" => &["status"],
        "add_client" => &["add_client"],
        "start_backup" => &["start_backup"],
        "progress" => &["progress"],
        "lastacts" => &["lastacts"],
        "logs" | "livelog" => &["logs"],
        "usage" if detail == "reset_statistics" => &["piegraph", "reset_statistics"],
        "usage" | "piegraph" | "usagegraph" => &["piegraph"],
        "backups" => match detail {
            "archive" | "unarchive" => &["browse_backups", "manual_archive"],
            "delete" | "stop_delete" | "delete_now" => &["browse_backups", "delete_backups"],
            _ => &["browse_backups"],
        },
        "settings" => match detail.split_whitespace().next().unwrap_or("") {
            "listusers" | "useradd" | "removeuser" | "changepw" | "updaterights" | "usermod" => {
                &["settings", "usermod"]
            }
            "groupadd" | "groupremove" => &["settings", "groupmod"],
            "general" | "general_save" => &["settings", "general_settings"],
            "mail" | "mail_save" => &["settings", "mail_settings"],
            "ldap" | "ldap_save" => &["settings", "ldap_settings"],
            "clientsettings" | "clientsettings_save" => &["settings", "client_settings"],
            _ => &["settings"],
        },
        _ => &[],
    }
}

fn unknown_note(unknown: bool) -> &'static str {
    if unknown {
        " (the server may have carried the request out: check before repeating it)"
    } else {
        ""
    }
}

impl UrbackupError {
    /// True for errors where repeating the same request later may succeed (network trouble,
    /// proxy errors, timeouts, rate limiting).
    pub fn is_transient(&self) -> bool {
        match self {
            UrbackupError::Transport { .. } | UrbackupError::Timeout { .. } => true,
            UrbackupError::HttpStatus { status, .. } => matches!(status, 502..=504),
            UrbackupError::Authentication(AuthFailure::RateLimited)
            | UrbackupError::Authentication(AuthFailure::ServerUpgrading { .. }) => true,
            _ => false,
        }
    }

    /// True when a write may or may not have been carried out by the server.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            UrbackupError::Transport {
                outcome_unknown: true,
                ..
            } | UrbackupError::Timeout {
                outcome_unknown: true,
                ..
            }
        )
    }

    /// For [`UrbackupError::AccessDenied`]: the rights the refused call needs, as the server's
    /// user rights name them (`status`, `logs`, `settings`, `usermod`, `browse_backups`...; the
    /// domains `add_user` takes). Empty for other errors, and where this library does not know.
    pub fn needed_rights(&self) -> &'static [&'static str] {
        match self {
            UrbackupError::AccessDenied { action, detail } => {
                needed_rights(action, detail.as_deref())
            }
            _ => &[],
        }
    }

    pub(crate) fn unexpected(action: &str, reason: impl Into<String>, body: &[u8]) -> Self {
        UrbackupError::UnexpectedResponse {
            action: action.to_owned(),
            reason: reason.into(),
            snippet: snippet(body),
        }
    }

    pub(crate) fn access_denied(action: &str, detail: Option<String>) -> Self {
        UrbackupError::AccessDenied {
            action: action.to_owned(),
            detail,
        }
    }
}

/// The first 120 characters of a body, lossily decoded, on one line.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(480)]);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    if out.trim().is_empty() {
        out = "(empty)".to_owned();
    } else if text.chars().count() > 120 || body.len() > 480 {
        out.push('…');
    }
    out
}

/// Result alias of the typed surface.
pub type Result<T, E = UrbackupError> = std::result::Result<T, E>;

//! The session cache: after a login the CLI keeps the server's session token (never the
//! password) so that the next run resumes it, and a read command is one request.
//!
//! One file per (server URL, user), `session-<hash>.json`, mode 0600, in a directory only the
//! user can write (created 0700): `URBACKUP_SESSION_DIR` if set, else
//! `$XDG_RUNTIME_DIR/urbackup` when that runtime directory exists (a tmpfs cleared at
//! logout), else `urbackup` in the platform cache directory (`~/.cache/urbackup`). Files
//! are written to a temporary file and renamed into place. A file that others may read, that
//! another user owns, a symlink or a file that is not a session file is ignored with a
//! warning (and replaced at the next login). An entry is used only with the password that
//! made it: it holds a 16-bit check of the password (HMAC-SHA256 keyed with the token,
//! truncated; far too short to tell the password, enough to notice another one), so a wrong
//! or changed password is not hidden by a cached session. `--no-session-cache` or
//! `URBACKUP_NO_SESSION_CACHE=1` turn the cache off; `urbackup logout [--all]` deletes
//! entries.
//!
//! UrBackup 2.5 forgets a session after 30 minutes without a request (and all sessions when
//! it restarts): an entry not used for longer is not even tried; a forgotten one is refused
//! by the server, and the library logs in again and the observer rewrites the entry.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use urbackup::{LoginInfo, Session};

/// The server's idle timeout (`SESSION_TIMEOUT_S=1800` in UrBackup's SessionMgr.cpp).
pub const SERVER_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

const FILE_PREFIX: &str = "session-";
const FILE_SUFFIX: &str = ".json";

/// The cache directory.
#[derive(Debug, Clone)]
pub struct SessionCache {
    dir: PathBuf,
}

/// One stored session.
#[derive(Serialize, Deserialize)]
struct Stored {
    url: String,
    user: String,
    session: String,
    /// The password check (see the module docs).
    check: String,
    #[serde(default)]
    login: LoginInfo,
}

/// The 16-bit check of `password` for `token` (4 hex digits).
fn password_check(token: &str, user: &str, password: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(user.as_bytes());
    mac.update(&[0]);
    mac.update(password.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..2])
}

/// The entry of one (URL, user). Not `Debug`: it holds the password (for the check).
#[derive(Clone)]
pub struct Entry {
    cache: Arc<SessionCache>,
    path: PathBuf,
    url: String,
    user: String,
    password: String,
}

fn env_set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// True when `URBACKUP_NO_SESSION_CACHE` turns the cache off (any value but empty, 0, false).
pub fn disabled_by_env() -> bool {
    env_set("URBACKUP_NO_SESSION_CACHE")
        .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no"))
}

impl SessionCache {
    /// The cache at its usual place (see the module docs); `None` when no place is known.
    pub fn locate() -> Option<SessionCache> {
        let dir = if let Some(d) = env_set("URBACKUP_SESSION_DIR") {
            PathBuf::from(d)
        } else if let Some(run) = dirs::runtime_dir().filter(|d| d.is_dir()) {
            run.join("urbackup")
        } else {
            dirs::cache_dir()?.join("urbackup")
        };
        Some(SessionCache { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry of `url` (the library's normalised endpoint) and `user`, used with
    /// `password` (empty to only delete it).
    pub fn entry(self: &Arc<Self>, url: &str, user: &str, password: &str) -> Entry {
        let mut h = Sha256::new();
        h.update(url.as_bytes());
        h.update([0]);
        h.update(user.as_bytes());
        let name = format!(
            "{FILE_PREFIX}{}{FILE_SUFFIX}",
            &hex::encode(h.finalize())[..32]
        );
        Entry {
            cache: self.clone(),
            path: self.dir.join(name),
            url: url.to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    /// Makes sure the directory exists and only its owner, this user, can write into it.
    fn ensure_dir(&self) -> Result<()> {
        match std::fs::symlink_metadata(&self.dir) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = self.dir.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                #[cfg(unix)]
                let b = {
                    let mut b = std::fs::DirBuilder::new();
                    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                    b
                };
                #[cfg(not(unix))]
                let b = std::fs::DirBuilder::new();
                match b.create(&self.dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("cannot create {}", self.dir.display()))
                    }
                }
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.dir.display())),
        }
        self.check_dir()
    }

    #[cfg(unix)]
    fn check_dir(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(&self.dir)
            .with_context(|| format!("cannot read {}", self.dir.display()))?;
        if !m.is_dir() {
            anyhow::bail!("{} is not a directory", self.dir.display());
        }
        if m.uid() != euid() {
            anyhow::bail!("{} belongs to another user", self.dir.display());
        }
        if m.mode() & 0o022 != 0 {
            anyhow::bail!(
                "others may write into {} (mode {:o}); run: chmod 700 {}",
                self.dir.display(),
                m.mode() & 0o777,
                self.dir.display()
            );
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_dir(&self) -> Result<()> {
        Ok(())
    }

    /// Deletes every entry; returns how many there were.
    pub fn forget_all(&self) -> Result<usize> {
        let list = match std::fs::read_dir(&self.dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.dir.display())),
        };
        let mut n = 0;
        for item in list {
            let item = item.with_context(|| format!("cannot read {}", self.dir.display()))?;
            let name = item.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(FILE_PREFIX) && name.ends_with(FILE_SUFFIX) {
                remove(&item.path())?;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(unix)]
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn remove(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot delete {}", path.display())),
    }
}

fn warn(text: impl std::fmt::Display) {
    eprintln!("warning: session cache: {text}");
}

impl Entry {
    /// The stored session, when there is a usable one. Ignores (with a warning) a file that
    /// is not private, not this user's, or not a session file; silently ignores one unused
    /// for longer than the server keeps sessions. Marks the entry used.
    pub fn load(&self) -> Option<Session> {
        let file = match self.open() {
            Ok(Some(f)) => f,
            Ok(None) => return None,
            Err(e) => {
                warn(format!("ignoring {}: {e:#}", self.path.display()));
                return None;
            }
        };
        let (mut file, modified) = file;
        if modified
            .elapsed()
            .is_ok_and(|idle| idle > SERVER_IDLE_TIMEOUT)
        {
            tracing::debug!("the cached session is older than the server keeps sessions");
            return None;
        }
        let mut text = Vec::new();
        // A session file is a few hundred bytes.
        let limited = std::io::Read::take(&mut file, 64 * 1024);
        if let Err(e) = std::io::Read::read_to_end(&mut { limited }, &mut text) {
            warn(format!("cannot read {}: {e}", self.path.display()));
            return None;
        }
        // Only the position of a syntax error: serde's messages may quote the content.
        let stored: Stored = match serde_json::from_slice(&text) {
            Ok(s) => s,
            Err(e) => {
                warn(format!(
                    "ignoring {}: not a session file (line {}, column {})",
                    self.path.display(),
                    e.line(),
                    e.column()
                ));
                return None;
            }
        };
        if stored.url != self.url || stored.user != self.user || stored.session.is_empty() {
            warn(format!(
                "ignoring {}: it is not the session of this server and user",
                self.path.display()
            ));
            return None;
        }
        if password_check(&stored.session, &self.user, &self.password) != stored.check {
            tracing::debug!("the cached session was made with another password; logging in");
            return None;
        }
        // Used now: the server's idle time starts again.
        let _ = file.set_modified(SystemTime::now());
        tracing::debug!("resuming the cached session");
        Some(Session::from_token(stored.session).with_login_info(stored.login))
    }

    /// Opens the file after checking who owns it and who may read it; `None` if missing.
    fn open(&self) -> Result<Option<(std::fs::File, SystemTime)>> {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.file_type().is_symlink() => anyhow::bail!("it is a symbolic link"),
            Ok(m) if !m.is_file() => anyhow::bail!("it is not a file"),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        self.cache.check_dir()?;
        let file = std::fs::File::open(&self.path)?;
        let m = file.metadata()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if m.uid() != euid() {
                anyhow::bail!("it belongs to another user (uid {})", m.uid());
            }
            if m.mode() & 0o077 != 0 {
                anyhow::bail!(
                    "others may read it (mode {:o}; it must be 600)",
                    m.mode() & 0o777
                );
            }
        }
        Ok(Some((file, m.modified()?)))
    }

    /// Stores `session` (a new login), or deletes the entry (`None`: the session is gone).
    /// Failures are warnings: the command goes on without the cache.
    pub fn store(&self, session: Option<&Session>) {
        let r = match session {
            Some(s) => self.write(s),
            None => remove(&self.path).map(drop),
        };
        if let Err(e) = r {
            warn(format!("{e:#}"));
        }
    }

    fn write(&self, s: &Session) -> Result<()> {
        self.cache.ensure_dir()?;
        let stored = Stored {
            url: self.url.clone(),
            user: self.user.clone(),
            session: s.expose_token().to_owned(),
            check: password_check(s.expose_token(), &self.user, &self.password),
            login: s.login_info().clone(),
        };
        let text = serde_json::to_vec(&stored)?;
        // tempfile creates the file 0600 and renames it into place.
        let dir = &self.cache.dir;
        let mut tmp = tempfile::Builder::new()
            .prefix(".session-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        tmp.write_all(&text)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        tmp.persist(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        tracing::debug!("stored the session in the session cache");
        Ok(())
    }

    /// Deletes the entry; true when there was one.
    pub fn forget(&self) -> Result<bool> {
        remove(&self.path)
    }
}

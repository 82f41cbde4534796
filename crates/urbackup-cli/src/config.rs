//! Connection settings: command line, environment, and TOML profiles.
//!
//! The config file (`--config FILE`, `URBACKUP_CONFIG`, else `urbackup/config.toml` in the
//! platform's config directory, e.g. `~/.config/urbackup/config.toml`):
//!
//! ```toml
//! default = "prod"            # profile used when none is named (optional)
//!
//! [profiles.prod]
//! url = "https://backup.example.com/"
//! user = "admin"
//! password_file = "/home/me/.config/urbackup/prod.pw"
//!
//! [profiles.lab]
//! url = "http://10.0.0.5:55414/"
//! user = "admin"
//! password = "secret"         # then the file must not be readable by others
//! ca_cert = "/etc/ssl/lab-ca.pem"
//! insecure = false
//! basic_user = "proxy"
//! basic_password = "proxysecret"
//! timeout = 30
//! ldap = false
//! ```
//!
//! Which server: `--all-profiles` → every profile; `--profile NAME` (or `URBACKUP_PROFILE`) →
//! that profile; else `--url` or `URBACKUP_URL` → no profile; else the default profile (the
//! `default` key, or the only profile). Within a profile, command-line flags win over the
//! profile, and the profile over the environment.

use crate::session_cache::SessionCache;
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use urbackup::UrbackupServer;

/// Connection options of the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnArgs {
    /// Server URL, e.g. http://host:55414/ [env: URBACKUP_URL]
    #[arg(long, global = true, value_name = "URL", help_heading = "Connection")]
    pub url: Option<String>,
    /// User name [env: URBACKUP_USER]. The password comes from URBACKUP_PASSWORD,
    /// --password-file, the profile, or a prompt on a terminal; never from the command line.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub user: Option<String>,
    /// Read the password from the first line of FILE
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub password_file: Option<PathBuf>,
    /// Config file with profiles [env: URBACKUP_CONFIG; default: urbackup/config.toml in the platform config dir]
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub config: Option<PathBuf>,
    /// Use the profile NAME of the config file [env: URBACKUP_PROFILE]; repeat it to read
    /// several servers at once (read commands, exporter, report, zabbix)
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub profile: Vec<String>,
    /// Run a read command against every profile concurrently; rows get a `server` column
    #[arg(long, global = true, help_heading = "Connection", conflicts_with_all = ["url", "profile"])]
    pub all_profiles: bool,
    /// Trust this CA certificate (PEM) for HTTPS
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate (only for a server you control)
    #[arg(long, global = true, help_heading = "Connection")]
    pub insecure: bool,
    /// HTTP basic auth user for a reverse proxy; password from URBACKUP_BASIC_PASSWORD or the profile
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub basic_user: Option<String>,
    /// Request timeout in seconds (default 60)
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        help_heading = "Connection"
    )]
    pub timeout: Option<f64>,
    /// Send the clear password at login, as LDAP accounts need (use HTTPS)
    #[arg(long, global = true, help_heading = "Connection")]
    pub ldap: bool,
    /// Neither use nor store a cached session: log in on every run [env: URBACKUP_NO_SESSION_CACHE=1]
    #[arg(long, global = true, help_heading = "Connection")]
    pub no_session_cache: bool,
}

/// One profile of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Server URL.
    pub url: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Password (the file must then be private).
    pub password: Option<String>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
    /// Basic auth user.
    pub basic_user: Option<String>,
    /// Basic auth password.
    pub basic_password: Option<String>,
    /// CA certificate.
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate.
    #[serde(default)]
    pub insecure: bool,
    /// Request timeout, seconds.
    pub timeout: Option<f64>,
    /// Clear-password (LDAP) login.
    #[serde(default)]
    pub ldap: bool,
}

/// The config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when none is named.
    pub default: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Where it was read from.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// Everything needed to connect to one server.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Profile name, if one was used.
    pub profile: Option<String>,
    /// Server URL.
    pub url: String,
    /// User name (empty: anonymous).
    pub user: String,
    /// Password.
    pub password: Option<String>,
    /// Basic auth.
    pub basic: Option<(String, String)>,
    /// CA certificate.
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate.
    pub insecure: bool,
    /// Timeout, seconds.
    pub timeout: Option<f64>,
    /// Clear-password login.
    pub ldap: bool,
    /// Where sessions are kept between runs (`None`: the cache is off).
    pub session_cache: Option<Arc<SessionCache>>,
    /// The config file the profile came from (for messages).
    pub source: Option<PathBuf>,
}

impl Resolved {
    /// The session cache entry of this server and user.
    pub fn cache_entry(&self) -> Result<Option<crate::session_cache::Entry>> {
        let Some(cache) = &self.session_cache else {
            return Ok(None);
        };
        let url = UrbackupServer::builder(&self.url).endpoint()?;
        let password = self.password.as_deref().unwrap_or("");
        Ok(Some(cache.entry(&url, &self.user, password)))
    }

    /// Where the connection settings come from, for messages: `profile `NAME` in FILE`.
    pub fn origin(&self) -> Option<String> {
        let name = self.profile.as_deref()?;
        Some(match &self.source {
            Some(file) => format!("profile `{name}` in {}", file.display()),
            None => format!("profile `{name}`"),
        })
    }

    /// Builds the library handle (does not contact the server). With the session cache on,
    /// the handle resumes the cached session and stores every new one.
    pub fn build(&self) -> Result<UrbackupServer> {
        // A bad URL is the profile's fault: say which profile, in which file (never the URL
        // itself, which may hold a password).
        if let Err(e) = UrbackupServer::builder(&self.url).endpoint() {
            return Err(match self.origin() {
                Some(origin) => anyhow!("{origin}: {e}"),
                None => e.into(),
            });
        }
        let mut b = UrbackupServer::builder(&self.url)
            .credentials(&self.user, self.password.as_deref().unwrap_or(""))
            .plain_password_login(self.ldap)
            .user_agent(concat!("urbackup-cli/", env!("CARGO_PKG_VERSION")));
        if let Some((u, p)) = &self.basic {
            b = b.basic_auth(u, p);
        }
        if let Some(ca) = &self.ca_cert {
            b = b.ca_certificate_file(ca);
        }
        if self.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(t) = self.timeout {
            if !(t > 0.0 && t.is_finite()) {
                bail!("--timeout must be a positive number of seconds");
            }
            let d = Duration::from_secs_f64(t);
            b = b.timeout(d).connect_timeout(d.min(Duration::from_secs(10)));
        }
        if let Some(entry) = self.cache_entry()? {
            if let Some(session) = entry.load() {
                b = b.resume_session(session);
            }
            b = b.on_session_change(move |s| entry.store(s));
        }
        Ok(b.build()?)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The default config path.
pub fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("urbackup").join("config.toml"))
}

/// Reads the config file: an explicit path must exist; the default one may be missing.
pub fn load(explicit: Option<&Path>) -> Result<ConfigFile> {
    let explicit = explicit
        .map(Path::to_path_buf)
        .or_else(|| env("URBACKUP_CONFIG").map(PathBuf::from));
    let (path, must_exist) = match explicit {
        Some(p) => (p, true),
        None => match default_config_path() {
            Some(p) => (p, false),
            None => return Ok(ConfigFile::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(ConfigFile::default())
        }
        Err(e) => return Err(anyhow!("cannot read config file {}: {e}", path.display())),
    };
    let mut cfg: ConfigFile = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let (line, column) = line_column(&text, span.start);
                format!(", line {line}, column {column}")
            })
            .unwrap_or_default();
        anyhow!(
            "invalid config file {}{at}: {}",
            path.display(),
            e.message().trim()
        )
    })?;
    let has_secret = cfg
        .profiles
        .values()
        .any(|p| p.password.is_some() || p.basic_password.is_some());
    if has_secret {
        check_private(&path)?;
    }
    cfg.path = Some(path);
    Ok(cfg)
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?
        .permissions()
        .mode();
    // Its group may read it (root:urbackup 0640 for the services of the Debian package),
    // others may not, and only its owner may write it.
    if mode & 0o027 != 0 {
        bail!(
            "config file {} contains a password but is readable by others or writable by its group (mode {:o}); run: chmod 600 {} (or 640 for a service's group)",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<()> {
    Ok(())
}

impl ConfigFile {
    fn profile(&self, name: &str) -> Result<&Profile> {
        self.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            match &self.path {
                Some(p) if !known.is_empty() => anyhow!(
                    "no profile `{name}` in {} (profiles: {})",
                    p.display(),
                    known.join(", ")
                ),
                Some(p) => anyhow!("no profile `{name}` in {}", p.display()),
                None => anyhow!(
                    "no profile `{name}`: no config file (expected at {})",
                    default_config_path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "--config FILE".into())
                ),
            }
        })
    }

    fn default_profile(&self) -> Option<&str> {
        if let Some(d) = &self.default {
            return Some(d);
        }
        if self.profiles.len() == 1 {
            return self.profiles.keys().next().map(String::as_str);
        }
        None
    }
}

/// Where to connect, for every server the command runs against.
pub fn resolve(args: &ConnArgs, cfg: &ConfigFile) -> Result<Vec<Resolved>> {
    if args.all_profiles {
        if cfg.profiles.is_empty() {
            bail!(
                "--all-profiles: no profiles in {}",
                cfg.path
                    .clone()
                    .or_else(default_config_path)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "the config file".into())
            );
        }
        return cfg
            .profiles
            .iter()
            .map(|(name, p)| from_profile(args, name, p, false, cfg.path.as_deref()))
            .collect();
    }
    let named: Vec<String> = if args.profile.is_empty() {
        env("URBACKUP_PROFILE").into_iter().collect()
    } else {
        args.profile.clone()
    };
    if !named.is_empty() {
        let mut out: Vec<Resolved> = Vec::new();
        for name in &named {
            if out
                .iter()
                .any(|r| r.profile.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            let p = cfg.profile(name)?;
            // Several servers: each from its profile alone, as with --all-profiles.
            out.push(from_profile(
                args,
                name,
                p,
                named.len() == 1,
                cfg.path.as_deref(),
            )?);
        }
        return Ok(out);
    }
    if args.url.is_some() || env("URBACKUP_URL").is_some() {
        return Ok(vec![from_profile(
            args,
            "",
            &Profile::default(),
            true,
            None,
        )?]);
    }
    if let Some(name) = cfg.default_profile() {
        let p = cfg.profile(name)?;
        return Ok(vec![from_profile(
            args,
            name,
            p,
            true,
            cfg.path.as_deref(),
        )?]);
    }
    bail!(
        "no server given: use --url URL, set URBACKUP_URL, or add a profile to {} (try `urbackup demo` for a simulated one)",
        cfg.path
            .clone()
            .or_else(default_config_path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the config file".into())
    )
}

fn from_profile(
    args: &ConnArgs,
    name: &str,
    p: &Profile,
    use_env: bool,
    file: Option<&Path>,
) -> Result<Resolved> {
    let e = |n: &str| if use_env { env(n) } else { None };
    let label = if name.is_empty() {
        None
    } else {
        Some(name.to_owned())
    };
    let url = args
        .url
        .clone()
        .or_else(|| p.url.clone())
        .or_else(|| e("URBACKUP_URL"))
        .ok_or_else(|| anyhow!("profile `{name}` has no url"))?;
    let user = args
        .user
        .clone()
        .or_else(|| p.user.clone())
        .or_else(|| e("URBACKUP_USER"))
        .unwrap_or_default();
    let password = if let Some(f) = &args.password_file {
        Some(read_password_file(f)?)
    } else if let Some(pw) = &p.password {
        Some(pw.clone())
    } else if let Some(f) = &p.password_file {
        Some(read_password_file(&expand_home(f))?)
    } else {
        e("URBACKUP_PASSWORD")
    };
    let basic_user = args.basic_user.clone().or_else(|| p.basic_user.clone());
    let basic = match basic_user {
        Some(u) if !u.is_empty() => {
            let pw = p
                .basic_password
                .clone()
                .or_else(|| env("URBACKUP_BASIC_PASSWORD"))
                .unwrap_or_default();
            Some((u, pw))
        }
        _ => None,
    };
    Ok(Resolved {
        profile: label,
        url,
        user,
        password,
        basic,
        ca_cert: args
            .ca_cert
            .clone()
            .or_else(|| p.ca_cert.as_deref().map(expand_home)),
        insecure: args.insecure || p.insecure,
        timeout: args.timeout.or(p.timeout),
        ldap: args.ldap || p.ldap,
        session_cache: None,
        source: if name.is_empty() {
            None
        } else {
            file.map(Path::to_path_buf)
        },
    })
}

fn expand_home(p: &Path) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => dirs::home_dir()
            .map(|h| h.join(rest))
            .unwrap_or_else(|| p.into()),
        Err(_) => p.to_path_buf(),
    }
}

fn read_password_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read password file {}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// Asks for the missing password on the terminal; without a terminal, a user without a
/// password is an error (the server would refuse the login anyway).
pub fn ensure_password(r: &mut Resolved) -> Result<()> {
    if r.user.is_empty() || r.password.is_some() {
        return Ok(());
    }
    if std::io::stdin().is_terminal() {
        let prompt = match &r.profile {
            Some(p) => format!("Password for {} ({p}): ", r.user),
            None => format!("Password for {} at {}: ", r.user, r.url),
        };
        let pw = rpassword::prompt_password(prompt).context("cannot read the password")?;
        r.password = Some(pw);
        return Ok(());
    }
    bail!(
        "no password for user `{}`: set URBACKUP_PASSWORD, use --password-file FILE, or put it in the profile",
        r.user
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles() {
        let cfg: ConfigFile = toml::from_str(
            r#"
default = "a"
[profiles.a]
url = "http://a/"
user = "admin"
[profiles.b]
url = "http://b/"
timeout = 5
"#,
        )
        .unwrap();
        assert_eq!(cfg.default_profile(), Some("a"));
        let r = resolve(&ConnArgs::default(), &cfg).unwrap();
        assert_eq!(r[0].url, "http://a/");
        let args = ConnArgs {
            all_profiles: true,
            ..Default::default()
        };
        let r = resolve(&args, &cfg).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].timeout, Some(5.0));
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<ConfigFile>("[profiles.a]\nurl='x'\npasword='y'\n").is_err());
    }
}

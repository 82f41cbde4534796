//! Directory logins: LDAP and Active Directory (through the `ldap3` crate, on tokio, TLS by
//! rustls).
//!
//! A login: bind as the console's service account (or anonymously), search the base for the
//! one entry that matches the user filter (the typed name escaped as RFC 4515 asks, so that
//! `*)(uid=*))(|(uid=*` matches nobody), read its groups (`memberOf`, or where the directory
//! has no such attribute, a search for groups with `member=`/`uniqueMember=` the user's DN),
//! and last bind as that entry with the typed password. An empty password is refused before
//! any bind (a simple bind with an empty password is an "unauthenticated bind" that many
//! directories answer with success). The groups decide the role (`--ldap-role`, the highest
//! one wins) and optionally the servers (`--ldap-scope`).
//!
//! Bounded: at most [`MAX_CONCURRENT`] logins talk to the directory at once (others wait at
//! most a fifth of the timeout for a turn, then are told the console is busy), and one login
//! has [`TIMEOUT`] in all, connection included; it runs on a task of its own that is ended at
//! the timeout. Never on the Argon2 hasher's threads. Passwords are never logged, shown or put in an error.

use super::{Role, Scope};
use ldap3::{ldap_escape, LdapConnAsync, LdapConnSettings, Scope as LdapScope, SearchEntry};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The time one directory login has, from the connection to the last answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Directory logins at once.
pub const MAX_CONCURRENT: usize = 8;
/// The user filter when none is given (OpenLDAP and most directories).
pub const DEFAULT_USER_FILTER: &str = "(uid={user})";

/// A password read from a file: never in `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BindPassword(String);

impl BindPassword {
    /// The password (the first line of a file's text, without its line end).
    pub fn new(password: String) -> BindPassword {
        BindPassword(password)
    }

    /// Reads the first line of `path` (e.g. a file only the console's account can read).
    pub fn from_file(path: &std::path::Path) -> Result<BindPassword, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the bind password file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(format!(
                "the bind password file {} is empty",
                path.display()
            ));
        }
        Ok(BindPassword(line.to_owned()))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BindPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindPassword(***)")
    }
}

/// The servers a directory group may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupServers {
    /// Every server (`GROUP_DN=*`).
    All,
    /// These servers.
    Some(BTreeSet<String>),
}

/// How the console reaches the directory.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// `ldap://HOST:PORT` or `ldaps://HOST:PORT`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent.
    pub starttls: bool,
    /// Extra CA certificates (PEM) to trust for `ldaps://` and StartTLS, besides the system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// Where users and groups are searched.
    pub base: String,
    /// The service account that searches (`None`: an anonymous search).
    pub bind_dn: Option<String>,
    /// Its password.
    pub bind_password: Option<BindPassword>,
    /// The filter that finds a user, `{user}` standing for the typed name (escaped).
    pub user_filter: String,
    /// Group DN -> role.
    pub roles: Vec<(String, Role)>,
    /// Group DN -> servers (empty: every directory user sees every server).
    pub scopes: Vec<(String, GroupServers)>,
    /// The time one login has.
    pub timeout: Duration,
}

impl DirectoryConfig {
    /// A configuration with the defaults: anonymous search, `(uid={user})`, no mapping yet.
    pub fn new(url: &str, base: &str) -> DirectoryConfig {
        DirectoryConfig {
            url: url.to_owned(),
            starttls: false,
            ca_file: None,
            base: base.to_owned(),
            bind_dn: None,
            bind_password: None,
            user_filter: DEFAULT_USER_FILTER.to_owned(),
            roles: Vec::new(),
            scopes: Vec::new(),
            timeout: TIMEOUT,
        }
    }

    /// Checks what can be checked before any connection: the URL's scheme, the filter's form,
    /// at least one role mapping.
    pub fn validate(&self) -> Result<(), String> {
        let url =
            url::Url::parse(&self.url).map_err(|e| format!("--ldap-url {}: {e}", self.url))?;
        match url.scheme() {
            "ldap" => {}
            "ldaps" if self.starttls => {
                return Err("--ldap-starttls is for ldap:// URLs (ldaps:// is TLS already)".into())
            }
            "ldaps" => {}
            other => {
                return Err(format!(
                    "--ldap-url {}: the scheme must be ldap or ldaps, not {other}",
                    self.url
                ))
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("--ldap-url {}: no host", self.url));
        }
        if self.base.trim().is_empty() {
            return Err("--ldap-base is needed with --ldap-url".into());
        }
        let f = &self.user_filter;
        if !f.contains("{user}") || !f.starts_with('(') || !f.ends_with(')') {
            return Err(format!(
                "--ldap-user-filter {f}: a filter in parentheses with {{user}} where the name goes, e.g. (uid={{user}})"
            ));
        }
        let mut depth = 0i32;
        for c in f.chars() {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            if depth < 0 {
                break;
            }
        }
        if depth != 0 {
            return Err(format!("--ldap-user-filter {f}: unbalanced parentheses"));
        }
        if self.bind_dn.is_some() != self.bind_password.is_some() {
            return Err("--ldap-bind-dn and --ldap-bind-password-file go together".into());
        }
        if self.roles.is_empty() {
            return Err(
                "--ldap-url needs at least one --ldap-role GROUP_DN=ROLE: directory users get their role from their groups"
                    .into(),
            );
        }
        Ok(())
    }
}

/// `GROUP_DN=ROLE` (split at the last `=`: a DN holds several).
pub fn parse_role_mapping(s: &str) -> Result<(String, Role), String> {
    let (dn, role) = s
        .rsplit_once('=')
        .filter(|(dn, _)| dn.contains('='))
        .ok_or_else(|| format!("--ldap-role {s}: expected GROUP_DN=ROLE, e.g. cn=backup-admins,ou=groups,dc=example,dc=org=admin"))?;
    let role = role
        .trim()
        .parse()
        .map_err(|e| format!("--ldap-role {s}: {e}"))?;
    Ok((dn.trim().to_owned(), role))
}

/// `GROUP_DN=SERVER,SERVER` or `GROUP_DN=*` (split at the last `=`).
pub fn parse_scope_mapping(s: &str) -> Result<(String, GroupServers), String> {
    let (dn, servers) = s
        .rsplit_once('=')
        .filter(|(dn, _)| dn.contains('='))
        .ok_or_else(|| {
            format!("--ldap-scope {s}: expected GROUP_DN=SERVER,SERVER (or GROUP_DN=*)")
        })?;
    let servers = match servers.trim() {
        "*" => GroupServers::All,
        list => GroupServers::Some(
            Scope::parse_list("--ldap-scope", list).map_err(|e| format!("{e} (in {s})"))?,
        ),
    };
    Ok((dn.trim().to_owned(), servers))
}

/// A DN in a form two spellings of the same DN share: lower case, no blanks around the `,`
/// and `=` of its parts.
pub fn normalise_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// A directory user the directory let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The entry's DN.
    pub dn: String,
    /// From the groups.
    pub role: Role,
    /// From the groups (admins: every server).
    pub scope: Scope,
    /// The mapped groups the user is in (normalised DNs), for the log.
    pub groups: Vec<String>,
}

/// How a directory login ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryOutcome {
    /// Let in.
    User(DirectoryUser),
    /// No such user, or the wrong password (or an empty one).
    Wrong,
    /// The password is right, but the user is in no group the console maps to a role (or to
    /// servers, when `--ldap-scope` is used): the message says which.
    NoAccess(String),
    /// The directory could not be asked (down, too slow, refused the service account): why,
    /// for the log (not for the browser).
    Unavailable(String),
    /// Too many directory logins at once.
    Busy,
}

/// The directory, bounded: see the module's documentation.
#[derive(Debug, Clone)]
pub struct Directory {
    config: Arc<DirectoryConfig>,
    permits: Arc<Semaphore>,
}

/// Ends a spawned task when dropped (a login that timed out leaves nothing running).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Directory {
    /// A directory with this configuration ([`DirectoryConfig::validate`] first).
    pub fn new(config: DirectoryConfig) -> Directory {
        Directory {
            config: Arc::new(config),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DirectoryConfig {
        &self.config
    }

    /// Checks `user`'s `password` with the directory and maps their groups; within the
    /// timeout, whatever the directory does.
    pub async fn authenticate(&self, user: &str, password: &str) -> DirectoryOutcome {
        // Refused before anything is sent: an empty password would be an unauthenticated bind.
        if password.is_empty() || user.is_empty() {
            return DirectoryOutcome::Wrong;
        }
        let timeout = self.config.timeout;
        // A turn comes within moments while the directory answers; while it hangs, the turns
        // are all taken for the timeout: then say "busy" soon rather than wait as long.
        let Ok(Ok(permit)) =
            tokio::time::timeout(timeout / 5, self.permits.clone().acquire_owned()).await
        else {
            return DirectoryOutcome::Busy;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let config = self.config.clone();
        let (user, password) = (user.to_owned(), password.to_owned());
        // A task of its own: ended at the timeout (dropped), and a panic inside the LDAP
        // library on a malformed answer ends only this login.
        let task = AbortOnDrop(tokio::spawn(async move {
            let _permit = permit;
            login(&config, &user, &password).await
        }));
        match tokio::time::timeout_at(deadline, &mut { task }.0).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => {
                DirectoryOutcome::Unavailable("the directory's answer could not be read".into())
            }
            Err(_) => DirectoryOutcome::Unavailable(format!(
                "the directory did not answer within {} s",
                timeout.as_secs()
            )),
        }
    }
}

fn tls_config(ca_file: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| format!("cannot read --ldap-ca-file {}: {e}", ca_file.display()))?;
    let mut added = 0;
    for cert in certs {
        let cert = cert.map_err(|e| format!("--ldap-ca-file {}: {e}", ca_file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("--ldap-ca-file {}: {e}", ca_file.display()))?;
        added += 1;
    }
    if added == 0 {
        return Err(format!(
            "--ldap-ca-file {}: no certificate in it",
            ca_file.display()
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One login, start to end (see the module's documentation).
async fn login(config: &DirectoryConfig, user: &str, password: &str) -> DirectoryOutcome {
    use DirectoryOutcome::*;
    let unavailable = |what: &str, e: &dyn std::fmt::Display| {
        Unavailable(format!("{what} ({}): {e}", config.url))
    };
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(config.timeout)
        .set_starttls(config.starttls);
    if let Some(ca) = &config.ca_file {
        match tls_config(ca) {
            Ok(c) => settings = settings.set_config(c),
            Err(e) => return Unavailable(e),
        }
    }
    let (conn, mut ldap) = match LdapConnAsync::with_settings(settings, &config.url).await {
        Ok(c) => c,
        Err(e) => return unavailable("cannot connect to the directory", &e),
    };
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.drive().await;
    }));
    // The service account (or an anonymous search).
    if let (Some(dn), Some(pw)) = (&config.bind_dn, &config.bind_password) {
        match ldap.simple_bind(dn, pw.expose()).await {
            Ok(r) if r.rc == 0 => {}
            Ok(r) => {
                return Unavailable(format!(
                    "the directory refused the console's account {dn} (result {}{}): check --ldap-bind-dn and --ldap-bind-password-file",
                    r.rc,
                    if r.text.is_empty() { String::new() } else { format!(", {}", r.text) }
                ))
            }
            Err(e) => return unavailable("the directory did not take the console's account", &e),
        }
    }
    // The one entry of this user.
    let filter = config.user_filter.replace("{user}", &ldap_escape(user));
    let found = ldap
        .with_search_options(ldap3::SearchOptions::new().sizelimit(2))
        .search(&config.base, LdapScope::Subtree, &filter, vec!["memberOf"])
        .await;
    let (entries, res) = match found {
        Ok(r) => (r.0, r.1),
        Err(e) => return unavailable("the user search failed", &e),
    };
    match res.rc {
        0 => {}
        // More than one entry matched.
        4 => {
            tracing::warn!(target: super::SECURITY, "the directory's user filter matches more than one entry for a login: refused (make --ldap-user-filter match one)");
            return Wrong;
        }
        rc => {
            return Unavailable(format!(
                "the user search under {} failed ({}): result {rc} {}",
                config.base, config.url, res.text
            ))
        }
    }
    let entries: Vec<SearchEntry> = entries
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(SearchEntry::construct)
        .collect();
    let [entry] = entries.as_slice() else {
        if entries.len() > 1 {
            tracing::warn!(target: super::SECURITY, "the directory's user filter matches more than one entry for a login: refused");
        }
        return Wrong;
    };
    let dn = entry.dn.clone();
    let mut groups: Vec<String> = entry
        .attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("memberOf"))
        .flat_map(|(_, v)| v.iter().map(|g| normalise_dn(g)))
        .collect();
    if groups.is_empty() {
        // No memberOf: the groups that name the user as a member.
        let d = ldap_escape(dn.as_str());
        let filter = format!("(|(member={d})(uniqueMember={d}))");
        match ldap
            .with_search_options(ldap3::SearchOptions::new().sizelimit(1000))
            .search(&config.base, LdapScope::Subtree, &filter, vec!["1.1"])
            .await
        {
            Ok(r) if r.1.rc == 0 || r.1.rc == 4 => {
                groups =
                    r.0.into_iter()
                        .filter(|e| !e.is_ref() && !e.is_intermediate())
                        .map(|e| normalise_dn(&SearchEntry::construct(e).dn))
                        .collect();
            }
            Ok(r) => {
                return Unavailable(format!(
                    "the group search failed ({}): result {} {}",
                    config.url, r.1.rc, r.1.text
                ))
            }
            Err(e) => return unavailable("the group search failed", &e),
        }
    }
    // Last, the user's own password.
    match ldap.simple_bind(&dn, password).await {
        Ok(r) if r.rc == 0 => {}
        Ok(r) => {
            tracing::debug!(target: super::SECURITY, rc = r.rc, "directory bind refused");
            let _ = ldap.unbind().await;
            return Wrong;
        }
        Err(e) => return unavailable("the directory did not answer the user's bind", &e),
    }
    let _ = ldap.unbind().await;
    map_groups(config, dn, groups)
}

/// The role and scope of a user in these groups (normalised DNs).
pub fn map_groups(config: &DirectoryConfig, dn: String, groups: Vec<String>) -> DirectoryOutcome {
    let member = |group: &str| groups.iter().any(|g| *g == normalise_dn(group));
    let role = config
        .roles
        .iter()
        .filter(|(g, _)| member(g))
        .map(|(_, r)| *r)
        .max();
    let Some(role) = role else {
        return DirectoryOutcome::NoAccess(
            "You are not in a directory group that this console lets in. Ask its administrator."
                .into(),
        );
    };
    let mapped: Vec<String> = config
        .roles
        .iter()
        .map(|(g, _)| g)
        .chain(config.scopes.iter().map(|(g, _)| g))
        .filter(|g| member(g))
        .map(|g| normalise_dn(g))
        .collect();
    let scope = if role == Role::Admin || config.scopes.is_empty() {
        Scope::all()
    } else {
        let mut servers = BTreeSet::new();
        let mut all = false;
        let mut any = false;
        for (g, s) in &config.scopes {
            if member(g) {
                any = true;
                match s {
                    GroupServers::All => all = true,
                    GroupServers::Some(list) => servers.extend(list.iter().cloned()),
                }
            }
        }
        if !any {
            return DirectoryOutcome::NoAccess(
                "You are not in a directory group that this console gives servers to. Ask its administrator."
                    .into(),
            );
        }
        if all {
            Scope::all()
        } else {
            Scope::servers(servers)
        }
    };
    DirectoryOutcome::User(DirectoryUser {
        dn,
        role,
        scope,
        groups: mapped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_parse_at_the_last_equals_sign() {
        let (dn, role) =
            parse_role_mapping("cn=ops, ou=groups,dc=example,dc=org=operator").unwrap();
        assert_eq!(dn, "cn=ops, ou=groups,dc=example,dc=org");
        assert_eq!(role, Role::Operator);
        assert!(parse_role_mapping("operator").is_err());
        assert!(parse_role_mapping("cn=x=root").is_err());
        let (_, s) = parse_scope_mapping("cn=a,dc=b=alpha, bravo").unwrap();
        assert_eq!(
            s,
            GroupServers::Some(["alpha".to_string(), "bravo".into()].into())
        );
        assert_eq!(parse_scope_mapping("cn=a=*").unwrap().1, GroupServers::All);
        assert!(parse_scope_mapping("cn=a=").is_err());
    }

    #[test]
    fn dns_compare_without_case_and_blanks() {
        assert_eq!(
            normalise_dn("CN=Ops, OU=Groups ,dc = Example,DC=org"),
            "cn=ops,ou=groups,dc=example,dc=org"
        );
    }

    #[test]
    fn the_highest_role_wins_and_scopes_need_a_group() {
        let mut c = DirectoryConfig::new("ldap://127.0.0.1:1", "dc=example,dc=org");
        c.roles = vec![
            ("cn=viewers,dc=example,dc=org".into(), Role::Viewer),
            ("cn=ops,dc=example,dc=org".into(), Role::Operator),
        ];
        let groups = |g: &[&str]| g.iter().map(|g| normalise_dn(g)).collect::<Vec<_>>();
        let out = map_groups(
            &c,
            "uid=a".into(),
            groups(&["CN=viewers,dc=example,dc=org", "cn=ops,dc=example,dc=org"]),
        );
        let DirectoryOutcome::User(u) = out else {
            panic!("{out:?}")
        };
        assert_eq!(u.role, Role::Operator);
        assert!(u.scope.is_all());
        assert!(matches!(
            map_groups(&c, "uid=a".into(), groups(&["cn=other,dc=example,dc=org"])),
            DirectoryOutcome::NoAccess(_)
        ));
        c.scopes = vec![
            (
                "cn=viewers,dc=example,dc=org".into(),
                GroupServers::Some(["alpha".to_string()].into()),
            ),
            (
                "cn=ops,dc=example,dc=org".into(),
                GroupServers::Some(["bravo".to_string()].into()),
            ),
        ];
        let DirectoryOutcome::User(u) = map_groups(
            &c,
            "uid=a".into(),
            groups(&["cn=viewers,dc=example,dc=org", "cn=ops,dc=example,dc=org"]),
        ) else {
            panic!()
        };
        assert_eq!(u.scope, Scope::servers(["alpha", "bravo"]));
        c.scopes
            .push(("cn=all,dc=example,dc=org".into(), GroupServers::All));
        c.roles
            .push(("cn=all,dc=example,dc=org".into(), Role::Viewer));
        let DirectoryOutcome::User(u) =
            map_groups(&c, "uid=a".into(), groups(&["cn=all,dc=example,dc=org"]))
        else {
            panic!()
        };
        assert!(u.scope.is_all());
        // A role, but no servers.
        c.roles
            .push(("cn=lost,dc=example,dc=org".into(), Role::Viewer));
        assert!(matches!(
            map_groups(&c, "uid=a".into(), groups(&["cn=lost,dc=example,dc=org"])),
            DirectoryOutcome::NoAccess(_)
        ));
    }

    #[test]
    fn the_configuration_is_checked_and_the_password_hidden() {
        let mut c = DirectoryConfig::new("ldap://dir.example.org:389", "dc=example,dc=org");
        assert!(c.validate().unwrap_err().contains("--ldap-role"));
        c.roles.push(("cn=a,dc=b".into(), Role::Viewer));
        assert!(c.validate().is_ok());
        c.user_filter = "uid={user}".into();
        assert!(c.validate().is_err());
        c.user_filter = "(&(uid={user})(objectClass=person)".into();
        assert!(c.validate().is_err());
        c.user_filter = "(sAMAccountName={user})".into();
        assert!(c.validate().is_ok());
        c.url = "http://x".into();
        assert!(c.validate().is_err());
        c.url = "ldaps://x".into();
        c.starttls = true;
        assert!(c.validate().is_err());
        c.starttls = false;
        c.bind_dn = Some("cn=svc".into());
        assert!(c.validate().is_err());
        c.bind_password = Some(BindPassword::new("hunter2-secret".into()));
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn logins_are_bounded_in_number_and_time() {
        // A directory that accepts connections and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c =
            DirectoryConfig::new(&format!("ldap://{}", silent.local_addr().unwrap()), "dc=x");
        c.roles.push(("cn=a,dc=x".into(), Role::Viewer));
        c.timeout = Duration::from_secs(1);
        let d = Directory::new(c);
        let t0 = std::time::Instant::now();
        let tries: Vec<_> = (0..MAX_CONCURRENT + 4)
            .map(|i| {
                let d = d.clone();
                tokio::spawn(async move { d.authenticate(&format!("u{i}"), "pw").await })
            })
            .collect();
        let (mut unavailable, mut busy) = (0, 0);
        for t in tries {
            match t.await.unwrap() {
                DirectoryOutcome::Unavailable(why) => {
                    assert!(why.contains("did not answer within 1 s"), "{why}");
                    unavailable += 1
                }
                DirectoryOutcome::Busy => busy += 1,
                other => panic!("{other:?}"),
            }
        }
        // MAX_CONCURRENT talked to the directory and gave up at the timeout; the others waited
        // a fifth of it for a turn, and were told the console is busy.
        assert_eq!((unavailable, busy), (MAX_CONCURRENT, 4));
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        drop(silent);
    }

    #[tokio::test]
    async fn an_empty_password_is_refused_before_any_connection() {
        // Nothing listens at port 1: a connection would be "unavailable", not "wrong".
        let mut c = DirectoryConfig::new("ldap://127.0.0.1:1", "dc=example,dc=org");
        c.roles.push(("cn=a,dc=b".into(), Role::Viewer));
        let d = Directory::new(c);
        assert_eq!(d.authenticate("ann", "").await, DirectoryOutcome::Wrong);
        assert!(matches!(
            d.authenticate("ann", "x").await,
            DirectoryOutcome::Unavailable(_)
        ));
    }
}

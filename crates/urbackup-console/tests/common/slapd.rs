//! A real OpenLDAP server for the directory-login tests: Debian's `slapd`, started in a
//! temporary directory on free loopback ports (a configuration file written here, an mdb
//! database in that directory, no system service touched), loaded with
//! `tests/fixtures/directory.ldif` through `ldapadd`, and stopped when dropped.
//!
//! Without `slapd` and `ldapadd` the tests are skipped with a message, or fail when
//! `URBACKUP_LDAP_TESTS=required` (as CI sets it).

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BASE: &str = "dc=example,dc=org";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
pub const ROOT_PW: &str = "slapd-root-pw";
pub const SERVICE_DN: &str = "cn=console,ou=services,dc=example,dc=org";
pub const SERVICE_PW: &str = "console-service-pw";

pub fn group(cn: &str) -> String {
    format!("cn={cn},ou=groups,{BASE}")
}

/// How to start it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Load the memberof overlay (people get `memberOf`); without it the console must search
    /// the groups for `member=`.
    pub memberof: bool,
    /// Also listen for `ldaps://` and offer StartTLS, with a certificate of a CA made here
    /// (its PEM: [`Slapd::ca_file`]).
    pub tls: bool,
}

pub struct Slapd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// `ldap://127.0.0.1:PORT`.
    pub url: String,
    /// `ldaps://127.0.0.1:PORT` when started with TLS.
    pub ldaps_url: Option<String>,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/usr/local/sbin"].map(PathBuf::from));
    for d in dirs {
        for n in names {
            let p = d.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The folder of slapd's modules (back_mdb, memberof) and of its schemas, where Debian puts
/// them.
fn module_dir() -> Option<&'static str> {
    [
        "/usr/lib/ldap",
        "/usr/lib/x86_64-linux-gnu/ldap",
        "/usr/lib/openldap",
    ]
    .into_iter()
    .find(|d| {
        Path::new(d).join("back_mdb.so").exists() || Path::new(d).join("back_mdb.la").exists()
    })
}

impl Slapd {
    /// Starts one (`None`: slapd is not installed and not required).
    pub fn start(opts: Options) -> Option<Slapd> {
        let (Some(slapd), Some(_ldapadd), Some(modules)) =
            (find(&["slapd"]), find(&["ldapadd"]), module_dir())
        else {
            if std::env::var("URBACKUP_LDAP_TESTS").as_deref() == Ok("required") {
                panic!("URBACKUP_LDAP_TESTS=required, but slapd or ldapadd is missing (apt-get install slapd ldap-utils)");
            }
            eprintln!(
                "skipped: slapd and ldapadd are not installed (apt-get install slapd ldap-utils)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let mut s = Slapd {
            child: None,
            url: String::new(),
            ldaps_url: None,
            dir,
        };
        // A port taken between our look and slapd's bind: try again on others.
        for attempt in 0..3 {
            let port = free_port();
            let tls_port = free_port();
            s.url = format!("ldap://127.0.0.1:{port}");
            s.ldaps_url = opts.tls.then(|| format!("ldaps://127.0.0.1:{tls_port}"));
            s.write_config(opts, modules);
            let mut listen = format!("{}/", s.url);
            if let Some(l) = &s.ldaps_url {
                listen.push_str(&format!(" {l}/"));
            }
            let log = std::fs::File::create(s.log_path()).unwrap();
            // `-d stats`: in the foreground, with a line per connection, bind and search.
            let child = Command::new(&slapd)
                .arg("-f")
                .arg(s.dir.path().join("slapd.conf"))
                .arg("-h")
                .arg(&listen)
                .arg("-d")
                .arg("stats")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("slapd starts");
            s.child = Some(child);
            if s.wait_ready(Duration::from_secs(10)) {
                s.load();
                return Some(s);
            }
            s.stop();
            eprintln!("slapd did not start (attempt {attempt}): {}", s.log());
        }
        panic!("slapd did not start: {}", s.log());
    }

    fn write_config(&self, opts: Options, modules: &str) {
        let d = self.dir.path();
        let mut conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath {modules}\n\
             moduleload back_mdb\n\
             {memberof_module}\
             pidfile {d}/slapd.pid\n\
             argsfile {d}/slapd.args\n",
            d = d.display(),
            memberof_module = if opts.memberof {
                "moduleload memberof\n"
            } else {
                ""
            },
        );
        if opts.tls {
            let (ca, cert, key) = make_certificates();
            std::fs::write(d.join("ca.pem"), ca).unwrap();
            std::fs::write(d.join("cert.pem"), cert).unwrap();
            std::fs::write(d.join("key.pem"), key).unwrap();
            conf.push_str(&format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/cert.pem\nTLSCertificateKeyFile {d}/key.pem\n",
                d = d.display()
            ));
        }
        conf.push_str(&format!(
            "database mdb\n\
             maxsize 10485760\n\
             suffix \"{BASE}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\n\
             directory {d}/db\n\
             {memberof_overlay}\
             access to attrs=userPassword by anonymous auth by self write by * none\n\
             access to * by users read by anonymous none\n",
            d = d.display(),
            memberof_overlay = if opts.memberof {
                "overlay memberof\n"
            } else {
                ""
            },
        ));
        let mut f = std::fs::File::create(d.join("slapd.conf")).unwrap();
        f.write_all(conf.as_bytes()).unwrap();
    }

    fn wait_ready(&mut self, within: Duration) -> bool {
        let addr = self.url.trim_start_matches("ldap://").to_owned();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    return false;
                }
            }
            if std::net::TcpStream::connect(&addr).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Loads the repository's LDIF as the directory's root.
    fn load(&self) {
        let ldif = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/directory.ldif");
        self.ldap_tool("ldapadd", &ldif);
    }

    /// Runs `ldapadd`/`ldapmodify` with an LDIF file as the directory's root.
    pub fn ldap_tool(&self, tool: &str, ldif: &Path) {
        let out = Command::new(find(&[tool]).expect("ldap-utils"))
            .args(["-x", "-H", &self.url, "-D", ROOT_DN, "-w", ROOT_PW, "-f"])
            .arg(ldif)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Applies an LDIF change (`changetype: modify` ...) as the directory's root.
    pub fn modify(&self, ldif: &str) {
        let path = self.dir.path().join("change.ldif");
        std::fs::write(&path, ldif).unwrap();
        self.ldap_tool("ldapmodify", &path);
    }

    /// The file with the CA certificate of a TLS slapd.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A file holding the service account's password (as `--ldap-bind-password-file` reads it).
    pub fn service_password_file(&self, password: &str) -> PathBuf {
        let p = self.dir.path().join(format!("bind-{}.pw", password.len()));
        std::fs::write(&p, format!("{password}\n")).unwrap();
        p
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("slapd.log")
    }

    /// slapd's log so far (`-d stats`: connections, binds, searches with their filters).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Connections slapd accepted so far.
    pub fn connections(&self) -> usize {
        self.log().matches(" ACCEPT from ").count()
    }

    /// Stops it (the port then refuses connections).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A CA, and a certificate it signed for 127.0.0.1 and localhost: (CA PEM, cert PEM, key PEM).
fn make_certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "urbackup-console test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

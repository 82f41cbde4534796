//! `--config-file FILE`: the options of a command (`console`, `exporter`) from a TOML file.
//!
//! One rule maps the command line onto the file, read off the clap definition, so an option
//! added to the command is a key of the file without more code: every option the command
//! takes (its own and the global ones) is the key of its long name with `_` for `-`:
//!
//! ```toml
//! config = "/etc/urbackup/config.toml"   # --config: the profiles
//! all_profiles = true                    # a switch: true or false
//! listen = "127.0.0.1:8080"              # a value: a string, or a number
//! file_warning = "26h"
//! profile = ["a", "b"]                   # a repeatable option: a list (or one value)
//! verbose = 1                            # -v counted: a number
//! ```
//!
//! Every value goes through the option's own parser (the same errors as on the command
//! line). An option given on the command line wins over the file. An unknown key, a value of
//! the wrong type or one the option refuses is an error naming the file, the line and the
//! key, before anything starts.

use anyhow::{anyhow, bail, Result};
use clap::error::{ContextKind, ContextValue};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use toml::{Spanned, Value};

/// The id of the option that names the file.
pub const ARG: &str = "config_file";

/// The key of an option in the file: its long name with `_` for `-`. `None`: the option has
/// no key (help, version, `--config-file` itself, positional arguments).
pub fn key(arg: &Arg) -> Option<String> {
    if arg.is_positional() || matches!(arg.get_id().as_str(), "help" | "version" | ARG) {
        return None;
    }
    arg.get_long().map(|long| long.replace('-', "_"))
}

/// The options of `cmd` (built: global options included) that have a key.
pub fn keyed(cmd: &Command) -> impl Iterator<Item = (String, &Arg)> {
    cmd.get_arguments()
        .filter_map(|arg| key(arg).map(|k| (k, arg)))
}

/// The command line as given plus the options the file of `--config-file` adds, or `None`
/// when the command has no `--config-file`. `cli` is the whole command, `matches` its parse
/// of `argv`.
pub fn merged_args(
    cli: &Command,
    argv: &[OsString],
    matches: &ArgMatches,
) -> Result<Option<Merged>> {
    let mut cli = cli.clone();
    cli.build();
    let (cmd, m) = leaf(&cli, matches);
    let Some(path) = m.try_get_one::<PathBuf>(ARG).ok().flatten() else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read config file {}: {e}", path.display()))?;
    let file = File {
        path: path.clone(),
        text,
    };
    let table: BTreeMap<Spanned<String>, Spanned<Value>> =
        toml::from_str(&file.text).map_err(|e| {
            let at = e.span().map(|s| file.at(s.start)).unwrap_or_default();
            anyhow!(
                "invalid config file {}{at}: {}",
                path.display(),
                e.message().trim()
            )
        })?;
    let options: BTreeMap<String, &Arg> = keyed(cmd).collect();
    let mut args = argv.to_vec();
    let mut from_file = BTreeMap::new();
    for (k, v) in &table {
        let name = k.get_ref();
        let Some(arg) = options.get(name.as_str()) else {
            let hint = if options.contains_key(&name.replace('-', "_")) {
                format!(" (write `{}`)", name.replace('-', "_"))
            } else {
                format!(
                    " (the keys of `{}`: {})",
                    cmd.get_name(),
                    options.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            bail!(
                "config file {}{}: unknown key `{name}`{hint}",
                path.display(),
                file.at(k.span().start)
            );
        };
        let long = arg.get_long().unwrap_or_default();
        let values = file.values(name, arg, v)?;
        // The command line wins.
        if m.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
            continue;
        }
        from_file.insert(long.to_owned(), (name.clone(), k.span().start));
        for value in values {
            args.push(match value {
                None => format!("--{long}").into(),
                Some(value) => format!("--{long}={value}").into(),
            });
        }
    }
    Ok(Some(Merged {
        args,
        file,
        from_file,
    }))
}

/// A command line with the file's options added.
pub struct Merged {
    /// The arguments to parse.
    pub args: Vec<OsString>,
    file: File,
    /// Long option name -> (key, byte offset of the key) of the options the file gave.
    from_file: BTreeMap<String, (String, usize)>,
}

impl Merged {
    /// Words an error of the parse of [`Merged::args`] (or a later check of the options) for
    /// the file: a value the file gave names its line and key.
    pub fn explain(&self, e: &clap::Error) -> String {
        let first = first_line(e);
        let first = first.as_str();
        // The option clap names, else those a check of the whole command names in its
        // message (a warning age above its critical age).
        let mut culprits: Vec<&(String, usize)> = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(s)) => long_of(s)
                .and_then(|long| self.from_file.get(&long))
                .into_iter()
                .collect(),
            _ => self
                .from_file
                .iter()
                .filter(|(long, _)| first.contains(&format!("--{long} ")))
                .map(|(_, v)| v)
                .collect(),
        };
        culprits.sort_by_key(|(_, offset)| *offset);
        let path = self.file.path.display();
        match culprits.as_slice() {
            [] if self.from_file.is_empty() => first.to_owned(),
            [] => format!("{first} (with the options of config file {path})"),
            [(key, offset)] => {
                format!(
                    "config file {path}{}, key `{key}`: {first}",
                    self.file.at(*offset)
                )
            }
            several => {
                let keys: Vec<String> = several
                    .iter()
                    .map(|(key, offset)| format!("`{key}`{}", self.file.at(*offset)))
                    .collect();
                format!("config file {path}, keys {}: {first}", keys.join(" and "))
            }
        }
    }
}

/// The first line of a clap error, without its `error: `.
pub fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("");
    first.trim_start_matches("error: ").to_owned()
}

/// `--name <VALUE>` -> `name`.
fn long_of(s: &str) -> Option<String> {
    let rest = s.strip_prefix("--")?;
    Some(rest.split([' ', '=']).next().unwrap_or(rest).to_owned())
}

/// The innermost subcommand given and its matches.
fn leaf<'a>(cmd: &'a Command, m: &'a ArgMatches) -> (&'a Command, &'a ArgMatches) {
    match m.subcommand() {
        Some((name, sub)) => match cmd.find_subcommand(name) {
            Some(c) => leaf(c, sub),
            None => (cmd, m),
        },
        None => (cmd, m),
    }
}

struct File {
    path: PathBuf,
    text: String,
}

impl File {
    /// `, line L` of a byte offset.
    fn at(&self, offset: usize) -> String {
        let (line, _) = crate::config::line_column(&self.text, offset);
        format!(", line {line}")
    }

    fn error(&self, key: &str, offset: usize, what: String) -> anyhow::Error {
        anyhow!(
            "config file {}{}, key `{key}`: {what}",
            self.path.display(),
            self.at(offset)
        )
    }

    /// The command-line values of one key: `None` for a switch given, `Some` for a value.
    fn values(&self, key: &str, arg: &Arg, v: &Spanned<Value>) -> Result<Vec<Option<String>>> {
        let at = v.span().start;
        let value = v.get_ref();
        Ok(match arg.get_action() {
            ArgAction::SetTrue => match value {
                Value::Boolean(true) => vec![None],
                Value::Boolean(false) => vec![],
                other => {
                    return Err(self.error(
                        key,
                        at,
                        format!("expected true or false, found {}", kind(other)),
                    ))
                }
            },
            ArgAction::Count => match value {
                Value::Integer(n) if (0..=255).contains(n) => vec![None; *n as usize],
                other => {
                    return Err(self.error(
                        key,
                        at,
                        format!("expected a count from 0 to 255, found {}", show(other)),
                    ))
                }
            },
            ArgAction::Set => vec![Some(self.scalar(key, at, value)?)],
            ArgAction::Append => match value {
                Value::Array(items) => items
                    .iter()
                    .map(|item| self.scalar(key, at, item).map(Some))
                    .collect::<Result<_>>()?,
                one => vec![Some(self.scalar(key, at, one)?)],
            },
            other => {
                return Err(self.error(
                    key,
                    at,
                    format!("this option ({other:?}) cannot be given in a file"),
                ))
            }
        })
    }

    /// One value of an option, as typed on the command line.
    fn scalar(&self, key: &str, at: usize, value: &Value) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Integer(n) => Ok(n.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            other => Err(self.error(
                key,
                at,
                format!("expected a string or a number, found {}", kind(other)),
            )),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true/false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Integer(n) => n.to_string(),
        other => kind(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::{CommandFactory, FromArgMatches};

    /// The commands that take `--config-file`.
    const COMMANDS: [&str; 2] = ["console", "exporter"];

    /// A value for each option that takes one: the test below fails for an option without
    /// one (add a line here, and the key to the command's example file in contrib/etc/).
    const SAMPLES: &[(&str, &str)] = &[
        ("url", "http://backup.example.com:55414/x"),
        ("user", "admin"),
        ("password_file", "/etc/urbackup/admin.pw"),
        ("config", "/etc/urbackup/config.toml"),
        ("profile", "prod"),
        ("ca_cert", "/etc/ssl/lab-ca.pem"),
        ("basic_user", "proxy"),
        ("timeout", "30"),
        ("output", "json"),
        ("listen", "127.0.0.1:9999"),
        ("db", "/var/lib/urbackup/console.sqlite3"),
        ("interval", "45s"),
        ("tls_cert", "/etc/urbackup/cert.pem"),
        ("tls_key", "/etc/urbackup/key.pem"),
        ("file_warning", "25h"),
        ("file_critical", "3d"),
        ("image_warning", "8d"),
        ("image_critical", "15d"),
        ("never", "critical"),
        ("server_version", "2.5.26"),
        ("backup_refresh_per_scrape", "3"),
        ("name", "db-01"),
        ("trusted_proxies", "2"),
        ("public_url", "https://backup.example.com"),
        ("max_connections", "512"),
        ("ldap_url", "ldaps://ldap.example.com"),
        ("ldap_ca_file", "/etc/urbackup/ldap-ca.pem"),
        ("ldap_base", "ou=people,dc=example,dc=com"),
        ("ldap_bind_dn", "cn=console,dc=example,dc=com"),
        ("ldap_bind_password_file", "/etc/urbackup/ldap.pw"),
        ("ldap_user_filter", "(sAMAccountName={user})"),
        (
            "ldap_role",
            "cn=backup-admins,ou=groups,dc=example,dc=com=admin",
        ),
        (
            "ldap_scope",
            "cn=db-team,ou=groups,dc=example,dc=com=db-01,db-02",
        ),
    ];

    /// Options that need another one: the test gives both.
    const WITH: &[(&str, &str)] = &[
        ("tls_cert", "tls_key"),
        ("tls_key", "tls_cert"),
        ("ldap_starttls", "ldap_url"),
        ("ldap_ca_file", "ldap_url"),
        ("ldap_base", "ldap_url"),
        ("ldap_bind_dn", "ldap_url"),
        ("ldap_bind_dn", "ldap_bind_password_file"),
        ("ldap_bind_password_file", "ldap_bind_dn"),
        ("ldap_bind_password_file", "ldap_url"),
        ("ldap_user_filter", "ldap_url"),
        ("ldap_role", "ldap_url"),
        ("ldap_scope", "ldap_url"),
    ];

    fn built() -> Command {
        let mut cmd = Cli::command();
        cmd.build();
        cmd
    }

    fn sample(key: &str) -> &'static str {
        SAMPLES
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| {
                panic!("no sample value for `{key}`: add a line to SAMPLES in config_file.rs")
            })
    }

    /// The TOML line and the command-line words of one option.
    fn option(arg: &Arg, key: &str) -> (String, Vec<String>) {
        let long = format!("--{}", arg.get_long().unwrap());
        match arg.get_action() {
            ArgAction::SetTrue => (format!("{key} = true"), vec![long]),
            ArgAction::Count => (format!("{key} = 2"), vec![long.clone(), long]),
            ArgAction::Set | ArgAction::Append => {
                let v = sample(key);
                (format!("{key} = {v:?}"), vec![long, v.to_owned()])
            }
            other => panic!("--{key}: {other:?} has no form in the file"),
        }
    }

    fn parse(args: &[OsString]) -> std::result::Result<Cli, String> {
        let m = Cli::command()
            .try_get_matches_from(args)
            .map_err(|e| e.to_string())?;
        let merged = merged_args(&Cli::command(), args, &m).map_err(|e| e.to_string())?;
        let m = match &merged {
            Some(merged) => Cli::command()
                .try_get_matches_from(&merged.args)
                .map_err(|e| merged.explain(&e))?,
            None => m,
        };
        let cli = Cli::from_arg_matches(&m).map_err(|e| e.to_string())?;
        cli.validate().map_err(|e| match &merged {
            Some(merged) => {
                merged.explain(&Cli::command().error(clap::error::ErrorKind::ArgumentConflict, e))
            }
            None => e,
        })?;
        Ok(cli)
    }

    fn words(parts: &[&str]) -> Vec<OsString> {
        std::iter::once("urbackup")
            .chain(parts.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    /// Every option of both commands, set in a file alone (with the option it needs), gives
    /// the same command as the option on the command line.
    #[test]
    fn every_option_is_a_key_that_reads_as_the_flag() {
        let cli = built();
        for name in COMMANDS {
            let cmd = cli.find_subcommand(name).unwrap();
            let keys: Vec<(String, &Arg)> = keyed(cmd).collect();
            assert!(keys.len() > 20, "{name}: {} keys", keys.len());
            assert!(keys.iter().any(|(k, _)| k == "file_warning"));
            assert!(
                keys.iter().any(|(k, _)| k == "all_profiles"),
                "global options too"
            );
            for (key, arg) in &keys {
                let mut lines = Vec::new();
                let mut flags = vec![name.to_owned()];
                let others = WITH.iter().filter(|(k, _)| k == key).map(|(_, o)| *o);
                for k in std::iter::once(key.as_str()).chain(others) {
                    let arg = keys.iter().find(|(kk, _)| kk == k).unwrap().1;
                    let (line, mut f) = option(arg, k);
                    lines.push(line);
                    flags.append(&mut f);
                }
                let f = file(&lines.join("\n"));
                let from_file = parse(&words(&[name, "--config-file", f.path().to_str().unwrap()]))
                    .unwrap_or_else(|e| panic!("{name} {key}: {e}"));
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                let from_flags = parse(&words(&flags)).unwrap();
                let strip = |c: &Cli| format!("{c:?}").replace(&format!("{:?}", f.path()), "");
                assert_eq!(
                    strip(&from_file).replace("config_file: Some()", "config_file: None"),
                    format!("{from_flags:?}"),
                    "{name}: key {key} ({:?})",
                    arg.get_action()
                );
            }
        }
    }

    #[test]
    fn the_command_line_wins() {
        let f = file("listen = \"127.0.0.1:1111\"\nprofile = [\"a\", \"b\"]\nfile_warning = \"2d\"\nmetrics = true\n");
        let p = f.path().to_str().unwrap();
        let cli = parse(&words(&[
            "--profile",
            "c",
            "console",
            "--config-file",
            p,
            "--listen",
            "127.0.0.1:2222",
        ]))
        .unwrap();
        let crate::cli::Command::Console(a) = &cli.command else {
            panic!()
        };
        assert_eq!(a.listen, "127.0.0.1:2222");
        assert!(a.metrics);
        assert_eq!(a.health.file_warning, Some(2 * 86_400));
        assert_eq!(
            cli.conn.profile,
            vec!["c".to_owned()],
            "not merged with the file's"
        );
    }

    #[test]
    fn bad_files_name_the_file_line_and_key() {
        let cases = [
            ("listen = \"x:1\"\nlisen = \"y\"\n", "line 2: unknown key `lisen`"),
            ("file-warning = \"1d\"\n", "unknown key `file-warning` (write `file_warning`)"),
            ("\n\ninterval = \"soon\"\n", "line 3, key `interval`: invalid value 'soon'"),
            ("metrics = \"yes\"\n", "line 1, key `metrics`: expected true or false, found a string"),
            ("verbose = 300\n", "line 1, key `verbose`: expected a count"),
            ("never = \"sometimes\"\n", "line 1, key `never`: invalid value 'sometimes'"),
            ("listen = true\n", "line 1, key `listen`: expected a string or a number"),
            ("file_warning = \"3d\"\nfile_critical = \"1d\"\n", "keys `file_warning`, line 1 and `file_critical`, line 2: --file-warning (3d) must be shorter"),
            ("listen = \n", "invalid config file"),
            ("[console]\nlisten = \"x\"\n", "line 1: unknown key `console`"),
        ];
        for (text, want) in cases {
            let f = file(text);
            let p = f.path().to_str().unwrap();
            let e = parse(&words(&["console", "--config-file", p])).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.contains(p), "{text:?} names the file: {e}");
        }
        let e = parse(&words(&[
            "exporter",
            "--config-file",
            "/nonexistent/x.toml",
        ]))
        .unwrap_err();
        assert!(
            e.contains("cannot read config file /nonexistent/x.toml"),
            "{e}"
        );
    }

    /// The example files of the package name every key of their command (so a new option
    /// is documented where administrators look), and only keys.
    #[test]
    fn the_example_files_list_every_key() {
        let cli = built();
        for (name, text) in [
            (
                "console",
                include_str!("../../../contrib/etc/urbackup/console.toml"),
            ),
            (
                "exporter",
                include_str!("../../../contrib/etc/urbackup/exporter.toml"),
            ),
        ] {
            let cmd = cli.find_subcommand(name).unwrap();
            let keys: Vec<String> = keyed(cmd).map(|(k, _)| k).collect();
            let named: Vec<&str> = text
                .lines()
                .map(|l| l.trim_start_matches('#').trim_start())
                .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
                .filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .collect();
            for k in &keys {
                assert!(
                    named.contains(&k.as_str()),
                    "{name}: contrib/etc/urbackup/{name}.toml does not mention `{k}`"
                );
            }
            for k in &named {
                assert!(
                    keys.iter().any(|kk| kk == k),
                    "{name}: `{k}` is not an option"
                );
            }
            // The file as shipped parses (profiles file aside, which the test has not).
            let f = file(text);
            let p = f.path().to_str().unwrap();
            parse(&words(&[name, "--config-file", p])).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

//! `urbackup`: the command-line tool for UrBackup servers, built on the `urbackup` library.
//!
//! `main` parses the command line (clap), resolves the connection (flags, environment,
//! profiles: [`config`]), dispatches to one module per command group ([`commands`]) and
//! prints what they return through one [`output`] module. Errors end as one `error: ...`
//! line on stderr and a non-zero exit code; a panic too (no backtrace).

mod cli;
mod commands;
mod config;
mod config_file;
mod output;
mod progress;
mod session_cache;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches};
use cli::{Cli, Command};
use output::Style;
use std::process::ExitCode;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let msg = msg.lines().next().unwrap_or("").to_owned();
        eprintln!("error: internal error: {msg} (please report this bug)");
    }));

    let (cli, path) = match parse(std::env::args_os().collect()) {
        Ok(c) => c,
        Err(Parse::File(msg)) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
        Err(Parse::Clap(e)) => {
            use clap::error::ErrorKind;
            let informational = matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            let _ = e.print();
            if informational {
                return ExitCode::SUCCESS;
            }
            // A monitoring plugin must say UNKNOWN (3) for a bad invocation, not CRITICAL (2).
            let is_check = std::env::args().skip(1).any(|a| a == "check");
            if is_check {
                let first = config_file::first_line(&e);
                println!("URBACKUP UNKNOWN - invalid arguments: {first}");
                return ExitCode::from(3);
            }
            return ExitCode::from(2);
        }
    };
    init_logging(cli.verbose);

    // One server: one thread (the tool waits on the network, and a single thread keeps its
    // memory small). Every profile at once: all cores, as each login costs a PBKDF2 hash.
    let many = cli.conn.all_profiles
        || cli.conn.profile.len() > 1
        || matches!(
            cli.command,
            Command::Exporter(_) | Command::Report(_) | Command::Zabbix(_) | Command::Console(_)
        );
    let mut builder = if many {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let is_check = matches!(cli.command, Command::Check(_));
    let result = runtime.block_on(run(cli, &path));
    // Do not wait for background tasks (a simulator, a progress poll) at exit.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_check {
                println!("URBACKUP UNKNOWN - {}", one_line(&e));
                return ExitCode::from(3);
            }
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Why the command line was refused.
enum Parse {
    /// By clap (also `--help` and `--version`, which it prints).
    Clap(clap::Error),
    /// With the options of `--config-file`: the message names the file, line and key.
    File(String),
}

/// Parses the command line, adding the options of `--config-file` (the command line wins),
/// and checks what clap cannot.
fn parse(argv: Vec<std::ffi::OsString>) -> Result<(Cli, String), Parse> {
    let checked = |m: &clap::ArgMatches| -> Result<Cli, clap::Error> {
        let cli = Cli::from_arg_matches(m)?;
        cli.validate()
            .map_err(|msg| Cli::command().error(clap::error::ErrorKind::ArgumentConflict, msg))?;
        Ok(cli)
    };
    let m = Cli::command()
        .try_get_matches_from(&argv)
        .map_err(Parse::Clap)?;
    let merged = config_file::merged_args(&Cli::command(), &argv, &m)
        .map_err(|e| Parse::File(one_line(&e)))?;
    match merged {
        None => Ok((checked(&m).map_err(Parse::Clap)?, command_path(&m))),
        Some(merged) => {
            let m = Cli::command()
                .try_get_matches_from(&merged.args)
                .map_err(|e| Parse::File(merged.explain(&e)))?;
            let cli = checked(&m).map_err(|e| Parse::File(merged.explain(&e)))?;
            Ok((cli, command_path(&m)))
        }
    }
}

/// The command as typed, without its arguments: `users list`, `backups browse`.
fn command_path(m: &clap::ArgMatches) -> String {
    let mut path = Vec::new();
    let mut m = m;
    while let Some((name, sub)) = m.subcommand() {
        path.push(name);
        m = sub;
    }
    path.join(" ")
}

/// An error of one server's command, in the user's words: a refusal says which rights the
/// command needs and which user lacks them; a server that cannot be reached or refuses the
/// login names the profile too (the library's message names the URL).
fn explain(e: anyhow::Error, target: &config::Resolved, command: &str) -> anyhow::Error {
    use urbackup::UrbackupError as E;
    let Some(ue) = e.chain().find_map(|c| c.downcast_ref::<E>()) else {
        return e;
    };
    if let E::AccessDenied { action, detail } = ue {
        let rights = ue.needed_rights();
        if !rights.is_empty() {
            let list: Vec<String> = rights.iter().map(|r| format!("`{r}`")).collect();
            let needs = match list.as_slice() {
                [one] => format!("the right {one}"),
                [first @ .., last] => format!("the rights {} and {last}", first.join(", ")),
                [] => unreachable!(),
            };
            let who = if target.user.is_empty() {
                "the anonymous session".to_owned()
            } else {
                format!("user `{}`", target.user)
            };
            let refused = match detail {
                Some(d) => format!("`{action}`, {d}"),
                None => format!("`{action}`"),
            };
            return anyhow::anyhow!(
                "access denied: `{command}` needs {needs}, which {who} does not have (the server refused {refused})"
            );
        }
        return e;
    }
    let about_the_server = matches!(
        ue,
        E::Transport { .. } | E::Timeout { .. } | E::HttpStatus { .. } | E::Authentication(_)
    );
    match target.origin() {
        Some(origin) if about_the_server => e.context(origin),
        _ => e,
    }
}

/// The error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string().replace(['\n', '\r'], " ");
        // Library errors often repeat their cause in their own message.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn init_logging(verbose: u8) {
    // Security events of the console (failed and refused logins, lock-outs, user changes,
    // ended sessions) and its errors are logged by default; the rest with -v.
    let default = match verbose {
        0 => "urbackup_console=warn,urbackup_console::security=info",
        1 => "urbackup=info,urbackup_console=info",
        _ => "urbackup=debug,urbackup_cli=debug,urbackup_console=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("URBACKUP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn run(cli: Cli, path: &str) -> Result<u8> {
    let style = Style::detect(cli.output);
    match &cli.command {
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "urbackup", &mut std::io::stdout());
            return Ok(0);
        }
        Command::GenerateAssets { out } => {
            let n = commands::assets::generate(Cli::command(), out)?;
            eprintln!("{n} files written under {}", out.display());
            return Ok(0);
        }
        Command::Demo(args) => return commands::demo::run(args, &style).await,
        Command::Console(a) => {
            if let Some(cmd) = &a.cmd {
                return commands::console::user(cmd, &style);
            }
        }
        _ => {}
    }
    if let Command::Logout(a) = &cli.command {
        if a.all {
            return commands::logout_all(&style);
        }
    }
    let cfg = config::load(cli.conn.config.as_deref())?;
    let mut targets = config::resolve(&cli.conn, &cfg)?;
    if let Command::Logout(_) = &cli.command {
        return commands::logout(&targets, &style);
    }
    let cache_off = cli.conn.no_session_cache || session_cache::disabled_by_env();
    if let Some(cache) = session_cache::SessionCache::locate().filter(|_| !cache_off) {
        let cache = std::sync::Arc::new(cache);
        for t in &mut targets {
            t.session_cache = Some(cache.clone());
        }
    }

    // The fleet commands read every server given, one task each.
    if matches!(
        cli.command,
        Command::Exporter(_) | Command::Report(_) | Command::Zabbix(_) | Command::Console(_)
    ) {
        for t in &mut targets {
            config::ensure_password(t)?;
        }
    }
    match &cli.command {
        Command::Console(a) => return commands::console::serve(targets, a).await,
        Command::Exporter(a) => return commands::exporter::run(targets, a).await,
        Command::Report(a) => return commands::report::run(targets, a, &style).await,
        Command::Zabbix(a) => return commands::zabbix::run(targets, a).await,
        _ => {}
    }
    if cli.conn.all_profiles || targets.len() > 1 {
        if !commands::is_read(&cli.command) {
            anyhow::bail!(
                "--all-profiles and several --profile work with read commands only (exporter, report, zabbix, status, usage, actions list, logs list, users list, groups list, extra-client list, backups list, settings get, identity), not `{}`",
                cli.command.name()
            );
        }
        for t in &mut targets {
            config::ensure_password(t)?;
        }
        return commands::run_all_profiles(cli.command, targets, &style).await;
    }

    let mut target = targets.remove(0);
    config::ensure_password(&mut target)?;
    let ctx = commands::Ctx {
        server: target.build()?,
        style,
    };
    commands::dispatch(&ctx, &cli.command)
        .await
        .map_err(|e| explain(e, &target, path))
}

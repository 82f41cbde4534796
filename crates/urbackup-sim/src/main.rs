//! `urbackup-sim`: run the simulated UrBackup server.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use urbackup_sim::Simulator;

/// A simulated UrBackup server (2.5, or 2.4 with --server-version) speaking the real web API.
#[derive(Parser, Debug)]
#[command(name = "urbackup-sim", version, about)]
struct Args {
    /// Address to listen on (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:55414")]
    listen: SocketAddr,
    /// Number of seeded clients (client-00001 ...; default 25, none with --example).
    #[arg(long)]
    clients: Option<usize>,
    /// The example fleet of the CLI README instead: fileserver, web-01, web-02, db-01 (a
    /// backup running), mail, accounting-pc, reception, ceo-laptop, dev-ws-1, lab-pi.
    #[arg(long)]
    example: bool,
    /// Admin user as NAME:PASSWORD (repeatable). Without one, anonymous login works.
    #[arg(long)]
    admin: Vec<String>,
    /// Latency added to every reply, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Keep-alive mode (Content-Length on every reply, persistent connections).
    #[arg(long)]
    keep_alive: bool,
    /// Run backups and restores this many times faster (10: a backup of --backup-secs 20
    /// takes 2 s). The clock stays on real time.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    time_scale: f64,
    /// Seed for generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Delay before a failed login answers, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    login_delay_ms: u64,
    /// The clock stands still; only /_sim/advance?secs=N moves it (and the backups with it):
    /// for tests that compare two replies.
    #[arg(long)]
    manual_clock: bool,
    /// Duration of a backup in seconds at time scale 1.
    #[arg(long, default_value_t = 20)]
    backup_secs: u64,
    /// Maximum livelog long-poll wait in milliseconds.
    #[arg(long, default_value_t = 10000)]
    livelog_wait_ms: u64,
    /// Disable failed-login rate limiting.
    #[arg(long)]
    no_rate_limit: bool,
    /// Pretend installers are missing (download_client errors like a source build).
    #[arg(long)]
    no_installers: bool,
    /// Seeded clients wait for a person at the client to confirm restores (the client
    /// software's default); answer with /_sim/confirm_restore?client=NAME&ok=1.
    #[arg(long)]
    client_confirms_restores: bool,
    /// The server version to speak: 2.5.33 (default) or 2.4.15 (`2.4` and `2.5` work too).
    #[arg(long, default_value = "2.5.33")]
    server_version: urbackup_sim::ServerVersion,
    /// Print the man page (roff, from this definition) and exit: for packages.
    #[arg(long, hide = true)]
    man_page: bool,
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a positive number")),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if args.man_page {
        use clap::CommandFactory;
        return clap_mangen::Man::new(Args::command()).render(&mut std::io::stdout());
    }
    let mut b = Simulator::builder()
        .listen(args.listen)
        .clients(args.clients.unwrap_or(if args.example { 0 } else { 25 }))
        .latency(Duration::from_millis(args.latency_ms))
        .keep_alive(args.keep_alive)
        .time_scale(args.time_scale)
        .seed(args.seed)
        .login_failure_delay(Duration::from_millis(args.login_delay_ms))
        .backup_duration(Duration::from_secs(args.backup_secs))
        .livelog_wait(Duration::from_millis(args.livelog_wait_ms))
        .rate_limit(!args.no_rate_limit)
        .installers(!args.no_installers)
        .seeded_clients_confirm_restores(args.client_confirms_restores)
        .server_version(args.server_version);
    if args.example {
        b = b.example_fleet();
    }
    if args.manual_clock {
        b = b.manual_clock();
    }
    for a in &args.admin {
        let (n, p) = a.split_once(':').unwrap_or((a.as_str(), ""));
        b = b.admin(n, p);
    }
    let sim = b.start().await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "urbackup-sim listening on {}", sim.url())?;
        out.flush()?;
    }
    std::future::pending::<()>().await;
    drop(sim);
    Ok(())
}

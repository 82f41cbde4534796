//! `urbackup-bench`: the benchmark harness of issue 5 (see BENCHMARKS.md). `bench/run.sh` builds
//! it and calls `urbackup-bench run`; the other subcommands are the pieces it starts as child
//! processes (warm-loop workers, task runs, the 50-server fleet).

mod cli;
mod console;
mod fleet;
mod floor;
mod logins;
mod ours;
mod procs;
mod python_pkg;
mod restore;
mod run;
mod scrape;
mod stats;
mod worker;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "urbackup-bench",
    about = "urbackup-rs vs its peers, side by side"
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Contender {
    /// The urbackup library (typed `get_client_statuses`).
    Ours,
    /// Raw TCP: the same POST, read to EOF, no parsing.
    Floor,
}

#[derive(Clone, Copy, ValueEnum)]
enum Task {
    Lookup,
    StartBackup,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the whole benchmark (what bench/run.sh calls).
    Run {
        /// Short run (under two minutes).
        #[arg(long)]
        quick: bool,
        /// Directory holding `urbackup`, `urbackup-sim` and `urbackup-bench` (default: this binary's).
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Python of the venv holding the Python peers.
        #[arg(long)]
        python: PathBuf,
        /// Node.js binary.
        #[arg(long, default_value = "node")]
        node: PathBuf,
        /// bench/peers.
        #[arg(long)]
        peers_dir: PathBuf,
        /// node_modules of the local npm prefix holding urbackup-server-api.
        #[arg(long)]
        node_modules: PathBuf,
        /// Where results and logs go.
        #[arg(long)]
        out: PathBuf,
        /// Parts to run (1 warm, 2 one-shot, 3 requests, 4 RSS, 5 fleet, 6 exporter scrape,
        /// 7 console, 8 login storm, 9 console downloads and versions).
        #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,6,7,8,9")]
        parts: Vec<u32>,
        /// Clients per simulated server in the fleet (part 5).
        #[arg(long, default_value_t = 100)]
        fleet_clients: usize,
        /// Python of a venv holding this repository's Python package (an extra contender).
        #[arg(long)]
        python_pkg: Option<PathBuf>,
    },
    /// Warm-loop worker (stdin protocol, see worker.rs). Password in URBACKUP_PASSWORD.
    Worker {
        contender: Contender,
        url: String,
        user: String,
        /// Time N calls once and print the median instead of serving batches.
        #[arg(long)]
        n: Option<usize>,
    },
    /// One task through the library from a fresh handle (login included). Password in
    /// URBACKUP_PASSWORD.
    Task {
        task: Task,
        url: String,
        user: String,
        client: String,
    },
    /// Run CMD, then write its wall time and peak RSS (wait4) as JSON to FILE (used for every
    /// one-shot measurement, see procs.rs).
    Measure {
        #[arg(long)]
        report: PathBuf,
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// One simulated server for part 8 (a client with a large file and 100 file backups) in
    /// this process; prints `ready URL BACKUPID`, answers `backups`/`reset` on stdin.
    FilesSim {
        /// Bytes of the large file.
        #[arg(long, default_value_t = 1 << 30)]
        size: u64,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Start N simulated servers in this process, write `fleet-N.toml` and `fleet-1.toml`
    /// (CLI profiles) into DIR, print `ready`, then answer `total`/`reset` lines on stdin.
    FleetSim {
        #[arg(long, default_value_t = 50)]
        servers: usize,
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        #[arg(long)]
        dir: PathBuf,
    },
}

fn password() -> String {
    std::env::var("URBACKUP_PASSWORD").unwrap_or_default()
}

fn main() -> Result<()> {
    match Args::parse().cmd {
        Cmd::Run {
            quick,
            bin_dir,
            python,
            node,
            peers_dir,
            node_modules,
            out,
            parts,
            fleet_clients,
            python_pkg,
        } => {
            let bin_dir = match bin_dir {
                Some(d) => d,
                None => std::env::current_exe()?
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_default(),
            };
            let abs = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
            let opts = run::Opts {
                quick,
                bin_dir: abs(bin_dir),
                python,
                node,
                peers_dir: abs(peers_dir),
                node_modules: abs(node_modules),
                out: {
                    std::fs::create_dir_all(&out)?;
                    abs(out)
                },
                parts,
                fleet_clients,
                python_pkg,
            };
            run::Runner::new(opts)?.run()
        }
        Cmd::Worker {
            contender,
            url,
            user,
            n,
        } => match contender {
            Contender::Ours => worker::ours(&url, &user, &password(), n),
            Contender::Floor => worker::floor(&url, &user, &password(), n),
        },
        Cmd::Task {
            task,
            url,
            user,
            client,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let server = ours::connect(&url, &user, &password())?;
            let out = rt.block_on(async {
                match task {
                    Task::Lookup => ours::lookup(&server, &client).await,
                    Task::StartBackup => ours::start_backup(&server, &client).await,
                }
            })?;
            println!("{out}");
            Ok(())
        }
        Cmd::Measure { report, cmd } => procs::measure_child(&report, &cmd),
        Cmd::FilesSim { size, dir } => restore::serve(size, &dir),
        Cmd::FleetSim {
            servers,
            clients,
            latency_ms,
            dir,
        } => fleet::serve(servers, clients, latency_ms, &dir),
    }
}

#[cfg(test)]
mod tests {
    use crate::floor::{self, Floor, Target};
    use crate::procs::{request_counts, SimCounters};
    use urbackup_sim::Simulator;

    fn sim(clients: usize) -> urbackup_sim::SimServer {
        Simulator::builder()
            .clients(clients)
            .admin("admin", "secret")
            .start_blocking()
            .expect("simulator starts")
    }

    #[test]
    fn floor_logs_in_and_reads_a_status_unparsed() {
        let s = sim(3);
        let mut f = Floor::connect(&s.url(), "admin", "secret").unwrap();
        f.status().unwrap();
        let v: serde_json::Value = serde_json::from_slice(f.last_body()).unwrap();
        assert_eq!(v["status"].as_array().unwrap().len(), 3);
        // salt + login + status: the floor's login has no anonymous probe.
        assert_eq!(s.total_requests(), 3);
        assert_eq!(s.requests("status"), 1);
    }

    #[test]
    fn sim_counters_through_the_control_endpoint() {
        let s = sim(2);
        let c = SimCounters {
            target: Target::parse(&s.url()).unwrap(),
        };
        let mut f = Floor::connect(&s.url(), "admin", "secret").unwrap();
        f.status().unwrap();
        let (total, per) = request_counts(&c.stats().unwrap());
        assert_eq!(total, 3);
        assert!(per.contains(&("status".to_string(), 1)));
        c.reset().unwrap();
        assert_eq!(request_counts(&c.stats().unwrap()).0, 0);
        let _ = floor::body(b"HTTP/1.1 200 ok\r\n\r\n{}");
    }

    #[test]
    fn ours_decodes_the_same_clients() {
        let s = sim(5);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = crate::ours::connect(&s.url(), "admin", "secret").unwrap();
        assert_eq!(rt.block_on(crate::ours::statuses(&server)).unwrap(), 5);
        let found = rt
            .block_on(crate::ours::lookup(&server, "client-00003"))
            .unwrap();
        assert!(found.contains("client-00003"));
    }

    #[test]
    fn printed_clients_are_counted() {
        use crate::run::count_clients;
        assert_eq!(
            count_clients(br#"[{"id":1,"name":"a"},{"id":2,"name":"b"}]"#).unwrap(),
            2
        );
        assert_eq!(
            count_clients(br#"{"status":[{"id":1,"name":"a"}]}"#).unwrap(),
            1
        );
        assert_eq!(
            count_clients(b"{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n").unwrap(),
            2
        );
    }
}

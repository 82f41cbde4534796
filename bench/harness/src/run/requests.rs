//! Parts 3 to 8: requests per task, peak RSS, the fleet, the exporter's scrape, the console,
//! a login storm against the console.

use super::*;

impl Runner {
    // ---------------------------------------------------------------- part 3: requests per task

    pub(super) fn part_requests(&mut self) -> Result<()> {
        println!("\n== 3. requests per task, counted by the simulator (1,000 clients; fresh process, login included)");
        for latency in [0, LATENCY_MS] {
            let sim = self.sim(1000, latency)?;
            let counters = SimCounters {
                target: sim.target.clone(),
            };
            let name = pick_client(&sim.url)?;
            let url = sim.url.clone();
            // (task, contender, command)
            let mut tasks: Vec<(&str, String, Command)> = Vec::new();
            for (task, cli_args) in [
                ("lookup", cli::lookup(&url, &name)),
                ("start-backup", cli::start_backup(&url, &name)),
            ] {
                tasks.push((
                    task,
                    "ours (library)".into(),
                    self.self_cmd(&["task", task, &url, USER, &name]),
                ));
                tasks.push((task, "ours (cli)".into(), self.cli_cmd(&cli_args)));
                for p in &PEERS {
                    tasks.push((
                        task,
                        p.name.into(),
                        self.peer_cmd(p, "task", &url, &[task, &name]),
                    ));
                }
            }
            tasks.push((
                "check",
                "ours (cli)".into(),
                self.cli_cmd(&cli::check(&url)),
            ));
            for (task, who, mut cmd) in tasks {
                counters.reset()?;
                let m = run_measured(&mut cmd, self.log(&format!("task-{task}-{who}")));
                let stats = counters.stats()?;
                match m {
                    // `check` exits 1/2 when it finds problems (monitoring-plugin codes);
                    // 3 (UNKNOWN) is a failed run.
                    Ok(m)
                        if m.status.success()
                            || (task == "check" && m.status.code().is_some_and(|c| c < 3)) =>
                    {
                        self.record_requests(
                            latency,
                            task,
                            &who,
                            &stats,
                            m.wall.as_secs_f64() * 1e3,
                        )
                    }
                    Ok(m) => self.error(format!(
                        "task {task} / {who}: exit {} ({})",
                        m.status,
                        String::from_utf8_lossy(&m.stdout).trim()
                    )),
                    Err(e) => self.error(format!("task {task} / {who}: {e:#}")),
                }
            }
            // Default exporter (backup counts refreshed for up to 8 clients per scrape), and
            // without backup counts (`--backup-refresh-per-scrape 0`).
            for (label, extra) in [
                ("", &[][..]),
                (
                    " (no backup counts)",
                    &["--backup-refresh-per-scrape", "0"][..],
                ),
            ] {
                if let Err(e) = self.exporter_scrapes(latency, &url, &counters, label, extra) {
                    self.error(format!("exporter{label}: {e:#}"));
                }
            }
            drop(sim);
        }
        Ok(())
    }

    pub(super) fn record_requests(
        &mut self,
        latency: u64,
        task: &str,
        who: &str,
        stats: &Value,
        wall_ms: f64,
    ) {
        let (total, per) = request_counts(stats);
        let breakdown = per
            .iter()
            .map(|(a, n)| format!("{a}×{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        println!("  latency {latency:>2} ms  {task:<40} {who:<32} {total:>3} requests  ({breakdown}; {wall_ms:.0} ms)");
        self.rows
            .requests
            .push((latency, task.into(), who.into(), total, breakdown, wall_ms));
    }

    pub(super) fn exporter_scrapes(
        &mut self,
        latency: u64,
        url: &str,
        counters: &SimCounters,
        label: &str,
        extra: &[&str],
    ) -> Result<()> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        counters.reset()?;
        let mut args = cli::exporter(url, &listen);
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = self.cli_cmd(&args);
        cmd.stdin(Stdio::null())
            .stdout(self.log("exporter"))
            .stderr(self.log("exporter"));
        let mut child = cmd.spawn().context("starting the exporter")?;
        let guard = KillOnDrop(&mut child);
        let target = floor::Target::parse(&format!("http://{listen}/"))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(target.addr).is_err() {
            if Instant::now() > deadline {
                bail!("the exporter did not listen on {listen}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let scrape = |what: &str| -> Result<f64> {
            let t = Instant::now();
            let body = floor::request(&target, "GET", "/metrics", "")?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let text = String::from_utf8_lossy(&body);
            if !text.contains("urbackup") {
                bail!(
                    "{what}: /metrics has no urbackup metrics: {}",
                    &text[..text.len().min(200)]
                );
            }
            Ok(ms)
        };
        let ms = scrape("first scrape")?;
        std::thread::sleep(Duration::from_millis(100));
        let stats = counters.stats()?;
        self.record_requests(
            latency,
            &format!("exporter start+scrape{label}"),
            "ours (cli)",
            &stats,
            ms,
        );
        counters.reset()?;
        let ms = scrape("second scrape")?;
        std::thread::sleep(Duration::from_millis(100));
        let stats = counters.stats()?;
        self.record_requests(
            latency,
            &format!("exporter scrape{label}"),
            "ours (cli)",
            &stats,
            ms,
        );
        drop(guard);
        Ok(())
    }

    // ---------------------------------------------------------------- part 4: peak RSS

    pub(super) fn part_rss(&mut self) -> Result<()> {
        println!("\n== 4. peak RSS of the one-shot task at 10,000 clients");
        let sim = self.sim(10000, 0)?;
        let mut f = Floor::connect(&sim.url, USER, PASSWORD)?;
        f.status()?;
        self.rows.json_bytes = f.last_body().len();
        println!(
            "  JSON body of one status reply: {} bytes ({:.2} MiB)",
            self.rows.json_bytes,
            self.rows.json_bytes as f64 / 1048576.0
        );
        let rounds = if self.o.quick { 3 } else { 10 };
        let procs = self.oneshot_contenders(&sim.url);
        self.prime(&procs[0])?;
        let res = self.alternate(&procs, rounds, None, Some(10000))?;
        for (p, Series { walls, rss, .. }) in procs.iter().zip(res) {
            if rss.is_empty() {
                continue;
            }
            let r = median(&rss);
            println!(
                "  {:<34} peak RSS {:>8.1} MiB = {:.2}x the JSON   ({:.0} ms, n={})",
                p.name,
                r / 1048576.0,
                r / self.rows.json_bytes as f64,
                median(&walls),
                rss.len()
            );
            self.rows.rss.push((p.name.clone(), r, median(&walls)));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- part 5: fleet

    pub(super) fn part_fleet(&mut self) -> Result<()> {
        let clients = self.o.fleet_clients;
        println!("\n== 5. fleet: `status --all-profiles` over 50 simulated servers vs 1 ({clients} clients each)");
        for latency in [0, LATENCY_MS] {
            let dir = self.o.out.join(format!("fleet-{latency}ms"));
            fs::create_dir_all(&dir)?;
            let dir_s = dir.to_string_lossy().to_string();
            let mut fleet = self.self_cmd(&[
                "fleet-sim",
                "--servers",
                "50",
                "--clients",
                &clients.to_string(),
                "--latency-ms",
                &latency.to_string(),
                "--dir",
                &dir_s,
            ]);
            let mut fleet = FleetProcess::start(&mut fleet, self.log("fleet-sim"))?;
            let rounds = match (self.o.quick, latency) {
                (true, _) => 4,
                (false, 0) => 30,
                (false, _) => 15,
            };
            // Warm session caches ("1 server", "50 servers"), and without the cache (a login
            // per server and run: "... (cold)").
            let mut procs = Vec::new();
            for (name, file, cached) in [
                ("1 server", "fleet-1.toml", true),
                ("50 servers", "fleet-50.toml", true),
                ("1 server (cold)", "fleet-1.toml", false),
                ("50 servers (cold)", "fleet-50.toml", false),
            ] {
                let args = cli::fleet_status(&dir.join(file).to_string_lossy());
                let me = self.clone_env();
                let tag = format!("fleet-{latency}");
                procs.push(Proc {
                    name: name.into(),
                    cmd: Box::new(move || {
                        if cached {
                            me.cli_cmd_cached(&args, &tag)
                        } else {
                            me.cli_cmd(&args)
                        }
                    }),
                });
            }
            self.prime(&procs[0])?;
            self.prime(&procs[1])?;
            // Validation + request count per contender, then alternate.
            let mut reqs = Vec::new();
            for (p, want) in procs
                .iter()
                .zip([clients, 50 * clients, clients, 50 * clients])
            {
                fleet.reset()?;
                let m = self.run_checked(p, None)?;
                let got = count_clients(&m.stdout).unwrap_or(0);
                if got != want {
                    self.error(format!(
                        "fleet {}: printed {got} clients, expected {want}",
                        p.name
                    ));
                }
                reqs.push(fleet.total()?);
            }
            let res = self.alternate(&procs, rounds, None, None)?;
            for ((p, Series { walls, .. }), r) in procs.iter().zip(res).zip(reqs) {
                if walls.is_empty() {
                    continue;
                }
                let servers = if p.name.starts_with("50") { 50 } else { 1 };
                let cold = p.name.ends_with("(cold)");
                let m = median(&walls);
                println!(
                    "  latency {latency:>2} ms  {:<12} {:>9.1} ms  (n={}, MAD {:.1}%, {} requests)",
                    p.name,
                    m,
                    walls.len(),
                    mad_pct(&walls),
                    r
                );
                let row = (latency, servers, m, walls.len(), mad_pct(&walls), Some(r));
                if cold {
                    self.rows.fleet_cold.push(row);
                } else {
                    self.rows.fleet.push(row);
                }
            }
        }
        Ok(())
    }

    /// Part 6: one exporter scrape over a fleet (scrape.rs).
    pub(super) fn part_scrape(&mut self) -> Result<()> {
        let (servers, clients, rounds) = if self.o.quick {
            (20, 1000, 3)
        } else {
            (100, 1000, 10)
        };
        println!("\n== 6. exporter: one scrape of `--all-profiles exporter` over {servers} servers x {clients} clients");
        let me = self.clone_env();
        let res = crate::scrape::run(
            &self.bin("urbackup"),
            &self.bin("urbackup-bench"),
            &self.o.out,
            (servers, clients, rounds),
            |n| self.log(n),
            |c| me.env(c),
        )?;
        println!(
            "  median {:.2} s (n={}, MAD {:.1}%), peak RSS {:.1} MiB, {} requests per scrape, {} samples",
            res.median_s,
            res.rounds,
            res.mad_pct,
            res.rss_bytes as f64 / 1048576.0,
            res.requests,
            res.samples
        );
        self.r["scrape"] = res.json();
        self.rows.scrape = Some(res);
        Ok(())
    }

    /// Part 7: the console over a fleet (console.rs).
    pub(super) fn part_console(&mut self) -> Result<()> {
        let (servers, clients, rounds) = if self.o.quick {
            (20, 1000, 10)
        } else {
            (100, 1000, 30)
        };
        println!(
            "\n== 7. console: `--all-profiles console` over {servers} servers x {clients} clients"
        );
        let me = self.clone_env();
        let res = crate::console::run(
            &self.bin("urbackup"),
            &self.bin("urbackup-bench"),
            &self.o.out,
            (servers, clients, rounds),
            |n| self.log(n),
            |c| me.env(c),
        )?;
        println!(
            "  overview median {:.1} ms (n={}, MAD {:.1}%), HTML {:.0} KB, peak RSS {:.1} MiB, requests per interval {:.0} idle / {:.0} with browsers ({} pages), warm-up {:.0} s",
            res.median_ms,
            res.rounds,
            res.mad_pct,
            res.html_bytes as f64 / 1000.0,
            res.rss_bytes as f64 / 1048576.0,
            res.idle_per_interval,
            res.busy_per_interval,
            res.busy_pages,
            res.warmup_s
        );
        self.r["console"] = res.json();
        self.rows.console = Some(res);
        Ok(())
    }

    /// Part 8: 400 logins at once against the console (logins.rs).
    pub(super) fn part_logins(&mut self) -> Result<()> {
        println!(
            "\n== 8. console: {} logins at once from {} addresses",
            crate::logins::STORM,
            crate::logins::STORM
        );
        let me = self.clone_env();
        let res = crate::logins::run(
            &self.bin("urbackup"),
            &self.bin("urbackup-bench"),
            &self.o.out,
            |n| self.log(n),
            |c| me.env(c),
        )?;
        for (g, met, d) in res.goals() {
            println!("  {g}: {} ({d})", if met { "met" } else { "MISSED" });
        }
        self.r["logins"] = res.json();
        self.rows.logins = Some(res);
        Ok(())
    }

    /// Part 9: a large file downloaded through the console vs the library, and the versions
    /// of a file across 100 backups (restore.rs).
    pub(super) fn part_files(&mut self) -> Result<()> {
        let size: u64 = if self.o.quick { 256 << 20 } else { 1 << 30 };
        println!(
            "\n== 9. console: a {} MiB download through the console vs the library; versions across 100 backups",
            size >> 20
        );
        let me = self.clone_env();
        let res = crate::restore::run(
            &self.bin("urbackup"),
            &self.bin("urbackup-bench"),
            &self.o.out,
            size,
            |n| self.log(n),
            |c| me.env(c),
        )?;
        println!(
            "  library stream {:?} MB/s, download_file {:?} MB/s, console {:?} MB/s, console RSS +{:.1} MiB; versions cold {:.0} ms ({} requests), warm {:.1} ms ({} requests), library {:.0} ms",
            res.library.iter().map(|x| x.round()).collect::<Vec<_>>(),
            res.to_file.iter().map(|x| x.round()).collect::<Vec<_>>(),
            res.console.iter().map(|x| x.round()).collect::<Vec<_>>(),
            res.rss_growth as f64 / 1048576.0,
            res.versions_cold_ms,
            res.versions_cold_requests,
            res.versions_warm_ms,
            res.versions_warm_requests,
            res.versions_library_ms
        );
        self.r["files"] = res.json();
        self.rows.files = Some(res);
        Ok(())
    }
}

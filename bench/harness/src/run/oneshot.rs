//! Parts 1 and 2: warm status calls in one process, and one-shot processes.

use super::*;

impl Runner {
    // ---------------------------------------------------------------- part 1: warm status calls

    pub(super) fn part_warm(&mut self) -> Result<()> {
        println!("\n== 1. warm typed \"all client statuses\" call (session open), median per call");
        for size in [10usize, 1000, 10000] {
            // (rounds, calls per batch): every round runs one batch of each contender, in an
            // order rotated by one each round.
            let (rounds, k) = match (self.o.quick, size) {
                (true, 10) => (6, 20),
                (true, 1000) => (6, 5),
                (true, _) => (5, 2),
                (false, 10) => (30, 40),
                (false, 1000) => (30, 10),
                (false, _) => (25, 3),
            };
            let sim = self.sim(size, 0)?;
            let url = sim.url.clone();
            let mut workers: Vec<Worker> = Vec::new();
            let mut starts: Vec<(String, Command)> = vec![
                (
                    "ours".into(),
                    self.self_cmd(&["worker", "ours", &url, USER]),
                ),
                (
                    "floor".into(),
                    self.self_cmd(&["worker", "floor", &url, USER]),
                ),
            ];
            for p in &PEERS {
                starts.push((p.name.into(), self.peer_cmd(p, "warm", &url, &[])));
            }
            if let Some(c) = self.python_pkg_cmd("warm", &url) {
                starts.push((python_pkg::NAME.into(), c));
            }
            for (name, cmd) in starts {
                match Worker::start(&name, cmd, self.log(&format!("warm-{name}"))) {
                    Ok(w) => workers.push(w),
                    Err(e) => self.error(format!("warm {size}: {name} did not start: {e:#}")),
                }
            }
            let n = workers.len();
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
            let mut failed = vec![false; n];
            for round in 0..rounds {
                for j in 0..n {
                    let i = (j + round) % n;
                    if failed[i] {
                        continue;
                    }
                    match workers[i].batch(k) {
                        Ok(us) => samples[i].extend(us),
                        Err(e) => {
                            failed[i] = true;
                            let name = workers[i].name.clone();
                            self.error(format!("warm {size}: {name} failed: {e:#}"));
                        }
                    }
                }
            }
            for (w, s) in workers.iter().zip(&samples) {
                if s.is_empty() {
                    continue;
                }
                let m = median(s);
                println!(
                    "  {size:>6} clients  {:<34} {:>12}  (n={}, MAD {:.1}%)",
                    w.name,
                    fmt_us(m),
                    s.len(),
                    mad_pct(s)
                );
                self.rows
                    .warm
                    .push((size, w.name.clone(), m, s.len(), mad_pct(s)));
            }
            drop(workers);
            drop(sim);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- part 2: one-shot processes

    /// `ours`: the CLI with a warm session cache (primed by [`Runner::prime`]); `ours (cold)`:
    /// without the cache, as every first run (salt, login, status).
    pub(super) fn oneshot_contenders(&self, url: &str) -> Vec<Proc> {
        let mut v: Vec<Proc> = Vec::new();
        let args = cli::status_json(url);
        let me = self.clone_env();
        v.push(Proc {
            name: "ours".into(),
            cmd: Box::new(move || me.cli_cmd_cached(&args, "oneshot")),
        });
        let args = cli::status_json(url);
        let me = self.clone_env();
        v.push(Proc {
            name: "ours (cold)".into(),
            cmd: Box::new(move || me.cli_cmd(&args)),
        });
        for (i, p) in PEERS.iter().enumerate() {
            let me = self.clone_env();
            let url = url.to_string();
            v.push(Proc {
                name: p.name.into(),
                cmd: Box::new(move || me.peer_cmd(&PEERS[i], "oneshot", &url, &[])),
            });
        }
        if self.o.python_pkg.is_some() {
            let me = self.clone_env();
            let url = url.to_string();
            v.push(Proc {
                name: python_pkg::NAME.into(),
                cmd: Box::new(move || {
                    me.python_pkg_cmd("oneshot", &url)
                        .unwrap_or_else(|| Command::new("false"))
                }),
            });
        }
        v
    }

    /// A command of the Python package's contender (None without `--python-pkg`).
    pub(super) fn python_pkg_cmd(&self, mode: &str, url: &str) -> Option<Command> {
        let py = self.o.python_pkg.as_ref()?;
        let mut c = python_pkg::command(py, &self.o.peers_dir, mode, url, USER);
        self.env(&mut c);
        Some(c)
    }

    /// A copy of what building commands needs (closures outlive `&self` borrows).
    pub(super) fn clone_env(&self) -> Runner {
        Runner {
            o: self.o.clone(),
            home: self.home.clone(),
            logs: self.logs.clone(),
            r: Value::Null,
            rows: Rows::default(),
        }
    }

    pub(super) fn part_oneshot(&mut self) -> Result<()> {
        println!("\n== 2. one-shot process, start to printed JSON (1,000 clients)");
        for latency in [0, LATENCY_MS] {
            let rounds = match (self.o.quick, latency) {
                (true, 0) => 6,
                (true, _) => 3,
                (false, 0) => 30,
                (false, _) => 15,
            };
            let sim = self.sim(1000, latency)?;
            let counters = SimCounters {
                target: sim.target.clone(),
            };
            let procs = self.oneshot_contenders(&sim.url);
            self.prime(&procs[0])?;
            let res = self.alternate(&procs, rounds, Some(&counters), Some(1000))?;
            for (
                p,
                Series {
                    walls,
                    requests: reqs,
                    stdout_bytes,
                    ..
                },
            ) in procs.iter().zip(res)
            {
                if walls.is_empty() {
                    continue;
                }
                let m = median(&walls);
                println!(
                    "  latency {latency:>2} ms  {:<34} {:>10.1} ms  (n={}, MAD {:.1}%, {} requests, printed {} KiB)",
                    p.name,
                    m,
                    walls.len(),
                    mad_pct(&walls),
                    reqs.map_or("?".into(), |r| r.to_string()),
                    stdout_bytes / 1024
                );
                self.rows
                    .printed
                    .push((latency, p.name.clone(), stdout_bytes));
                self.rows.oneshot.push((
                    latency,
                    p.name.clone(),
                    m,
                    walls.len(),
                    mad_pct(&walls),
                    reqs,
                ));
            }
            if let Some(py) = self.o.python_pkg.clone() {
                let me = self.clone_env();
                let env = |c: &mut Command| me.env(c);
                if let Err(e) =
                    python_pkg::startup(&py, rounds, latency, env, &mut self.rows.python_pkg)
                {
                    self.error(format!("python start-up: {e:#}"));
                }
            }
            if latency == 0 && !self.o.quick {
                if let Err(e) = self.hyperfine(&procs) {
                    self.error(format!("hyperfine cross-check: {e:#}"));
                }
            }
            drop(sim);
        }
        Ok(())
    }

    /// Cross-check of the one-shot timings with hyperfine, when it is installed (full runs,
    /// latency 0). hyperfine runs each command's runs back to back, so it cannot alternate the
    /// contenders: the alternated medians above are the reported numbers.
    pub(super) fn hyperfine(&mut self, procs: &[Proc]) -> Result<()> {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("hyperfine").is_file()))
            .unwrap_or(false);
        if !found {
            println!("  (hyperfine not installed: no cross-check)");
            return Ok(());
        }
        let file = self.o.out.join("hyperfine-oneshot.json");
        let mut cmd = Command::new("hyperfine");
        cmd.args(["-N", "--warmup", "3", "--runs", "20", "--style", "none"])
            .arg("--export-json")
            .arg(&file);
        for p in procs {
            let c = (p.cmd)();
            let mut line = c.get_program().to_string_lossy().to_string();
            for a in c.get_args() {
                line.push(' ');
                line.push_str(&a.to_string_lossy());
            }
            cmd.arg("-n").arg(&p.name).arg(line);
        }
        self.env(&mut cmd);
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .context("running hyperfine")?;
        if !out.status.success() {
            bail!("hyperfine failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let v: Value = serde_json::from_slice(&fs::read(&file)?)?;
        for r in v["results"].as_array().into_iter().flatten() {
            let name = r["command"].as_str().unwrap_or("?").to_string();
            let mean = r["mean"].as_f64().unwrap_or(f64::NAN) * 1e3;
            let sd = r["stddev"].as_f64().unwrap_or(f64::NAN) * 1e3;
            println!("  hyperfine cross-check  {name:<34} {mean:>8.1} ms ± {sd:.1} (mean, not alternated)");
            self.rows.hyperfine.push((name, mean, sd));
        }
        Ok(())
    }

    /// One untimed run that fills the session cache of a cached contender.
    pub(super) fn prime(&self, p: &Proc) -> Result<()> {
        self.run_checked(p, None)
            .map(drop)
            .with_context(|| format!("priming the session cache of {}", p.name))
    }

    /// Runs every contender once untimed (validation + request count), then `rounds` rounds of
    /// one run each in a rotating order.
    pub(super) fn alternate(
        &mut self,
        procs: &[Proc],
        rounds: usize,
        counters: Option<&SimCounters>,
        expect_clients: Option<usize>,
    ) -> Result<Vec<Series>> {
        let n = procs.len();
        let mut out: Vec<Series> = (0..n).map(|_| Series::default()).collect();
        let mut failed = vec![false; n];
        for (i, p) in procs.iter().enumerate() {
            if let Some(c) = counters {
                c.reset()?;
            }
            match self.run_checked(p, expect_clients) {
                Ok(m) => {
                    out[i].stdout_bytes = m.stdout.len();
                    if let Some(c) = counters {
                        out[i].requests = Some(request_counts(&c.stats()?).0);
                    }
                }
                Err(e) => {
                    failed[i] = true;
                    self.error(format!("{}: {e:#}", p.name));
                }
            }
        }
        for round in 0..rounds {
            for j in 0..n {
                let i = (j + round) % n;
                if failed[i] {
                    continue;
                }
                match self.run_checked(&procs[i], None) {
                    Ok(m) => {
                        out[i].walls.push(m.wall.as_secs_f64() * 1000.0);
                        out[i].rss.push(m.max_rss as f64);
                    }
                    Err(e) => {
                        failed[i] = true;
                        self.error(format!("{}: {e:#}", procs[i].name));
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) fn run_checked(&self, p: &Proc, expect_clients: Option<usize>) -> Result<Measured> {
        let mut cmd = (p.cmd)();
        let m = run_measured(&mut cmd, self.log(&p.name))?;
        if !m.status.success() {
            bail!(
                "{cmd:?} exited with {} (stderr in {})",
                m.status,
                self.logs.display()
            );
        }
        if let Some(want) = expect_clients {
            let got = count_clients(&m.stdout)
                .with_context(|| format!("{}: output is not the expected JSON", p.name))?;
            if got != want {
                bail!("{}: printed {got} clients, expected {want}", p.name);
            }
        }
        Ok(m)
    }
}

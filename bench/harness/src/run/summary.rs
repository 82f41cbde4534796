//! The summary: tables, ratios, goals, `last.json` and `last.md`.

use super::*;

impl Runner {
    // ---------------------------------------------------------------- summary

    pub(super) fn finish(mut self) -> Result<()> {
        let (ratios, goals) = self.ratios_and_goals();
        let md = self.markdown(&ratios, &goals);
        let rows = &self.rows;
        self.r["warm"] = json!(rows
            .warm
            .iter()
            .map(|(s, c, m, n, mad)| json!({"clients": s, "contender": c, "median_us": m, "n": n, "mad_pct": mad}))
            .collect::<Vec<_>>());
        self.r["oneshot"] = json!(rows
            .oneshot
            .iter()
            .map(|(l, c, m, n, mad, q)| json!({"latency_ms": l, "contender": c, "median_ms": m, "n": n, "mad_pct": mad, "requests": q}))
            .collect::<Vec<_>>());
        self.r["oneshot_printed_bytes"] = json!(rows
            .printed
            .iter()
            .map(|(l, c, b)| json!({"latency_ms": l, "contender": c, "bytes": b}))
            .collect::<Vec<_>>());
        self.r["oneshot_hyperfine"] = json!(rows
            .hyperfine
            .iter()
            .map(|(c, m, sd)| json!({"contender": c, "mean_ms": m, "stddev_ms": sd}))
            .collect::<Vec<_>>());
        self.r["requests"] = json!(rows
            .requests
            .iter()
            .map(|(l, t, c, n, b, w)| json!({"latency_ms": l, "task": t, "contender": c, "requests": n, "breakdown": b, "wall_ms": w}))
            .collect::<Vec<_>>());
        self.r["rss"] = json!({
            "json_bytes": rows.json_bytes,
            "runs": rows.rss.iter().map(|(c, r, w)| json!({"contender": c, "peak_rss_bytes": r, "median_ms": w})).collect::<Vec<_>>(),
        });
        self.r["fleet"] = json!(rows
            .fleet
            .iter()
            .map(|(l, s, m, n, mad, q)| json!({"latency_ms": l, "servers": s, "median_ms": m, "n": n, "mad_pct": mad, "requests": q}))
            .collect::<Vec<_>>());
        self.r["ratios"] = json!(ratios
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect::<Vec<_>>());
        self.r["goals"] = json!(goals
            .iter()
            .map(|g| json!({"goal": g.0, "met": g.1, "detail": g.2}))
            .collect::<Vec<_>>());
        self.r["errors"] = json!(rows.errors);
        fs::write(
            self.o.out.join("last.json"),
            serde_json::to_string_pretty(&self.r)?,
        )?;
        fs::write(self.o.out.join("last.md"), &md)?;

        println!("\n== goals");
        for (g, met, detail) in &goals {
            println!(
                "goal {:<7} {g}: {detail}",
                if *met { "met" } else { "MISSED" }
            );
        }
        if !self.rows.errors.is_empty() {
            println!("\n== errors");
            for e in &self.rows.errors {
                println!("  {e}");
            }
        }
        println!(
            "\nresults: {} and {}",
            self.o.out.join("last.json").display(),
            self.o.out.join("last.md").display()
        );
        println!();
        for (name, v) in &ratios {
            println!("ratio {name} {v:.2}");
        }
        Ok(())
    }

    pub(super) fn warm_of(&self, size: usize, who: &str) -> Option<f64> {
        self.rows
            .warm
            .iter()
            .find(|r| r.0 == size && r.1 == who)
            .map(|r| r.2)
    }

    pub(super) fn oneshot_of(&self, latency: u64, who: &str) -> Option<f64> {
        self.rows
            .oneshot
            .iter()
            .find(|r| r.0 == latency && r.1 == who)
            .map(|r| r.2)
    }

    pub(super) fn requests_of(&self, latency: u64, task: &str, who: &str) -> Option<u64> {
        self.rows
            .requests
            .iter()
            .find(|r| r.0 == latency && r.1 == task && r.2 == who)
            .map(|r| r.3)
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn ratios_and_goals(&self) -> (Vec<(String, f64)>, Vec<(String, bool, String)>) {
        let mut ratios: Vec<(String, f64)> = Vec::new();
        let mut goals: Vec<(String, bool, String)> = Vec::new();
        // 1. warm
        for size in [10usize, 1000, 10000] {
            let Some(ours) = self.warm_of(size, "ours") else {
                continue;
            };
            for p in &PEERS {
                if let Some(t) = self.warm_of(size, p.name) {
                    ratios.push((format!("warm_{size}_vs_{}", p.name), t / ours));
                }
            }
            if let Some(f) = self.warm_of(size, "floor") {
                ratios.push((format!("warm_{size}_vs_floor"), f / ours));
                let x = ours / f;
                goals.push((
                    format!("warm status within 1.3x of the floor at {size} clients"),
                    x <= 1.3,
                    format!(
                        "ours {} vs floor {} = {x:.2}x the floor",
                        fmt_us(ours),
                        fmt_us(f)
                    ),
                ));
            }
        }
        if let (Some(o), Some(p)) = (
            self.warm_of(1000, "ours"),
            self.warm_of(1000, "python-urbackup"),
        ) {
            goals.push((
                "warm status at least 5x faster than python-urbackup at 1,000 clients".into(),
                p / o >= 5.0,
                format!("{:.1}x ({} vs {})", p / o, fmt_us(o), fmt_us(p)),
            ));
        }
        if let (Some(o), Some(p), Some(f)) = (
            self.warm_of(1000, "ours"),
            self.warm_of(1000, "python-urbackup"),
            self.warm_of(1000, "floor"),
        ) {
            // The client's own cost: its median above the floor's.
            let (own, theirs) = ((o - f).max(1.0), p - f);
            let x = theirs / own;
            ratios.push(("own_cost_1000_vs_python-urbackup_5x".into(), x / 5.0));
            goals.push((
                "own cost above the floor at least 5x less than python-urbackup's at 1,000 clients"
                    .into(),
                x >= 5.0,
                format!(
                    "{x:.1}x ({} vs {} above the floor)",
                    fmt_us(own),
                    fmt_us(theirs)
                ),
            ));
        }
        // 2. one-shot (ours: warm session cache; `ours (cold)`: the first run, reported)
        for latency in [0, LATENCY_MS] {
            let tag = if latency == 0 {
                String::new()
            } else {
                format!("_lat{latency}")
            };
            if let Some(cold) = self.oneshot_of(latency, "ours (cold)") {
                for p in &PEERS {
                    if let Some(t) = self.oneshot_of(latency, p.name) {
                        ratios.push((format!("oneshot_cold{tag}_vs_{}", p.name), t / cold));
                    }
                }
            }
            if let Some(q) = self
                .rows
                .oneshot
                .iter()
                .find(|r| r.0 == latency && r.1 == "ours")
                .and_then(|r| r.5)
            {
                ratios.push((
                    format!("oneshot_warm{tag}_requests_vs_1"),
                    1.0 / q.max(1) as f64,
                ));
                goals.push((
                    format!("one request per one-shot with a warm cache (latency {latency} ms)"),
                    q == 1,
                    format!("{q} request(s)"),
                ));
            }
            let Some(ours) = self.oneshot_of(latency, "ours") else {
                continue;
            };
            for p in &PEERS {
                if let Some(t) = self.oneshot_of(latency, p.name) {
                    let x = t / ours;
                    ratios.push((format!("oneshot{tag}_vs_{}", p.name), x));
                    goals.push((
                        format!(
                            "one-shot (warm cache) at least 10x faster than {} (latency {latency} ms)",
                            p.name
                        ),
                        x >= 10.0,
                        format!("{x:.1}x ({ours:.1} ms vs {t:.1} ms)"),
                    ));
                }
            }
        }
        // 3. requests
        let mut worst: Vec<String> = Vec::new();
        let mut compared = 0;
        for latency in [0, LATENCY_MS] {
            let tag = if latency == 0 {
                String::new()
            } else {
                format!("_lat{latency}")
            };
            for task in ["lookup", "start-backup"] {
                for who in ["ours (library)", "ours (cli)"] {
                    let Some(ours) = self.requests_of(latency, task, who) else {
                        continue;
                    };
                    let short = if who.contains("cli") { "cli" } else { "lib" };
                    for p in &PEERS {
                        if let Some(n) = self.requests_of(latency, task, p.name) {
                            compared += 1;
                            ratios.push((
                                format!("requests{tag}_{task}_{short}_vs_{}", p.name),
                                n as f64 / ours.max(1) as f64,
                            ));
                            if ours > n {
                                worst.push(format!(
                                    "{task} ({who}) {ours} > {} {n} at {latency} ms",
                                    p.name
                                ));
                            }
                        }
                    }
                }
            }
        }
        if compared > 0 {
            goals.push((
                "requests per task never more than the peers".into(),
                worst.is_empty(),
                if worst.is_empty() {
                    format!("{compared} comparisons, none worse")
                } else {
                    worst.join("; ")
                },
            ));
        }
        // 4. RSS
        let json_bytes = self.rows.json_bytes as f64;
        if let Some(&(_, ours, _)) = self.rows.rss.iter().find(|r| r.0 == "ours") {
            for p in &PEERS {
                if let Some(&(_, r, _)) = self.rows.rss.iter().find(|r| r.0 == p.name) {
                    ratios.push((format!("rss_10000_vs_{}", p.name), r / ours));
                }
            }
            ratios.push(("rss_10000_vs_3x_json".into(), 3.0 * json_bytes / ours));
            goals.push((
                "peak RSS at 10,000 clients at most 3x the JSON".into(),
                ours <= 3.0 * json_bytes,
                format!(
                    "{:.1} MiB = {:.2}x the {:.1} MiB JSON",
                    ours / 1048576.0,
                    ours / json_bytes,
                    json_bytes / 1048576.0
                ),
            ));
        }
        // 5. fleet
        for latency in [0, LATENCY_MS] {
            let f = |s: usize| {
                self.rows
                    .fleet
                    .iter()
                    .find(|r| r.0 == latency && r.1 == s)
                    .map(|r| r.2)
            };
            if let (Some(one), Some(fifty)) = (f(1), f(50)) {
                let tag = if latency == 0 {
                    String::new()
                } else {
                    format!("_lat{latency}")
                };
                ratios.push((format!("fleet50{tag}_vs_3x_single"), 3.0 * one / fifty));
                goals.push((
                    format!(
                        "fleet of 50 (warm caches) at most 3x one server (latency {latency} ms)"
                    ),
                    fifty <= 3.0 * one,
                    format!("{:.2}x ({fifty:.1} ms vs {one:.1} ms)", fifty / one),
                ));
            }
        }
        let (r, g) = python_pkg::ratios_and_goals(
            &self.rows.python_pkg,
            |s, w| self.warm_of(s, w),
            |l, w| self.oneshot_of(l, w),
            &[0, LATENCY_MS],
        );
        ratios.extend(r);
        goals.extend(g);
        if let Some(r) = &self.rows.scrape {
            ratios.extend(r.ratios());
            goals.extend(r.goals());
        }
        if let Some(r) = &self.rows.console {
            ratios.extend(r.ratios());
            goals.extend(r.goals());
        }
        if let Some(r) = &self.rows.logins {
            ratios.extend(r.ratios());
            goals.extend(r.goals());
        }
        if let Some(r) = &self.rows.files {
            ratios.extend(r.ratios());
            goals.extend(r.goals());
        }
        (ratios, goals)
    }

    pub(super) fn markdown(
        &self,
        ratios: &[(String, f64)],
        goals: &[(String, bool, String)],
    ) -> String {
        let mut s = String::new();
        let m = &self.r["machine"];
        let _ = writeln!(
            s,
            "Run: {} (`bench/run.sh{}`), {}\n\nMachine: {}\n",
            m["date"].as_str().unwrap_or("?"),
            if self.o.quick { " --quick" } else { "" },
            m["git"].as_str().unwrap_or("?"),
            m["summary"].as_str().unwrap_or("?")
        );
        let peers: Vec<&str> = PEERS.iter().map(|p| p.name).collect();
        // 1
        let _ = writeln!(s, "### 1. Warm typed status call (median per call)\n");
        let _ = writeln!(
            s,
            "| clients | ours | floor | {} | ours / floor |",
            peers.join(" | ")
        );
        let _ = writeln!(s, "|---:|---:|---:|{}---:|", "---:|".repeat(peers.len()));
        for size in [10usize, 1000, 10000] {
            let cell = |who: &str| self.warm_of(size, who).map_or("–".into(), fmt_us);
            let rel = match (self.warm_of(size, "ours"), self.warm_of(size, "floor")) {
                (Some(o), Some(f)) => format!("{:.2}x", o / f),
                _ => "–".into(),
            };
            let _ = writeln!(
                s,
                "| {size} | {} | {} | {} | {rel} |",
                cell("ours"),
                cell("floor"),
                peers
                    .iter()
                    .map(|p| cell(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        let _ = writeln!(
            s,
            "\nTime above the floor (the client's own work: median minus the floor's median):\n"
        );
        let _ = writeln!(s, "| clients | ours | {} |", peers.join(" | "));
        let _ = writeln!(s, "|---:|---:|{}", "---:|".repeat(peers.len()));
        for size in [10usize, 1000, 10000] {
            let Some(f) = self.warm_of(size, "floor") else {
                continue;
            };
            let cell = |who: &str| {
                self.warm_of(size, who)
                    .map_or("–".into(), |t| fmt_us(t - f))
            };
            let _ = writeln!(
                s,
                "| {size} | {} | {} |",
                cell("ours"),
                peers
                    .iter()
                    .map(|p| cell(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        // 2
        let _ = writeln!(s, "\n### 2. One-shot process, start to printed JSON (1,000 clients; median; requests sent)\n");
        let _ = writeln!(
            s,
            "| server latency | ours, warm session cache (`urbackup status --output json`) | ours, cold (first run) | {} |",
            peers.join(" | ")
        );
        let _ = writeln!(s, "|---|---:|---:|{}", "---:|".repeat(peers.len()));
        for latency in [0, LATENCY_MS] {
            let cell = |who: &str| {
                self.rows
                    .oneshot
                    .iter()
                    .find(|r| r.0 == latency && r.1 == who)
                    .map_or("–".into(), |r| {
                        format!(
                            "{:.1} ms ({} req)",
                            r.2,
                            r.5.map_or("?".into(), |q| q.to_string())
                        )
                    })
            };
            let _ = writeln!(
                s,
                "| {latency} ms | {} | {} | {} |",
                cell("ours"),
                cell("ours (cold)"),
                peers
                    .iter()
                    .map(|p| cell(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        let printed = |who: &str| {
            self.rows
                .printed
                .iter()
                .find(|r| r.0 == 0 && r.1 == who)
                .map_or("–".into(), |r| format!("{} KiB", r.2 / 1024))
        };
        let _ = writeln!(
            s,
            "| JSON printed | {} | {} | {} |",
            printed("ours"),
            printed("ours (cold)"),
            peers
                .iter()
                .map(|p| printed(p))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        if !self.rows.hyperfine.is_empty() {
            let _ = writeln!(
                s,
                "\nhyperfine cross-check, latency 0 ms (mean ± σ; runs not alternated): {}",
                self.rows
                    .hyperfine
                    .iter()
                    .map(|(c, m, sd)| format!("{c} {m:.1} ± {sd:.1} ms"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        // 3
        let _ = writeln!(
            s,
            "\n### 3. Requests per task (fresh process, login included; 1,000 clients)\n"
        );
        let _ = writeln!(
            s,
            "| task | contender | requests (0 ms) | requests (20 ms) | breakdown | wall at 20 ms |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---|---:|");
        for r in self.rows.requests.iter().filter(|r| r.0 == 0) {
            let lat = self
                .rows
                .requests
                .iter()
                .find(|q| q.0 == LATENCY_MS && q.1 == r.1 && q.2 == r.2);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r.1,
                r.2,
                r.3,
                lat.map_or("–".into(), |q| q.3.to_string()),
                r.4,
                lat.map_or("–".into(), |q| format!("{:.0} ms", q.5))
            );
        }
        // 4
        let _ = writeln!(
            s,
            "\n### 4. Peak RSS of the one-shot task at 10,000 clients (JSON body: {:.2} MiB)\n",
            self.rows.json_bytes as f64 / 1048576.0
        );
        let _ = writeln!(s, "| contender | peak RSS | × JSON size | wall |");
        let _ = writeln!(s, "|---|---:|---:|---:|");
        for (c, r, w) in &self.rows.rss {
            let _ = writeln!(
                s,
                "| {c} | {:.1} MiB | {:.2} | {w:.0} ms |",
                r / 1048576.0,
                r / self.rows.json_bytes.max(1) as f64
            );
        }
        // 5
        let _ = writeln!(
            s,
            "\n### 5. Fleet: `urbackup status --all-profiles` ({} clients per server; median)\n",
            self.o.fleet_clients
        );
        let _ = writeln!(
            s,
            "| server latency | session cache | 1 server | 50 servers | ratio |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|");
        for latency in [0, LATENCY_MS] {
            for (label, rows) in [
                ("warm", &self.rows.fleet),
                ("cold (off)", &self.rows.fleet_cold),
            ] {
                let f = |n: usize| rows.iter().find(|r| r.0 == latency && r.1 == n);
                if let (Some(a), Some(b)) = (f(1), f(50)) {
                    let _ = writeln!(
                        s,
                        "| {latency} ms | {label} | {:.1} ms ({} req) | {:.1} ms ({} req) | {:.2}x |",
                        a.2,
                        a.5.unwrap_or(0),
                        b.2,
                        b.5.unwrap_or(0),
                        b.2 / a.2
                    );
                }
            }
        }
        if self.o.python_pkg.is_some() {
            s.push_str(&python_pkg::markdown(
                &self.rows.python_pkg,
                |z, w| self.warm_of(z, w),
                |l, w| self.oneshot_of(l, w),
                &[0, LATENCY_MS],
                fmt_us,
            ));
        }
        if let Some(r) = &self.rows.scrape {
            let _ = write!(s, "\n{}", r.markdown());
        }
        if let Some(r) = &self.rows.console {
            let _ = write!(s, "\n{}", r.markdown());
        }
        if let Some(r) = &self.rows.logins {
            let _ = write!(s, "\n{}", r.markdown());
        }
        if let Some(r) = &self.rows.files {
            let _ = write!(s, "\n{}", r.markdown());
        }
        let _ = writeln!(s, "\n### Goals\n");
        let _ = writeln!(s, "| goal | result | measured |");
        let _ = writeln!(s, "|---|---|---|");
        for (g, met, d) in goals {
            let _ = writeln!(
                s,
                "| {g} | {} | {d} |",
                if *met { "met" } else { "**missed**" }
            );
        }
        let _ = writeln!(s, "\n### Ratio lines\n\n```");
        for (n, v) in ratios {
            let _ = writeln!(s, "ratio {n} {v:.2}");
        }
        let _ = writeln!(s, "```");
        if !self.rows.errors.is_empty() {
            let _ = writeln!(s, "\nErrors:\n");
            for e in &self.rows.errors {
                let _ = writeln!(s, "- {e}");
            }
        }
        s
    }
}

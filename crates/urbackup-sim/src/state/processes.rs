//! Running processes: backups, restores and server jobs started, moved on by the clock,
//! finished into backups, logs and activities.

use super::*;

impl State {
    // ------------------------------------------------------------- processes

    /// What `start_backup` does for a connected client `cid`: hands its thread the message
    /// (`START BACKUP INCR`, `START IMAGE FULL`...), which sets one of its
    /// [`PendingStarts`], and lets the thread run what can run. Returns true when a backup
    /// process started now; false when the start waits (see [`PendingStarts`]) or was dropped.
    pub fn start_backup_process(&mut self, cid: i64, start_type: &str) -> bool {
        let Some(c) = self.clients.get(&cid) else {
            return false;
        };
        let msg = match start_type {
            "incr_file" => "START BACKUP INCR",
            "full_file" => "START BACKUP FULL",
            "incr_image" => "START IMAGE INCR",
            "full_image" => "START IMAGE FULL",
            _ => return false,
        };
        let images_supported = !c.image_not_supported;
        let t = self.now();
        // `ClientMain` logs every message it reads (debug level).
        self.livelog(0, -1, format!("msg={msg}"), t, None);
        if start_type.ends_with("_image") && !images_supported && !self.v24() {
            // 2.5: `msg=="START IMAGE INCR" && can_backup_images`: dropped.
            return false;
        }
        let p = self.pending_starts.entry(cid).or_default();
        match start_type {
            "incr_file" => p.incr_file = true,
            "full_file" => p.full_file = true,
            "incr_image" => p.incr_image = true,
            _ => p.full_image = true,
        }
        self.run_pending(cid)
    }

    /// The turns of client `cid`'s thread over its pending starts, in the order of the
    /// branches of `ClientMain.cpp` (full file, incremental file, full image, incremental
    /// image), until none can run. True when a backup process started.
    fn run_pending(&mut self, cid: i64) -> bool {
        let images_supported = match self.clients.get(&cid) {
            Some(c) => !c.image_not_supported,
            None => return false,
        };
        let no_file_backups = self.general_value("no_file_backups") == Value::Bool(true);
        let no_images = self.general_value("no_images") == Value::Bool(true);
        let mut started = false;
        while let Some(p) = self.pending_starts.get_mut(&cid) {
            let files = !no_file_backups && !p.blocks_file_backups();
            let images = images_supported && !no_images;
            let run = if files && p.full_file && !p.incr_file {
                p.full_file = false;
                "full_file"
            } else if files && p.incr_file {
                p.incr_file = false;
                "incr_file"
            } else if images && p.full_image && !p.incr_image {
                p.full_image = false;
                "full_image"
            } else if images && p.incr_image {
                p.incr_image = false;
                "incr_image"
            } else {
                break;
            };
            if p.is_empty() {
                self.pending_starts.remove(&cid);
            }
            started |= self.begin_backup(cid, run);
        }
        started
    }

    /// A backup process of `start_type` for client `cid`; false when one of its kind runs
    /// already (the start is dropped).
    fn begin_backup(&mut self, cid: i64, start_type: &str) -> bool {
        let now_ms = self.now_ms;
        let dur = self.cfg.backup_duration_ms.max(1);
        let Some(c) = self.clients.get(&cid) else {
            return false;
        };
        let image = start_type.ends_with("_image");
        let kind = if image {
            ProcKind::ImageBackup
        } else {
            ProcKind::FileBackup
        };
        if self
            .processes
            .iter()
            .any(|p| p.client_id == cid && p.kind == kind)
        {
            return false;
        }
        let mut full = start_type.starts_with("full");
        let mut lines = Vec::new();
        let t = now_ms / 1000;
        let what = if image { "image" } else { "file" };
        let prev_inc;
        let base_size;
        let mut rng = Rng(mix(c.tree_seed ^ now_ms as u64));
        if image {
            prev_inc = c.image_backups.last().map(|b| b.incremental);
            base_size = 20_000_000_000 + (c.tree_seed % 40_000_000_000) as i64;
        } else {
            prev_inc = c.file_backups.last().map(|b| b.incremental);
            base_size = 1_000_000_000 + (c.tree_seed % 30_000_000_000) as i64;
        }
        lines.push((
            0,
            t,
            format!(
                "Starting unscheduled {} {what} backup...",
                if full { "full" } else { "incremental" }
            ),
        ));
        if !full && prev_inc.is_none() {
            lines.push((1, t, format!("Cannot retrieve last {what} backup when doing incremental backup. Doing full backup now...")));
            lines.push((0, t, format!("Starting unscheduled full {what} backup...")));
            full = true;
        }
        let incremental = if full { 0 } else { prev_inc.unwrap_or(0) + 1 };
        let total = if full {
            base_size
        } else {
            (base_size / 50).max(1) + rng.below(base_size as u64 / 50) as i64
        };
        let action = match (image, full) {
            (false, false) => action::INCR_FILE,
            (false, true) => action::FULL_FILE,
            (true, false) => action::INCR_IMAGE,
            (true, true) => action::FULL_IMAGE,
        };
        let logid = self.next_log_id;
        self.next_log_id += 1;
        let pid = self.next_process_id;
        self.next_process_id += 1;
        let name = c.name.clone();
        let c_latin1 = c.latin1_file;
        for (lvl, tt, m) in &lines {
            self.livelog(cid, *lvl, m.clone(), *tt, Some(logid));
        }
        self.livelog(0, 0, format!("{name}: {}", lines[0].2), t, None);
        self.livelog(
            cid,
            -1,
            format!("{name}: Connecting for filelist..."),
            t,
            Some(logid),
        );
        if !image && c_latin1 {
            // What the real 2.4.15 server logged for such a file (a debug line).
            self.livelog(
                cid,
                -1,
                format!("Loading file patch for \"{}\"", latin1_file_name()),
                t,
                Some(logid),
            );
        }
        self.processes.push(Process {
            id: pid,
            client_id: cid,
            action,
            kind,
            start_ms: now_ms,
            duration_ms: dur,
            total_bytes: total,
            logid,
            details: if image { "C:".into() } else { "0".into() },
            stop: false,
            incremental,
            log_lines: lines,
            stage: 0,
            path: String::new(),
            awaiting_confirmation: false,
            failure: None,
        });
        true
    }

    /// Start a server-side process (statistics recalculation).
    pub fn start_server_process(&mut self, action: i64) {
        let pid = self.next_process_id;
        self.next_process_id += 1;
        self.processes.push(Process {
            id: pid,
            client_id: 0,
            action,
            kind: ProcKind::Statistics,
            start_ms: self.now_ms,
            duration_ms: (self.cfg.backup_duration_ms / 4).max(1),
            total_bytes: -1,
            logid: 0,
            details: String::new(),
            stop: false,
            incremental: 0,
            log_lines: Vec::new(),
            stage: 0,
            path: String::new(),
            awaiting_confirmation: false,
            failure: None,
        });
    }

    /// Starts a restore of `details` (the server's name for it: the backup-relative path, a
    /// folder ending in `/`, followed by the filter) to client `cid`; returns the wait key.
    /// A client that does not let the server confirm restores keeps it waiting for a person.
    /// With `failure`, the restore runs and then fails with that error line, as the real
    /// client's does when, say, its filter names nothing in the folder.
    pub fn start_restore(&mut self, cid: i64, details: &str, failure: Option<String>) -> String {
        let pid = self.next_process_id;
        self.next_process_id += 1;
        let logid = self.next_log_id;
        self.next_log_id += 1;
        let t = self.now();
        let awaiting_confirmation = self
            .clients
            .get(&cid)
            .is_some_and(|c| !c.server_confirms_restore);
        let msg = format!("Starting restore of path \"{details}\"...");
        self.livelog(cid, 0, msg.clone(), t, Some(logid));
        self.processes.push(Process {
            id: pid,
            client_id: cid,
            action: action::RESTORE_FILE,
            kind: ProcKind::Restore,
            start_ms: self.now_ms,
            duration_ms: (self.cfg.backup_duration_ms / 2).max(1),
            total_bytes: 10_000_000,
            logid,
            details: details.to_string(),
            stop: false,
            incremental: 0,
            log_lines: vec![(0, t, msg)],
            stage: 0,
            path: details.to_string(),
            awaiting_confirmation,
            failure,
        });
        self.restore_wait_key(2000.min(self.cfg.backup_duration_ms / 4))
    }

    /// A restore whose preparation fails at once, as the real server's does when the path
    /// it was given is not a folder (`restore_client.cpp`, `createFilelist`): the reply was
    /// "ok" with a wait key, yet the restore ends in a log with one error and a `lastacts`
    /// row that looks like any other restore's.
    pub fn fail_restore_at_once(&mut self, cid: i64, details: &str, folder: &str) -> String {
        let logid = self.next_log_id;
        self.next_log_id += 1;
        let t = self.now();
        let msg = format!("Cannot read files from folder {folder}. Cannot start restore.");
        self.livelog(cid, 2, msg.clone(), t, Some(logid));
        self.add_log(StoredLog {
            id: logid,
            client_id: cid,
            time: t,
            errors: 1,
            warnings: 0,
            image: false,
            incremental: 0,
            resumed: false,
            restore: true,
            data: Some(format!("2-{t}-{msg}\n")),
        });
        let id = self.next_restore_id;
        self.next_restore_id += 1;
        self.activities.push(Activity {
            id,
            clientid: cid,
            backuptime: t,
            incremental: 0,
            duration: 0,
            size_bytes: -1,
            image: false,
            del: false,
            restore: true,
            details: details.to_string(),
        });
        self.restore_wait_key(0)
    }

    /// The answer of the person at client `cid` to its waiting restores: yes lets them run,
    /// no ends them as failed. Returns how many restores were waiting.
    pub fn answer_restore(&mut self, cid: i64, yes: bool) -> usize {
        let now = self.now_ms;
        let mut n = 0;
        for p in self
            .processes
            .iter_mut()
            .filter(|p| p.client_id == cid && p.awaiting_confirmation)
        {
            n += 1;
            p.awaiting_confirmation = false;
            p.start_ms = now;
            if !yes {
                p.stop = true;
                p.log_lines
                    .push((2, now / 1000, "Restore was denied at the client".into()));
            }
        }
        self.tick(now);
        n
    }

    /// A new `restore_prepare_wait` key, ready `after_ms` virtual milliseconds from now.
    fn restore_wait_key(&mut self, after_ms: i64) -> String {
        let key = crate::auth::random_alnum(32);
        self.restore_waits
            .insert(key.clone(), self.now_ms + after_ms);
        key
    }

    /// How long a backup lists its files before it copies any (pcdone -1, "starting"):
    /// 15% of its duration, and never longer than that of a backup of the configured
    /// duration, so that a long backup (the example fleet's `db-01`) moves as soon as the
    /// others do.
    pub fn index_ms(&self, p: &Process) -> i64 {
        (p.duration_ms * 15 / 100).min(self.cfg.backup_duration_ms * 15 / 100)
    }

    /// Progress numbers of a process at the current time:
    /// (pcdone, done_bytes, total_bytes, speed_bpms, eta_ms).
    pub fn process_progress(&self, p: &Process) -> (i64, i64, i64, f64, i64) {
        let el = (self.now_ms - p.start_ms).max(0) as f64;
        let d = p.duration_ms as f64;
        let idx = self.index_ms(p) as f64;
        if el < idx {
            return (-1, 0, -1, 0.0, 61000);
        }
        let frac = ((el - idx) / (d - idx)).clamp(0.0, 1.0);
        let done = (p.total_bytes as f64 * frac) as i64;
        let speed = p.total_bytes as f64 / (d - idx).max(1.0);
        let mut eta = ((d - el).max(0.0)) as i64;
        // As the real server: an estimate under a minute is sent as 61 s.
        if eta > 0 && eta < 60_000 {
            eta = 61_000;
        }
        ((frac * 100.0) as i64, done, p.total_bytes, speed, eta)
    }

    /// Advance all processes to the current time.
    pub fn tick(&mut self, now_ms: i64) {
        if now_ms > self.now_ms {
            self.now_ms = now_ms;
        }
        let now = self.now_ms;
        for c in self.clients.values_mut() {
            if c.online {
                c.lastseen = now / 1000;
            }
        }
        // A disconnected client's thread ends with its pending starts; the others take a
        // turn (a kind switched on again runs what waited for it).
        if !self.pending_starts.is_empty() {
            let clients = &self.clients;
            self.pending_starts
                .retain(|id, _| clients.get(id).is_some_and(|c| c.online));
            let waiting: Vec<i64> = self.pending_starts.keys().copied().collect();
            for cid in waiting {
                self.run_pending(cid);
            }
        }
        // expire restore waits / sessions lazily elsewhere
        let mut i = 0;
        while i < self.processes.len() {
            let p = self.processes[i].clone();
            let end = p.start_ms + p.duration_ms;
            let name = self
                .clients
                .get(&p.client_id)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let online = self
                .clients
                .get(&p.client_id)
                .map(|c| c.online)
                .unwrap_or(true);
            let mut p = p;
            if p.kind == ProcKind::FileBackup || p.kind == ProcKind::ImageBackup {
                let idx_t = p.start_ms + self.index_ms(&p);
                let mid_t = p.start_ms + p.duration_ms / 2;
                if p.stage < 1 && now >= idx_t && !p.stop {
                    p.stage = 1;
                    let t = idx_t / 1000;
                    let msg = if p.kind == ProcKind::ImageBackup {
                        format!("Backing up volume {} ...", p.details)
                    } else {
                        format!("{name}: Loading file list...")
                    };
                    p.log_lines.push((0, t, msg.clone()));
                    self.livelog(p.client_id, 0, msg, t, Some(p.logid));
                    self.livelog(
                        p.client_id,
                        -1,
                        format!("{name}: Started loading files..."),
                        t,
                        Some(p.logid),
                    );
                }
                if p.stage < 2 && now >= mid_t && !p.stop {
                    p.stage = 2;
                    let t = mid_t / 1000;
                    let msg = "Waiting for file hashing and copying threads...".to_string();
                    self.livelog(
                        p.client_id,
                        -1,
                        format!("HT: Copying file batch ({} bytes)", p.total_bytes / 2),
                        t,
                        Some(p.logid),
                    );
                    self.livelog(p.client_id, 0, msg.clone(), t, Some(p.logid));
                    p.log_lines.push((0, t, msg));
                }
                if p.stop || !online {
                    let t = now / 1000;
                    let why = if p.stop {
                        "Backup was stopped by user (server side)".to_string()
                    } else {
                        format!("Client {name} went offline.")
                    };
                    p.log_lines.push((2, t, why.clone()));
                    p.log_lines.push((
                        0,
                        t,
                        format!(
                            "Time taken for backing up client {name}: {}s",
                            (now - p.start_ms) / 1000
                        ),
                    ));
                    p.log_lines.push((2, t, "Backup failed".into()));
                    self.livelog(p.client_id, 2, why, t, Some(p.logid));
                    self.livelog(p.client_id, 2, "Backup failed".into(), t, Some(p.logid));
                    self.livelog(0, 2, format!("{name}: Backup failed"), t, None);
                    self.finish_log(&p, false);
                    if let Some(c) = self.clients.get_mut(&p.client_id) {
                        if p.kind == ProcKind::FileBackup {
                            c.file_ok = false;
                        } else {
                            c.image_ok = false;
                        }
                    }
                    self.processes.remove(i);
                    continue;
                }
                if now >= end {
                    let t = end / 1000;
                    let secs = p.duration_ms / 1000;
                    let speed_mbit = p.total_bytes as f64 * 8.0
                        / (p.duration_ms.max(1) as f64 / 1000.0)
                        / 1_000_000.0;
                    let m1 = format!(
                        "Transferred {} - Average speed: {} MBit/s",
                        fmt_bytes(p.total_bytes),
                        crate::json::fmt_g(speed_mbit)
                    );
                    let m2 = format!("Time taken for backing up client {name}: {secs}s");
                    for m in [m1, m2, "Backup succeeded".to_string()] {
                        p.log_lines.push((0, t, m.clone()));
                        self.livelog(p.client_id, 0, m, t, Some(p.logid));
                    }
                    self.livelog(0, 0, format!("{name}: Backup succeeded"), t, None);
                    self.finish_log(&p, true);
                    let backuptime = p.start_ms / 1000;
                    if let Some(c) = self.clients.get_mut(&p.client_id) {
                        if p.kind == ProcKind::FileBackup {
                            let id = self.next_file_backup_id;
                            self.next_file_backup_id += 1;
                            c.file_backups.push(FileBackup {
                                id,
                                backuptime,
                                incremental: p.incremental,
                                size_bytes: p.total_bytes,
                                archived: false,
                                archive_timeout: 0,
                                delete_pending: false,
                                duration: secs,
                                resumed: false,
                            });
                            c.file_ok = true;
                            c.last_filebackup_issues = 0;
                        } else {
                            let id = self.next_image_backup_id;
                            self.next_image_backup_id += 1;
                            c.image_backups.push(ImageBackup {
                                id,
                                backuptime,
                                incremental: p.incremental,
                                size_bytes: p.total_bytes,
                                letter: p.details.clone(),
                                archived: false,
                                archive_timeout: 0,
                                delete_pending: false,
                                duration: secs,
                            });
                            c.image_ok = true;
                        }
                    }
                    self.processes.remove(i);
                    continue;
                }
                self.processes[i] = p;
                i += 1;
            } else {
                if p.awaiting_confirmation && !p.stop {
                    // Nothing happens until someone at the client says yes.
                    p.start_ms = now;
                    self.processes[i] = p;
                    i += 1;
                    continue;
                }
                if p.kind == ProcKind::Restore && p.stage == 0 && !p.stop {
                    // The client has taken it (the real client's first lines).
                    p.stage = 1;
                    let t = p.start_ms / 1000;
                    for m in [
                        "Starting restore...",
                        "Loading file list...",
                        "Calculating download size...",
                        "Downloading necessary file data...",
                    ] {
                        p.log_lines.push((0, t, m.into()));
                        self.livelog(p.client_id, 0, m.into(), t, Some(p.logid));
                    }
                }
                if now >= end || p.stop {
                    if p.kind == ProcKind::Restore {
                        let t = end.min(now) / 1000;
                        let failure = match (&p.failure, p.stop) {
                            (Some(f), _) => Some(f.clone()),
                            (None, true) if !p.log_lines.iter().any(|l| l.0 == 2) => {
                                Some("Restore was stopped".to_string())
                            }
                            (None, true) => Some(String::new()),
                            (None, false) => None,
                        };
                        let ok = failure.is_none();
                        let mut lines: Vec<(i64, String)> = match failure {
                            None => vec![
                                (0, "Applying file metadata...".into()),
                                (0, "Restore finished successfully.".into()),
                            ],
                            Some(f) => vec![(2, f), (0, "Restore failed.".into())],
                        };
                        lines.retain(|(_, m)| !m.is_empty());
                        for (level, m) in lines {
                            p.log_lines.push((level, t, m.clone()));
                            self.livelog(p.client_id, level, m, t, Some(p.logid));
                        }
                        self.finish_log(&p, ok);
                        let id = self.next_restore_id;
                        self.next_restore_id += 1;
                        self.activities.push(Activity {
                            id,
                            clientid: p.client_id,
                            backuptime: p.start_ms / 1000,
                            incremental: 0,
                            duration: (end.min(now) - p.start_ms) / 1000,
                            size_bytes: -1,
                            image: false,
                            del: false,
                            restore: true,
                            details: p.path.clone(),
                        });
                    }
                    self.processes.remove(i);
                    continue;
                }
                self.processes[i] = p;
                i += 1;
            }
        }
    }

    fn finish_log(&mut self, p: &Process, _ok: bool) {
        let errors = p.log_lines.iter().filter(|l| l.0 == 2).count() as i64;
        let warnings = p.log_lines.iter().filter(|l| l.0 == 1).count() as i64;
        let mut data = String::new();
        for (l, t, m) in &p.log_lines {
            if *l >= 0 {
                data.push_str(&format!("{l}-{t}-{m}\n"));
            }
        }
        let time = p.log_lines.last().map(|l| l.1).unwrap_or(self.now());
        self.add_log(StoredLog {
            id: p.logid,
            client_id: p.client_id,
            time,
            errors,
            warnings,
            image: p.kind == ProcKind::ImageBackup,
            incremental: p.incremental,
            resumed: false,
            restore: p.kind == ProcKind::Restore,
            data: Some(data),
        });
    }

    /// lastacts entries (newest first), optionally restricted to a client list and
    /// optionally only backups.
    pub fn lastacts(&self, filter: Option<&[i64]>, only_backups: bool) -> Vec<Value> {
        // (time, id, kind, client id, index) -- JSON is only built for the top 20
        let mut top: Vec<(i64, i64, u8, i64, usize)> = Vec::new();
        let mut push = |item: (i64, i64, u8, i64, usize)| {
            top.push(item);
            if top.len() > 400 {
                top.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
                top.truncate(20);
            }
        };
        for c in self.clients.values() {
            if let Some(f) = filter {
                if !f.contains(&c.id) {
                    continue;
                }
            }
            for (i, b) in c.file_backups.iter().enumerate() {
                push((b.backuptime, b.id, 0, c.id, i));
            }
            for (i, b) in c.image_backups.iter().enumerate() {
                push((b.backuptime, b.id, 1, c.id, i));
            }
        }
        if !only_backups {
            for (i, a) in self.activities.iter().enumerate() {
                if let Some(f) = filter {
                    if !f.contains(&a.clientid) {
                        continue;
                    }
                }
                push((a.backuptime, a.id, 2, a.clientid, i));
            }
        }
        top.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        top.truncate(20);
        top.into_iter()
            .filter_map(|(_, _, kind, cid, i)| {
                let name = self
                    .clients
                    .get(&cid)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                Some(match kind {
                    0 => {
                        let b = self.clients.get(&cid)?.file_backups.get(i)?;
                        json!({
                            "id": b.id, "clientid": cid, "name": name, "backuptime": b.backuptime,
                            "incremental": b.incremental, "duration": b.duration, "size_bytes": b.size_bytes,
                            "image": 0, "del": false, "restore": 0, "resumed": b.resumed as i64, "details": ""
                        })
                    }
                    1 => {
                        let b = self.clients.get(&cid)?.image_backups.get(i)?;
                        json!({
                            "id": b.id, "clientid": cid, "name": name, "backuptime": b.backuptime,
                            "incremental": b.incremental, "duration": b.duration, "size_bytes": b.size_bytes,
                            "image": 1, "del": false, "restore": 0, "resumed": 0, "details": b.letter
                        })
                    }
                    _ => {
                        let a = self.activities.get(i)?;
                        json!({
                            "id": a.id, "clientid": a.clientid, "name": name, "backuptime": a.backuptime,
                            "incremental": a.incremental, "duration": a.duration, "size_bytes": a.size_bytes,
                            "image": a.image as i64, "del": a.del, "restore": a.restore as i64, "resumed": 0,
                            "details": a.details
                        })
                    }
                })
            })
            .collect()
    }
}

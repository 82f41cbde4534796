//! Deterministic fleet generation (`Simulator::builder().clients(n)`) and explicit clients.

use crate::state::{rand_str, Client, FileBackup, Group, ImageBackup, State, StoredLog};
use crate::tree::{mix, Rng};

/// Description of one explicit client for [`crate::SimBuilder::client`].
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub(crate) name: String,
    pub(crate) online: bool,
    pub(crate) windows: bool,
    pub(crate) os_unknown: bool,
    pub(crate) group: Option<String>,
    pub(crate) file_backups: usize,
    pub(crate) image_backups: usize,
    pub(crate) ip: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) server_confirms_restore: bool,
    pub(crate) file_off: bool,
    pub(crate) image_off: bool,
    pub(crate) last_failed: bool,
    pub(crate) aged_secs: i64,
    pub(crate) running: Option<std::time::Duration>,
    pub(crate) latin1_file: bool,
    pub(crate) extras: Vec<crate::extra::ExtraFile>,
}

impl ClientSpec {
    /// A Windows client, online, without backups.
    pub fn new(name: &str) -> ClientSpec {
        ClientSpec {
            name: name.to_string(),
            online: true,
            windows: true,
            os_unknown: false,
            group: None,
            file_backups: 0,
            image_backups: 0,
            ip: None,
            version: None,
            server_confirms_restore: true,
            file_off: false,
            image_off: false,
            last_failed: false,
            aged_secs: 0,
            running: None,
            latin1_file: false,
            extras: Vec::new(),
        }
    }
    /// Online (connected) or offline.
    pub fn online(mut self, online: bool) -> Self {
        self.online = online;
        self
    }
    /// Windows client (image backups supported).
    pub fn windows(mut self) -> Self {
        self.windows = true;
        self
    }
    /// Linux client (`image_not_supported`).
    pub fn linux(mut self) -> Self {
        self.windows = false;
        self
    }
    /// A client record that never connected (empty OS/version strings, ip `"-"`), like one
    /// created with `add_client`.
    pub fn never_seen(mut self) -> Self {
        self.os_unknown = true;
        self.online = false;
        self
    }
    /// Put the client into settings group `name` (created if needed).
    pub fn group(mut self, name: &str) -> Self {
        self.group = Some(name.to_string());
        self
    }
    /// Number of pre-existing file and image backups (images only for Windows clients).
    pub fn backups(mut self, file: usize, image: usize) -> Self {
        self.file_backups = file;
        self.image_backups = image;
        self
    }
    /// Client IP.
    pub fn ip(mut self, ip: &str) -> Self {
        self.ip = Some(ip.to_string());
        self
    }
    /// Client software version.
    pub fn version(mut self, v: &str) -> Self {
        self.version = Some(v.to_string());
        self
    }
    /// File backups switched off for this client, as the web interface stores it: the
    /// client's own `update_freq_incr` and `update_freq_full` negated (`-18000`,
    /// `-2592000`). `status` then shows `file_disabled: true` and `file_ok: false`, whatever
    /// backups the client has, like the real server.
    pub fn file_backups_disabled(mut self) -> Self {
        self.file_off = true;
        self
    }
    /// Image backups switched off for this client (`update_freq_image_incr` and
    /// `update_freq_image_full` negated): `image_disabled: true`, `image_ok: false`.
    pub fn image_backups_disabled(mut self) -> Self {
        self.image_off = true;
        self
    }
    /// The last file backup failed after the existing ones: a stored log with an error,
    /// `file_ok: false` (the server's verdict) and one issue in `last_filebackup_issues`.
    pub fn last_backup_failed(mut self) -> Self {
        self.last_failed = true;
        self
    }
    /// Moves the client's backup history `secs` seconds into the past (a client whose last
    /// backup is days old, while the server's own verdict is still OK).
    pub fn backups_older_by(mut self, secs: i64) -> Self {
        self.aged_secs = secs.max(0);
        self
    }
    /// A full file backup of this client runs from the start and takes `d` (on the clock,
    /// whatever the time scale): an action to list, watch and stop.
    pub fn running_backup(mut self, d: std::time::Duration) -> Self {
        self.running = Some(d);
        self
    }
    /// Its file backups hold `/etc/caf\xE9-latin1.txt` (Linux clients), a name that is not
    /// UTF-8, sent as its raw bytes; its backup logs quote it (as seeded client-00009 does).
    pub fn latin1_file(mut self) -> Self {
        self.latin1_file = true;
        self
    }
    /// A file holding `content` in every file backup (`path` `/`-separated from the root of
    /// the backup, e.g. `/C/web/evil.html`; `\xHH` (80-FF) in it stands for that byte, as in
    /// [`crate::bytes::latin1`]). Folders on the way are made.
    pub fn file(self, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.file_versions(path, &[Some(content.into())])
    }
    /// A file whose content changes between backups: file backup `k` of the client (oldest
    /// first, the pre-existing ones and any made later) holds `versions[k]`, backups past the
    /// end hold the last; `None`: not in that backup. Its modification time is that of the
    /// backup where its content last changed, so unchanged copies look alike.
    pub fn file_versions(mut self, path: &str, versions: &[Option<Vec<u8>>]) -> Self {
        let v = versions
            .iter()
            .map(|c| c.as_ref().map(|b| std::sync::Arc::from(b.as_slice())))
            .collect();
        self.extras.push(crate::extra::ExtraFile::new(
            path,
            crate::extra::ExtraKind::Versions(v),
        ));
        self
    }
    /// A file of `len` generated bytes ([`crate::tree::generated`] of its seed) in every file
    /// backup, streamed piece by piece by downloads (a file of gigabytes is never held). Not
    /// for a ZIP of its folder (that is built in memory).
    pub fn large_file(mut self, path: &str, len: u64) -> Self {
        self.extras.push(crate::extra::ExtraFile::new(
            path,
            crate::extra::ExtraKind::Large(len),
        ));
        self
    }
    /// A folder of `n` small text files (`file-00001.txt`, ...) in every file backup.
    pub fn wide_folder(mut self, path: &str, n: usize) -> Self {
        self.extras.push(crate::extra::ExtraFile::new(
            path,
            crate::extra::ExtraKind::Folder(n),
        ));
        self
    }
    /// Restores to this client wait until a person at the client confirms them (the
    /// client's default, `--restore client-confirms`), answered with
    /// [`SimServer::answer_restore`](crate::SimServer::answer_restore) or
    /// `/_sim/confirm_restore`. By default the client lets the server confirm them.
    pub fn restores_confirmed_at_client(mut self) -> Self {
        self.server_confirms_restore = false;
        self
    }
}

/// Group names used by the seeded fleet.
pub const SEED_GROUPS: &[&str] = &["office", "servers"];

fn ensure_group(st: &mut State, name: &str) -> i64 {
    if let Some(g) = st.groups.values().find(|g| g.name == name) {
        return g.id;
    }
    let id = st.next_group_id;
    st.next_group_id += 1;
    st.groups.insert(
        id,
        Group {
            id,
            name: name.to_string(),
        },
    );
    id
}

fn add_history(st: &mut State, c: &mut Client, rng: &mut Rng, nfile: usize, nimage: usize) {
    let now = st.now();
    let base = 1_000_000_000 + (rng.below(30_000_000_000) as i64);
    // file backups: one per day ending 1-20 h ago
    let last = now - 3600 - rng.below(72_000) as i64;
    for k in 0..nfile {
        let t = last - ((nfile - 1 - k) as i64) * 86_400;
        let full = k == 0 || k % 7 == 0;
        let incremental = if full {
            0
        } else {
            c.file_backups
                .last()
                .map(|b| b.incremental + 1)
                .unwrap_or(1)
        };
        let size = if full {
            base
        } else {
            base / 100 + rng.below((base / 40) as u64) as i64
        };
        let duration = 60 + rng.below(3000) as i64;
        let id = st.next_file_backup_id;
        st.next_file_backup_id += 1;
        c.file_backups.push(FileBackup {
            id,
            backuptime: t,
            incremental,
            size_bytes: size,
            archived: false,
            archive_timeout: 0,
            delete_pending: false,
            duration,
            resumed: false,
        });
        let warnings = if rng.below(12) == 0 { 1 } else { 0 };
        st.add_log(StoredLog {
            id: 0,
            client_id: c.id,
            time: t + duration,
            errors: 0,
            warnings,
            image: false,
            incremental,
            resumed: false,
            restore: false,
            data: None,
        });
    }
    if nimage > 0 {
        let ibase = 20_000_000_000 + rng.below(60_000_000_000) as i64;
        let last = now - 7200 - rng.below(86_400 * 2) as i64;
        for k in 0..nimage {
            let t = last - ((nimage - 1 - k) as i64) * 7 * 86_400;
            let incremental = k as i64;
            let size = if k == 0 {
                ibase
            } else {
                ibase / 20 + rng.below((ibase / 20) as u64) as i64
            };
            let duration = 600 + rng.below(6000) as i64;
            let id = st.next_image_backup_id;
            st.next_image_backup_id += 1;
            c.image_backups.push(ImageBackup {
                id,
                backuptime: t,
                incremental,
                size_bytes: size,
                letter: "C:".into(),
                archived: false,
                archive_timeout: 0,
                delete_pending: false,
                duration,
            });
            st.add_log(StoredLog {
                id: 0,
                client_id: c.id,
                time: t + duration,
                errors: 0,
                warnings: 0,
                image: true,
                incremental,
                resumed: false,
                restore: false,
                data: None,
            });
        }
    }
    // occasionally a failed backup afterwards (log with errors, no backup row)
    if rng.below(15) == 0 {
        st.add_log(StoredLog {
            id: 0,
            client_id: c.id,
            time: now - 1800,
            errors: 1,
            warnings: 0,
            image: false,
            incremental: 1,
            resumed: false,
            restore: false,
            data: None,
        });
        c.file_ok = false;
        c.last_filebackup_issues = 1;
    }
}

fn fill_os(c: &mut Client, rng: &mut Rng, windows: bool) {
    if windows {
        c.os_simple = "windows".into();
        c.os_version = match rng.below(3) {
            0 => "Microsoft Windows 10 Pro (build 19045), 64-bit".into(),
            1 => "Microsoft Windows 11 Pro (build 22631), 64-bit".into(),
            _ => "Microsoft Windows Server 2022 Standard (build 20348), 64-bit".into(),
        };
        c.client_version = "2.5.25".into();
    } else {
        c.os_simple = "linux".into();
        c.os_version = "Debian GNU/Linux 12 (bookworm); Kernel 6.1.0-18-amd64 x86_64".into();
        c.client_version = "2.5.26".into();
        c.image_not_supported = true;
    }
}

/// Seed `n` deterministic clients named `client-00001` … (see the crate docs for the scheme).
pub fn seed_clients(st: &mut State, n: usize, seed: u64) {
    if n == 0 {
        return;
    }
    let gids: Vec<i64> = SEED_GROUPS.iter().map(|g| ensure_group(st, g)).collect();
    let now = st.now();
    for i in 1..=n {
        let id = st.next_client_id;
        let mut rng = Rng(mix(seed ^ (i as u64).wrapping_mul(0x9E37_79B9)));
        let mut c = Client::new(id, &format!("client-{i:05}"));
        c.tree_seed = rng.next_u64();
        let windows = !(i % 5 == 0 || i % 5 == 4);
        fill_os(&mut c, &mut rng, windows);
        c.online = i % 4 != 0;
        c.group_id = match i % 3 {
            1 => gids[0],
            2 => gids[1],
            _ => 0,
        };
        c.ip = if c.online {
            format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
        } else {
            "-".into()
        };
        c.lastseen = if c.online {
            now
        } else {
            now - 3600 - rng.below(86_400 * 3) as i64
        };
        c.uid = format!("{:016x}", rng.next_u64());
        c.authkey = rand_str(&mut rng, 10);
        c.delete_pending = Some(false);
        // client-00009, client-00029, ...: a Linux client with a Latin-1 file name.
        c.latin1_file = i % 20 == 9;
        c.file_ok = true;
        c.image_ok = windows;
        let nfile = 2 + rng.below(6) as usize;
        let nimage = if windows {
            1 + rng.below(3) as usize
        } else {
            0
        };
        add_history(st, &mut c, &mut rng, nfile, nimage);
        st.insert_client(c);
    }
}

/// Add one explicit client.
pub fn add_spec(st: &mut State, spec: &ClientSpec, seed: u64) -> i64 {
    let id = st.next_client_id;
    let mut rng = Rng(mix(seed ^ crate::tree::hash_str(7, &spec.name)));
    let mut c = Client::new(id, &spec.name);
    c.tree_seed = rng.next_u64();
    if !spec.os_unknown {
        fill_os(&mut c, &mut rng, spec.windows);
        c.uid = format!("{:016x}", rng.next_u64());
    }
    c.server_confirms_restore = spec.server_confirms_restore;
    c.latin1_file = spec.latin1_file;
    c.extras = std::sync::Arc::new(spec.extras.clone());
    if let Some(v) = &spec.version {
        c.client_version = v.clone();
    }
    c.online = spec.online;
    c.ip = match &spec.ip {
        Some(ip) => ip.clone(),
        None if spec.online => "127.0.0.1".into(),
        None => "-".into(),
    };
    c.lastseen = st.now();
    c.authkey = rand_str(&mut rng, 10);
    if let Some(g) = &spec.group {
        c.group_id = ensure_group(st, g);
    }
    let nimage = if spec.windows { spec.image_backups } else { 0 };
    if spec.file_backups > 0 || nimage > 0 {
        add_history(st, &mut c, &mut rng, spec.file_backups, nimage);
        c.file_ok = spec.file_backups > 0;
        c.image_ok = nimage > 0;
    }
    if spec.aged_secs > 0 {
        for b in &mut c.file_backups {
            b.backuptime -= spec.aged_secs;
        }
        for b in &mut c.image_backups {
            b.backuptime -= spec.aged_secs;
        }
    }
    if spec.last_failed {
        st.add_log(StoredLog {
            id: 0,
            client_id: c.id,
            time: st.now() - 600,
            errors: 1,
            warnings: 0,
            image: false,
            incremental: 1,
            resumed: false,
            restore: false,
            data: None,
        });
        c.file_ok = false;
        c.last_filebackup_issues = 1;
    }
    let off: &[(&str, &str)] = match (spec.file_off, spec.image_off) {
        (true, true) => &[
            ("update_freq_incr", "-18000"),
            ("update_freq_full", "-2592000"),
            ("update_freq_image_incr", "-604800"),
            ("update_freq_image_full", "-5184000"),
        ],
        (true, false) => &[
            ("update_freq_incr", "-18000"),
            ("update_freq_full", "-2592000"),
        ],
        (false, true) => &[
            ("update_freq_image_incr", "-604800"),
            ("update_freq_image_full", "-5184000"),
        ],
        (false, false) => &[],
    };
    for (key, value) in off {
        st.settings.entry(id).or_default().insert(
            (*key).to_string(),
            crate::state::SettingRow {
                value: (*value).to_string(),
                value_client: String::new(),
                use_: 2,
            },
        );
    }
    st.insert_client(c);
    if let Some(d) = spec.running {
        if st.start_backup_process(id, "full_file") {
            if let Some(p) = st.processes.last_mut() {
                p.duration_ms = (d.as_millis() as i64).max(1);
            }
        }
    }
    id
}

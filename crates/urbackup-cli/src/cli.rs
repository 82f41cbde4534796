//! The command line (clap derive).

use crate::config::ConnArgs;
use crate::output::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Read, write and monitor UrBackup servers.
#[derive(Debug, Parser)]
#[command(
    name = "urbackup",
    version,
    about = "Read, write and monitor UrBackup servers from a terminal, a script, cron or a monitoring system",
    after_help = "Try it without a server: urbackup demo\n\nConnection: --url/--user or URBACKUP_URL, URBACKUP_USER, URBACKUP_PASSWORD; or profiles in the config file (--profile NAME). The password is never taken from the command line.",
    propagate_version = true
)]
pub struct Cli {
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,

    /// Output format: table (for people), json (stable, for scripts) or csv
    #[arg(long, global = true, value_enum, default_value_t = Format::Table, value_name = "FORMAT")]
    pub output: Format,

    /// Log the library's HTTP calls to stderr (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clients and their backup status
    Status(StatusArgs),
    /// Add, remove and inspect clients
    #[command(subcommand)]
    Client(ClientCmd),
    /// Extra clients: host names the server scans for clients
    #[command(subcommand, name = "extra-client")]
    ExtraClient(ExtraClientCmd),
    /// Start backups
    #[command(subcommand)]
    Backup(BackupCmd),
    /// List, browse, download, restore, archive and delete backups
    #[command(subcommand)]
    Backups(BackupsCmd),
    /// Running actions (backups, restores, server jobs)
    #[command(subcommand)]
    Actions(ActionsCmd),
    /// Stored backup logs and the live log
    #[command(subcommand)]
    Logs(LogsCmd),
    /// Storage used per client
    Usage,
    /// Global, group and client settings
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Users of the web interface
    #[command(subcommand)]
    Users(UsersCmd),
    /// Client settings groups
    #[command(subcommand)]
    Groups(GroupsCmd),
    /// Download a client installer (adds the client when it does not exist)
    Installer(InstallerArgs),
    /// The server's identity, key fingerprint and API version
    Identity,
    /// Print shell completions
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Start a simulated server and take a short tour (no server or network needed)
    Demo(DemoArgs),
    /// Nagios/Icinga/Checkmk plugin: one status line, perfdata, exit 0/1/2/3
    Check(CheckArgs),
    /// Serve Prometheus metrics over HTTP (one server, several profiles or --all-profiles)
    Exporter(ExporterArgs),
    /// The fleet at a glance: a summary per server and the clients that need attention
    Report(ReportArgs),
    /// Zabbix: low-level discovery JSON of the clients, or their item values
    Zabbix(ZabbixArgs),
    /// A web console for the servers given (one, several profiles or --all-profiles); `console
    /// user ...` manages its users
    Console(Box<ConsoleArgs>),
    /// Forget the cached session of this server and user (--all: of every server)
    Logout(LogoutArgs),
    /// Write the man pages and shell completions, generated from this definition (for
    /// packages: scripts/dist.sh)
    #[command(hide = true, name = "generate-assets")]
    GenerateAssets {
        /// Directory to write `man/*.1` and `completions/{bash,zsh,fish}/` into
        #[arg(value_name = "DIR")]
        out: PathBuf,
    },
}

impl Command {
    /// The name as typed, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status(_) => "status",
            Command::Client(_) => "client",
            Command::ExtraClient(_) => "extra-client",
            Command::Backup(_) => "backup",
            Command::Backups(_) => "backups",
            Command::Actions(_) => "actions",
            Command::Logs(_) => "logs",
            Command::Usage => "usage",
            Command::Settings(_) => "settings",
            Command::Users(_) => "users",
            Command::Groups(_) => "groups",
            Command::Installer(_) => "installer",
            Command::Identity => "identity",
            Command::Completions { .. } => "completions",
            Command::Demo(_) => "demo",
            Command::Check(_) => "check",
            Command::Exporter(_) => "exporter",
            Command::Report(_) => "report",
            Command::Zabbix(_) => "zabbix",
            Command::Console(_) => "console",
            Command::Logout(_) => "logout",
            Command::GenerateAssets { .. } => "generate-assets",
        }
    }
}

/// `status`.
#[derive(Debug, Clone, Args, Default)]
pub struct StatusArgs {
    /// Only clients whose file or image backups failed (disabled kinds are not failures)
    #[arg(long)]
    pub failed: bool,
    /// Only offline clients
    #[arg(long)]
    pub offline: bool,
    /// Only clients without a file backup for this long, or never (e.g. 26h, 3d; a plain
    /// number is days: 3 = 3d)
    #[arg(long, value_name = "AGE", value_parser = parse_stale)]
    pub stale: Option<i64>,
    /// Only clients of this group ("" or "default" for the default group)
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// Only this client (repeatable)
    #[arg(long, value_name = "NAME")]
    pub client: Vec<String>,
    /// The health rule's limits (a FILE/IMAGE column says `stale` past them).
    #[command(flatten)]
    pub health: HealthArgs,
}

/// The limits of the health rule (`urbackup::HealthPolicy`), shared by `status`, `check`,
/// `report`, `zabbix` and `exporter`.
#[derive(Debug, Clone, Default, Args)]
pub struct HealthArgs {
    /// A client's last file backup older than this is stale, WARNING (e.g. 26h, 3d)
    #[arg(long, value_name = "AGE", value_parser = parse_duration)]
    pub file_warning: Option<i64>,
    /// A client's last file backup older than this is stale, CRITICAL
    #[arg(long, value_name = "AGE", value_parser = parse_duration)]
    pub file_critical: Option<i64>,
    /// A client's last image backup older than this is stale, WARNING
    #[arg(long, value_name = "AGE", value_parser = parse_duration)]
    pub image_warning: Option<i64>,
    /// A client's last image backup older than this is stale, CRITICAL
    #[arg(long, value_name = "AGE", value_parser = parse_duration)]
    pub image_critical: Option<i64>,
    /// How bad a kind that was never backed up is (default: warning)
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub never: Option<SeverityArg>,
    /// Clients with an older version are counted as outdated (the web API does not report the
    /// server's version; UrBackup numbers clients apart: client 2.5.26 goes with server
    /// 2.5.33, so give the client version you expect)
    #[arg(long, alias = "min-client-version", value_name = "VERSION")]
    pub server_version: Option<String>,
}

impl HealthArgs {
    /// The library's policy.
    pub fn policy(&self) -> urbackup::HealthPolicy {
        urbackup::HealthPolicy {
            file_warning: self.file_warning,
            file_critical: self.file_critical,
            image_warning: self.image_warning,
            image_critical: self.image_critical,
            never: self.never.map(SeverityArg::severity),
            server_version: self.server_version.clone(),
        }
    }
}

/// A severity on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Not a problem.
    Ok,
    /// WARNING.
    Warning,
    /// CRITICAL.
    Critical,
}

impl SeverityArg {
    fn severity(self) -> urbackup::Severity {
        match self {
            SeverityArg::Ok => urbackup::Severity::Ok,
            SeverityArg::Warning => urbackup::Severity::Warning,
            SeverityArg::Critical => urbackup::Severity::Critical,
        }
    }
}

/// `client ...`.
#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Add an Internet client; prints its id and auth key
    Add {
        /// Client name
        name: String,
    },
    /// Mark clients for removal (removed with their backups at the next cleanup)
    Remove {
        /// Client names
        #[arg(required = true)]
        names: Vec<String>,
        /// Undo a pending removal instead
        #[arg(long)]
        cancel: bool,
    },
    /// Everything the server says about one client
    Show {
        /// Client name
        name: String,
    },
    /// Print the client's Internet auth key
    Authkey {
        /// Client name
        name: String,
    },
    /// Move a client into a settings group ("default" for the default group)
    Group {
        /// Client name
        name: String,
        /// Group name
        group: String,
    },
}

/// `extra-client ...`.
#[derive(Debug, Subcommand)]
pub enum ExtraClientCmd {
    /// List extra clients
    List,
    /// Add a host name or address to scan
    Add {
        /// Host name or IP address
        host: String,
    },
    /// Remove an extra client by host name or id
    Remove {
        /// Host name or id
        host: String,
    },
}

/// `backup ...`.
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Start a backup of one or more clients (one request for all)
    Start(BackupStartArgs),
}

/// `backup start`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 every client got a new backup (with --wait) or had it queued (without); 1 a client was offline, not allowed, failed, timed out (--max-wait) or ended unknown; 4 otherwise fine, but a client cannot do this kind of backup (`unsupported`: image backups of a client without image support)."
)]
pub struct BackupStartArgs {
    /// Client names
    #[arg(required = true)]
    pub clients: Vec<String>,
    /// Incremental backup (default)
    #[arg(long, conflicts_with = "full")]
    pub incr: bool,
    /// Full backup
    #[arg(long)]
    pub full: bool,
    /// File backup (default)
    #[arg(long, conflicts_with = "image")]
    pub file: bool,
    /// Image backup
    #[arg(long)]
    pub image: bool,
    /// Wait until the backups are finished, showing progress, then report the result
    #[arg(long)]
    pub wait: bool,
    /// Seconds between two progress polls while waiting
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub interval: f64,
    /// Give up waiting after this long (e.g. 30m, 6h; default: no limit)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_wait: Option<i64>,
}

/// `backups ...`.
#[derive(Debug, Subcommand)]
pub enum BackupsCmd {
    /// File and image backups of a client, newest first
    List {
        /// Client name
        client: String,
        /// Only file backups
        #[arg(long, conflicts_with = "images")]
        files: bool,
        /// Only image backups
        #[arg(long)]
        images: bool,
    },
    /// List a folder of a file backup
    Browse {
        /// Client name
        client: String,
        /// Backup: id, `latest`, or `image:ID`
        backup: String,
        /// Folder (default: the root)
        #[arg(default_value = "/")]
        path: String,
    },
    /// Every copy of a file across the client's file backups, newest first, the ones that
    /// changed marked
    #[command(
        after_help = "One request for the client's backup list, then one listing of the file's folder per file backup (4 at once). A backup holds the file when that listing names it (not as a folder). CHANGED: the copy differs from the next older one (by its hash where the server gives one, else by size and modification time); the oldest copy is always marked."
    )]
    Versions {
        /// Client name
        client: String,
        /// The file, e.g. C/docs/report.xlsx
        path: String,
    },
    /// Download a file (or with --zip a folder) of a backup
    #[command(
        after_help = "Progress on stderr: a bar (bytes, speed, ETA) on a terminal; otherwise plain lines: one at the start, one per 10 % (at most one a second, at least one every 30 s; every 10 s when the size is unknown, as for --zip) and one at the end. The result goes to stdout."
    )]
    Download {
        /// Client name
        client: String,
        /// Backup: id, `latest`, or `image:ID`
        backup: String,
        /// File or folder in the backup
        path: String,
        /// Where to write it
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: PathBuf,
        /// Download a folder as a ZIP file
        #[arg(long)]
        zip: bool,
    },
    /// Restore files of a backup to the (online) client
    Restore {
        /// Client name
        client: String,
        /// Backup: id or `latest` (file backups only)
        backup: String,
        /// File or folder to restore
        path: String,
        /// Wait until the restore is finished and report its outcome from its log
        #[arg(long)]
        wait: bool,
        /// Seconds between two progress polls while waiting
        #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
        interval: f64,
        /// With --wait: give up waiting after this long (e.g. 90s, 30m; exit code 1, the
        /// restore goes on)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "wait")]
        max_wait: Option<i64>,
    },
    /// Archive a backup (kept until un-archived)
    Archive {
        /// Client name
        client: String,
        /// Backup: id, `latest`, or `image:ID`
        backup: String,
    },
    /// Un-archive a backup
    Unarchive {
        /// Client name
        client: String,
        /// Backup: id, `latest`, or `image:ID`
        backup: String,
    },
    /// Mark a backup for deletion at the next cleanup
    Delete {
        /// Client name
        client: String,
        /// Backup: id, `latest`, or `image:ID`
        backup: String,
        /// Cancel a pending deletion instead
        #[arg(long)]
        cancel: bool,
    },
}

/// `actions ...`.
#[derive(Debug, Subcommand)]
pub enum ActionsCmd {
    /// Running actions
    List,
    /// Stop a running action by its id (see `actions list`)
    Stop {
        /// Action id
        id: i64,
        /// The client, when ids are ambiguous
        #[arg(long)]
        client: Option<String>,
    },
    /// Follow running actions with progress bars (plain lines when not on a terminal)
    Watch {
        /// Seconds between two polls
        #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
        interval: f64,
        /// Exit when no action is running
        #[arg(long)]
        until_idle: bool,
    },
}

/// `logs ...`.
#[derive(Debug, Subcommand)]
pub enum LogsCmd {
    /// Stored backup logs, newest first (at most 50)
    List {
        /// Only logs of this client (repeatable)
        #[arg(long)]
        client: Vec<String>,
        /// Only logs with lines at this level or worse (default: error)
        #[arg(long, value_enum, default_value_t = Level::Error)]
        level: Level,
    },
    /// The lines of one stored log
    Show {
        /// Log id
        id: i64,
    },
    /// The live log of the server, or of one client
    Tail {
        /// Client name (default: the server log)
        client: Option<String>,
        /// Keep printing new lines
        #[arg(short, long)]
        follow: bool,
    },
}

/// Log level of `logs list --level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Logs with errors
    Error,
    /// Logs with warnings or errors
    Warning,
    /// All logs
    Info,
}

/// `settings ...`.
#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// Show settings (all, or the given keys)
    Get {
        #[command(flatten)]
        target: SettingsTarget,
        /// Only these keys
        keys: Vec<String>,
    },
    /// Change settings: KEY=VALUE... in one save; only those keys change
    Set {
        #[command(flatten)]
        target: SettingsTarget,
        /// KEY=VALUE pairs
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
    /// Compare a file of key = value with the server
    Diff {
        #[command(flatten)]
        target: SettingsTarget,
        /// TOML (key = value) or JSON (object, or the rows of `settings get --output json`)
        file: PathBuf,
    },
    /// Apply a file of key = value: shows the diff, then saves only the keys that differ
    Apply {
        #[command(flatten)]
        target: SettingsTarget,
        /// TOML (key = value) or JSON (object, or the rows of `settings get --output json`)
        file: PathBuf,
        /// Show what would change, change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

/// Whose settings: global (default), a client's or a group's.
#[derive(Debug, Clone, Args, Default)]
pub struct SettingsTarget {
    /// Settings of this client
    #[arg(long, conflicts_with = "group")]
    pub client: Option<String>,
    /// Settings of this group
    #[arg(long)]
    pub group: Option<String>,
}

/// `users ...`.
#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// Users and their rights
    List,
    /// Add a user; the password is asked for, or read from stdin with --password-stdin
    Add {
        /// User name
        name: String,
        /// Rights (required): `domain=right;...`, e.g. `status=all;logs=1,2`, or `all` for
        /// an administrator
        #[arg(long, value_name = "RIGHTS")]
        rights: String,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user
    Remove {
        /// User name
        name: String,
    },
    /// Set a user's password (asked for, or --password-stdin)
    Passwd {
        /// User name
        name: String,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `groups ...`.
#[derive(Debug, Subcommand)]
pub enum GroupsCmd {
    /// Client groups
    List,
    /// Add a group
    Add {
        /// Group name
        name: String,
    },
    /// Remove a group (its clients move to the default group)
    Remove {
        /// Group name
        name: String,
    },
}

/// `installer`.
#[derive(Debug, Clone, Args)]
pub struct InstallerArgs {
    /// Client name (added when it does not exist)
    pub client: String,
    /// Operating system of the installer
    #[arg(long, value_enum)]
    pub os: InstallerOs,
    /// Where to write the installer
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: PathBuf,
}

/// `installer --os`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InstallerOs {
    /// Windows (.exe)
    Windows,
    /// Linux (.sh)
    Linux,
    /// macOS (.sh)
    Mac,
}

/// `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Keep the simulated server running after the tour, printing its URL (without the
    /// console)
    #[arg(long)]
    pub keep: bool,
    /// After the tour, serve the web console over a simulated fleet even when stdout is not
    /// a terminal (on a terminal it does so by default)
    #[arg(long, conflicts_with = "no_console")]
    pub console: bool,
    /// End after the command-line tour, also on a terminal
    #[arg(long)]
    pub no_console: bool,
    /// Address of the demo console
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,
}

/// `check`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (server unreachable, login failed, any error).\nCost: one `status` request after the login.\nExample: urbackup check --file-warning 26h --file-critical 3d --offline-warning 1"
)]
pub struct CheckArgs {
    /// The health rule's limits.
    #[command(flatten)]
    pub health: HealthArgs,
    /// WARNING from this many clients with failed backups (the server's own verdict)
    #[arg(long, value_name = "COUNT")]
    pub failed_warning: Option<usize>,
    /// CRITICAL from this many clients with failed backups (default 1)
    #[arg(long, value_name = "COUNT")]
    pub failed_critical: Option<usize>,
    /// WARNING from this many offline clients
    #[arg(long, value_name = "COUNT")]
    pub offline_warning: Option<usize>,
    /// CRITICAL from this many offline clients
    #[arg(long, value_name = "COUNT")]
    pub offline_critical: Option<usize>,
    /// Only clients whose name matches this regular expression (e.g. `^web-`, `^alpha$`)
    #[arg(long, value_name = "REGEX")]
    pub client: Option<String>,
    /// Leave out clients whose name matches this regular expression
    #[arg(long, value_name = "REGEX")]
    pub exclude: Option<String>,
    /// Ignore failed image backups (count file backups only)
    #[arg(long)]
    pub ignore_images: bool,
    /// Output: one Nagios/Icinga line with perfdata, or Checkmk local-check lines (one
    /// service per client)
    #[arg(long, value_enum, default_value_t = CheckFormat::Nagios, value_name = "FORMAT")]
    pub format: CheckFormat,
    /// With --format checkmk: each client's service in a piggyback section for the host of
    /// the client's name (`<<<<name>>>>`)
    #[arg(long)]
    pub piggyback: bool,
}

/// The output of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// `URBACKUP STATE - summary | perfdata` (Nagios, Icinga, Naemon, Checkmk's classic checks)
    Nagios,
    /// Checkmk local checks: `<status> "<service>" <perfdata> <text>`, one line per client
    Checkmk,
}

/// The name of a server given with `--url`, in the fleet commands (a profile's server is
/// named by its profile).
#[derive(Debug, Clone, Default, Args)]
pub struct FleetName {
    /// The name of the server given with --url, in labels, pages and their addresses
    /// (default: its host and port, e.g. backup.example.com:55414); a profile's server is
    /// named by its profile
    #[arg(long = "name", value_name = "NAME")]
    pub name: Option<String>,
}

/// `report`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Formats: --output table (default), json, csv, markdown, html (one self-contained file: inline CSS, no scripts, for a mail).\nExit codes like `check`: 0 all fine, 1 something needs a look (warning), 2 critical (failed backups, an unreachable server), 3 nothing could be read.\nExample (cron mails only on trouble): urbackup --all-profiles report --file-warning 26h --output html > fleet.html || mail-it fleet.html"
)]
pub struct ReportArgs {
    /// The health rule's limits.
    #[command(flatten)]
    pub health: HealthArgs,
    /// The name of a server given with --url.
    #[command(flatten)]
    pub server: FleetName,
    /// Write the report to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `zabbix`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Discovery: `urbackup zabbix discovery` prints {\"data\": [{\"{#SERVER}\": ..., \"{#CLIENT}\": ...}, ...]} for a Zabbix low-level discovery rule.\nValues: `urbackup zabbix values` prints one JSON object keyed by server and client with each client's health, for a master item and dependent items (JSONPath $.servers.SERVER.clients.CLIENT.file_state)."
)]
pub struct ZabbixArgs {
    /// What to print
    #[arg(value_enum)]
    pub what: ZabbixWhat,
    /// The health rule's limits.
    #[command(flatten)]
    pub health: HealthArgs,
    /// The name of a server given with --url.
    #[command(flatten)]
    pub server: FleetName,
}

/// `zabbix discovery` or `zabbix values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ZabbixWhat {
    /// Low-level discovery JSON
    Discovery,
    /// Item values
    Values,
}

/// `exporter`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Servers: one (--url or --profile), several (--profile A --profile B) or every profile (--all-profiles); every series has the label server=\"<profile>\", a server that does not answer gives urbackup_up 0 and the others are still served.\n\nEndpoints: /metrics (OpenMetrics text format, streamed), / (a short page).\n\nCost of one scrape per server, whatever the number of clients: at most 3 + K requests, K = --backup-refresh-per-scrape: status, progress and usage (sent at once), then the backup lists (`backups`, one request per client, 4 at a time) of at most K clients; plus a login when the session has expired. Without an answer to status, only the 3.\n\nBackup counts (urbackup_client_file_backups, urbackup_client_image_backups, sizes of the newest backups) come from a cache those K requests refresh in rotation: never-read clients first, then clients whose last backup time changed, then the oldest counts. With N clients, every client has counts after ceil(N/K) scrapes and they are refreshed about every N/K scrapes; urbackup_backup_counts_clients and urbackup_backup_counts_age_seconds say how far it got.\n\nThe exporter logs in once and keeps its session."
)]
pub struct ExporterArgs {
    /// Read these options from a TOML file: each option is the key of its name with `_`
    /// for `-` (`listen = "127.0.0.1:9554"`, `all_profiles = true`); the command line wins
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:9554", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Backup lists read per scrape (one `backups` request each) for the backup counts; 0: no
    /// counts
    #[arg(long, default_value_t = 8, value_name = "K")]
    pub backup_refresh_per_scrape: usize,
    /// The health rule's limits (urbackup_client_backup_state).
    #[command(flatten)]
    pub health: HealthArgs,
    /// The name of a server given with --url.
    #[command(flatten)]
    pub server: FleetName,
}

/// `console`.
#[derive(Debug, Clone, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "First add a user: urbackup console user add NAME --role admin --password-stdin\nThen: urbackup --all-profiles console --listen 127.0.0.1:8080\nRoles: viewer (reads), operator (also starts and stops backups), admin (also manages console users). A viewer or operator may see some servers only: console user add NAME --role operator --servers a,b [--groups office]. Directory users: --ldap-url ldap://HOST:389 --ldap-base DN --ldap-role GROUP_DN=ROLE. The servers' credentials stay in the profiles on this host; browsers only ever talk to the console.\nBehind a reverse proxy that terminates TLS, pass --behind-proxy (Secure cookies, client address from X-Forwarded-For) and --public-url https://NAME.\nSecurity events (failed and refused logins, lock-outs, user changes, ended sessions) are logged to stderr by default."
)]
pub struct ConsoleArgs {
    /// Manage the console's users instead of serving
    #[command(subcommand)]
    pub cmd: Option<ConsoleCmd>,
    /// Read these options from a TOML file: each option is the key of its name with `_`
    /// for `-` (`listen = "127.0.0.1:8080"`, `all_profiles = true`); the command line wins
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,
    /// The console's database: users, sessions, the backup history it has seen (default:
    /// console.sqlite3 in the platform's data directory, e.g. ~/.local/share/urbackup)
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Time between two polls of a server
    #[arg(long, default_value = "30s", value_name = "AGE", value_parser = parse_duration)]
    pub interval: i64,
    /// Serve HTTPS with this certificate chain (PEM; with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A reverse proxy terminates TLS in front of the console: cookies are marked Secure and
    /// the login limit counts the address the proxy saw (the last X-Forwarded-For entry;
    /// see --trusted-proxies)
    #[arg(long)]
    pub behind_proxy: bool,
    /// The number of reverse proxies in front of the console (implies --behind-proxy): the
    /// login limit counts the N-th X-Forwarded-For entry from the right, the address the
    /// outermost proxy saw
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=10))]
    pub trusted_proxies: Option<u8>,
    /// The URL users reach the console at (e.g. https://backup.example.com): requests for any
    /// other host name are refused (DNS rebinding); an https URL also turns on Secure cookies
    /// and HSTS. Without it, the console answers the host of --listen (a loopback address
    /// also as localhost; a wildcard address any IP address, but no name)
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Open connections at most (default: from the file limit, less 128, at most 4096;
    /// further connections wait)
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Also serve Prometheus metrics at /metrics (no login, the whole fleet whatever the
    /// users' scopes: let only your monitoring reach it), from the console's polls
    #[arg(long)]
    pub metrics: bool,
    /// Directory logins: the LDAP or Active Directory server (ldap://HOST:PORT or
    /// ldaps://HOST:PORT); local console users keep working beside it
    #[arg(long, value_name = "URL")]
    pub ldap_url: Option<String>,
    /// Upgrade the ldap:// connection with StartTLS before anything is sent
    #[arg(long, requires = "ldap_url")]
    pub ldap_starttls: bool,
    /// Extra CA certificates (PEM) to trust for ldaps:// and StartTLS, besides the system's
    #[arg(long, value_name = "FILE", requires = "ldap_url")]
    pub ldap_ca_file: Option<PathBuf>,
    /// Where users and groups are searched (e.g. dc=example,dc=org)
    #[arg(long, value_name = "DN", requires = "ldap_url")]
    pub ldap_base: Option<String>,
    /// The service account that searches for users (with --ldap-bind-password-file; without
    /// it, an anonymous search)
    #[arg(long, value_name = "DN", requires_all = ["ldap_url", "ldap_bind_password_file"])]
    pub ldap_bind_dn: Option<String>,
    /// A file whose first line is the password of --ldap-bind-dn (readable by the console's
    /// account only)
    #[arg(long, value_name = "FILE", requires = "ldap_bind_dn")]
    pub ldap_bind_password_file: Option<PathBuf>,
    /// The filter that finds a user, {user} standing for the typed name (escaped as RFC 4515
    /// asks); (sAMAccountName={user}) for Active Directory
    #[arg(
        long,
        value_name = "FILTER",
        default_value = "(uid={user})",
        requires = "ldap_url"
    )]
    pub ldap_user_filter: String,
    /// A directory group's role, GROUP_DN=viewer|operator|admin (repeatable; the highest of a
    /// user's groups wins; a directory user in no such group is refused)
    #[arg(long, value_name = "GROUP_DN=ROLE", requires = "ldap_url")]
    pub ldap_role: Vec<String>,
    /// A directory group's servers, GROUP_DN=SERVER,SERVER or GROUP_DN=* (repeatable; when
    /// given, a directory user who is not an admin sees the servers of their groups, and one
    /// in no such group is refused)
    #[arg(long, value_name = "GROUP_DN=SERVERS", requires = "ldap_url")]
    pub ldap_scope: Vec<String>,
    /// Local console users without a second factor (TOTP) must set one up before anything
    /// else
    #[arg(long)]
    pub require_totp: bool,
    /// The health rule's limits (and the compliance RPOs: each kind's warning age).
    #[command(flatten)]
    pub health: HealthArgs,
    /// The name of a server given with --url.
    #[command(flatten)]
    pub server: FleetName,
}

/// `console user ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ConsoleCmd {
    /// Console users (separate from the servers' accounts)
    #[command(subcommand)]
    User(ConsoleUserCmd),
}

/// A console role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Reads every page
    Viewer,
    /// Also starts and stops backups
    Operator,
    /// Also manages console users
    Admin,
}

/// `console user ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ConsoleUserCmd {
    /// Add a user
    Add {
        /// Login name
        name: String,
        /// What the user may do
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The console's database
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Read the password from the first line of standard input (else asked twice on the
        /// terminal)
        #[arg(long)]
        password_stdin: bool,
        /// Only these servers (comma-separated names as the console shows them); default:
        /// every server. Not for admins
        #[arg(long, value_name = "NAME,NAME")]
        servers: Option<String>,
        /// Within them, only the clients of these UrBackup groups (comma-separated; the
        /// default group is `(default)`); default: every client
        #[arg(long, value_name = "GROUP,GROUP")]
        groups: Option<String>,
    },
    /// Set what a user sees (counts from their next request): --servers and --groups, or
    /// --all for every server
    Scope {
        /// Login name
        name: String,
        /// Only these servers (comma-separated)
        #[arg(long, value_name = "NAME,NAME", required_unless_present = "all")]
        servers: Option<String>,
        /// Within them, only the clients of these groups (comma-separated)
        #[arg(long, value_name = "GROUP,GROUP", conflicts_with = "all")]
        groups: Option<String>,
        /// Every server and client again
        #[arg(long, conflicts_with = "servers")]
        all: bool,
        /// The console's database
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
    /// Remove a user's second factor (TOTP), e.g. after a lost phone: their sessions end, and
    /// they log in with their password (under --require-totp they set up a new one first)
    TotpReset {
        /// Login name
        name: String,
        /// The console's database
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
    /// List the users
    List {
        /// The console's database
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
    /// Remove a user (not the last admin)
    Remove {
        /// Login name
        name: String,
        /// The console's database
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
    /// Set a user's password (ends their sessions)
    Passwd {
        /// Login name
        name: String,
        /// The console's database
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role
    Role {
        /// Login name
        name: String,
        /// The new role
        #[arg(value_enum)]
        role: RoleArg,
        /// The console's database
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
}

/// `logout`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The CLI keeps the session of each server and user between runs (see --no-session-cache); logout deletes it here. UrBackup has no logout action: the server forgets the session by itself after 30 minutes without a request, or when it restarts."
)]
pub struct LogoutArgs {
    /// Forget the cached sessions of every server and user
    #[arg(long)]
    pub all: bool,
}

/// Parses `26h`, `3d`...
pub fn parse_duration(s: &str) -> Result<i64, String> {
    crate::output::parse_duration(s)
}

/// `status --stale`: a duration like the other age options (`26h`, `3d`), or a plain number
/// of days (`3`, `1.5`: what the option took before it took durations).
pub fn parse_stale(s: &str) -> Result<i64, String> {
    match s.trim().parse::<f64>() {
        Ok(days) if days.is_finite() && days >= 0.0 => Ok((days * 86_400.0).round() as i64),
        Ok(_) => Err(format!(
            "invalid age `{s}`: use e.g. 26h, 3d, or a number of days"
        )),
        Err(_) => parse_duration(s),
    }
}

/// A duration as typed back (`3d`, `26h`), or in seconds where that would round.
fn exact_duration(secs: i64) -> String {
    let human = crate::output::human_duration(secs);
    if parse_duration(&human) == Ok(secs) {
        human.replace(' ', "")
    } else {
        format!("{secs}s")
    }
}

impl Cli {
    /// Checks what clap cannot: each warning limit below its critical limit.
    pub fn validate(&self) -> Result<(), String> {
        let (health, check) = match &self.command {
            Command::Status(a) => (&a.health, None),
            Command::Check(a) => (&a.health, Some(a)),
            Command::Report(a) => (&a.health, None),
            Command::Zabbix(a) => (&a.health, None),
            Command::Exporter(a) => (&a.health, None),
            Command::Console(a) if a.cmd.is_none() => (&a.health, None),
            _ => return Ok(()),
        };
        let ages = [
            ("file", health.file_warning, health.file_critical),
            ("image", health.image_warning, health.image_critical),
        ];
        for (kind, warning, critical) in ages {
            if let (Some(w), Some(c)) = (warning, critical) {
                if w >= c {
                    return Err(format!(
                        "--{kind}-warning ({}) must be shorter than --{kind}-critical ({}): a backup turns WARNING first, then CRITICAL",
                        exact_duration(w),
                        exact_duration(c)
                    ));
                }
            }
        }
        if let Some(a) = check {
            let counts = [
                ("failed", a.failed_warning, a.failed_critical),
                ("offline", a.offline_warning, a.offline_critical),
            ];
            for (what, warning, critical) in counts {
                // 0 switches a limit off.
                if let (Some(w), Some(c)) = (warning, critical) {
                    if w > 0 && c > 0 && w >= c {
                        return Err(format!(
                            "--{what}-warning ({w}) must be below --{what}-critical ({c}): WARNING comes first, then CRITICAL (0 switches a limit off)"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

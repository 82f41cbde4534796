//! # urbackup
//!
//! A client for the JSON web API of the [UrBackup](https://www.urbackup.org) server: the API
//! its web interface uses. Async first (tokio), with a blocking facade of the same names
//! ([`blocking::UrbackupServer`], feature `blocking`, on by default).
//!
//! It carries two surfaces, both on [`UrbackupServer`]:
//!
//! * the **typed** surface: models with every field ([`ClientStatus`], [`BackupEntry`]...),
//!   `Result<_, `[`UrbackupError`]`>`;
//! * the **legacy** surface of the specification this crate implements: raw JSON
//!   (`serde_json::Value`), `None` / `false` on failure (logged through `tracing`).
//!
//! ## Quick start
//!
//! ```no_run
//! use urbackup::{BackupType, UrbackupServer};
//!
//! # async fn demo() -> Result<(), urbackup::UrbackupError> {
//! let server = UrbackupServer::new("http://127.0.0.1:55414/x", "admin", "secret")?;
//! for c in server.get_client_statuses().await? {
//!     println!("{:20} online={} file_ok={}", c.name, c.online, c.file_ok);
//! }
//! let started = server.start_backup_typed("laptop", BackupType::IncrFile).await?;
//! println!("queued: {started}");
//! # Ok(()) }
//! ```
//!
//! Try it with no server: `cargo run -p urbackup-sim -- --listen 127.0.0.1:55414 --admin
//! admin:secret --clients 10` starts a simulated one.
//!
//! ## Behaviour on the wire
//!
//! * **One session, shared.** The first call logs in: with a user name, `salt` + a
//!   PBKDF2-SHA256 or legacy MD5 proof (or the clear password with
//!   [`UrbackupServerBuilder::plain_password_login`] for LDAP), then the anonymous login if
//!   the server does not know the user; without one, anonymously. Clones share the session;
//!   concurrent callers wait for one login. When the server answers with its
//!   expired-session shape (after 30 minutes idle, or a restart), the call logs in again once
//!   and is repeated; a second refusal is [`UrbackupError::AccessDenied`].
//! * **Sessions across processes.** [`UrbackupServer::session`] exports the session,
//!   [`UrbackupServerBuilder::resume_session`] starts a handle with it (no login: a read is
//!   one request), [`UrbackupServerBuilder::on_session_change`] reports every new login; a
//!   resumed session the server has forgotten takes the same one-login-one-repeat path.
//! * **Errors.** The server answers everything with HTTP 200; the in-body error shapes
//!   (`{"error":1}`, empty bodies, `{"err":"access_denied"}`...) are mapped in one table.
//!   Login failures say which: [`AuthFailure::UnknownUser`], [`AuthFailure::WrongPassword`],
//!   [`AuthFailure::RateLimited`] (2.5 bans an address for about 10 minutes after more than
//!   10 failed logins), [`AuthFailure::ServerUpgrading`]. No call probes for user existence.
//! * **Retries.** Reads are repeated (bounded, jittered backoff) on refused or reset
//!   connections and proxy errors (HTTP 502–504); writes never are. A write that failed after
//!   it may have reached the server says so: [`UrbackupError::outcome_unknown`].
//! * **Timeouts** on every request (connect 10 s, request 60 s, long-poll 45 s, downloads
//!   60 s between two pieces), all settable on the builder.
//! * **Secrets** (password, session id, basic-auth credentials) never appear in `Debug`,
//!   errors, logs or URLs; the session travels in POST bodies, except for
//!   [`UrbackupServer::download_client_installer`], whose server action reads only the query
//!   string.
//! * **Downloads** stream to a temporary file renamed into place when complete.
//!
//! ## The specification, name by name
//!
//! | spec | Rust |
//! |---|---|
//! | `urbackup_server(url, username, password, basic_username, basic_password)` | [`UrbackupServer::new`], [`UrbackupServer::builder`] + [`UrbackupServerBuilder::basic_auth`] |
//! | `login()` | [`UrbackupServer::login`] (typed: [`UrbackupServer::login_typed`]) |
//! | `get_status()` | [`UrbackupServer::get_status`] |
//! | `get_client_status(clientname)` | [`UrbackupServer::get_client_status`] |
//! | `get_server_identity()` | [`UrbackupServer::get_server_identity`] |
//! | `get_usage()` | [`UrbackupServer::get_usage`] |
//! | `get_actions()` | [`UrbackupServer::get_actions`] |
//! | `get_livelog(clientid=0)` | [`UrbackupServer::get_livelog`] |
//! | `get_extra_clients()` | [`UrbackupServer::get_extra_clients`] |
//! | `get_global_settings()` | [`UrbackupServer::get_global_settings`] |
//! | `get_client_settings(clientname)` | [`UrbackupServer::get_client_settings`] |
//! | `get_client_authkey(clientname)` | [`UrbackupServer::get_client_authkey`] |
//! | `set_global_setting(key, new_value)` | [`UrbackupServer::set_global_setting`] |
//! | `change_client_setting(clientname, key, new_value)` | [`UrbackupServer::change_client_setting`] |
//! | `add_client(clientname)` | [`UrbackupServer::add_client`] |
//! | `add_extra_client(addr)` | [`UrbackupServer::add_extra_client`] |
//! | `remove_extra_client(ecid)` | [`UrbackupServer::remove_extra_client`] |
//! | `start_incr_file_backup(clientname)` | [`UrbackupServer::start_incr_file_backup`] |
//! | `start_full_file_backup(clientname)` | [`UrbackupServer::start_full_file_backup`] |
//! | `start_incr_image_backup(clientname)` | [`UrbackupServer::start_incr_image_backup`] |
//! | `start_full_image_backup(clientname)` | [`UrbackupServer::start_full_image_backup`] |
//! | `stop_action(action)` | [`UrbackupServer::stop_action`] |
//! | `download_installer(installer_fn, new_clientname, os)` | [`UrbackupServer::download_installer`] |
//! | `get_client_statuses()` | [`UrbackupServer::get_client_statuses`] |
//! | `get_client_status_by_name(clientname)` | [`UrbackupServer::get_client_status_by_name`] |
//! | `get_server_identity_str()` | [`UrbackupServer::get_server_identity_str`] |
//! | `get_usage_typed()` | [`UrbackupServer::get_usage_typed`] |
//! | `get_actions_typed()` | [`UrbackupServer::get_actions_typed`] |
//! | `get_livelog_typed(clientid=0)` | [`UrbackupServer::get_livelog_typed`] |
//! | `get_extra_clients_typed()` | [`UrbackupServer::get_extra_clients_typed`] |
//! | `get_backups(clientid)` | [`UrbackupServer::get_backups`] |
//! | `get_image_backups(clientid)` | [`UrbackupServer::get_image_backups`] |
//! | `get_global_settings_typed()` | [`UrbackupServer::get_global_settings_typed`] |
//! | `set_global_setting_typed(key, value)` | [`UrbackupServer::set_global_setting_typed`] |
//! | `get_client_settings_typed(clientname)` | [`UrbackupServer::get_client_settings_typed`] |
//! | `change_client_setting_typed(clientname, key, new_value)` | [`UrbackupServer::change_client_setting_typed`] |
//! | `start_backup_typed(clientname, backup_type)` | [`UrbackupServer::start_backup_typed`] |
//! | `stop_action_typed(action)` | [`UrbackupServer::stop_action_typed`] |
//! | `get_users()` | [`UrbackupServer::get_users`] |
//! | `get_groups()` | [`UrbackupServer::get_groups`] |
//! | `add_user(username, password, rights='all')` | [`UrbackupServer::add_user`] |
//! | `download_installer_typed(installer_fn, new_clientname, os)` | [`UrbackupServer::download_installer_typed`] |
//! | `ClientStatus`, `BackupEntry`, `UsageEntry`, `ActionProgress`, `LogEntry`, `ExtraClient`, `User`, `Group` | [`ClientStatus`], [`BackupEntry`], [`UsageEntry`], [`ActionProgress`], [`LogEntry`], [`ExtraClient`], [`User`], [`Group`] (same field names, plus `raw`) |
//! | `BackupType.INCR_FILE` ... | [`BackupType::IncrFile`] ... |
//! | `ActionType.INCR_FILE` (1) ... `RECALC_STATS` (13) | [`ActionType::IncrFile`] ... [`ActionType::RecalcStats`]; unknown values kept as [`ActionType::Other`] |
//! | `InstallerOS.WINDOWS`, `LINUX` | [`InstallerOS::Windows`], [`InstallerOS::Linux`] (and [`InstallerOS::Mac`]) |
//! | `LogLevel.ERROR` ... `DEBUG` | [`LogLevel::Error`] ... [`LogLevel::Debug`] |
//! | `UrbackupError` and `AuthenticationError`, `ClientNotFoundError`, `AccessDeniedError`, `UserAlreadyExistsError`, `KeyError` | [`UrbackupError`]: [`UrbackupError::Authentication`], [`UrbackupError::ClientNotFound`], [`UrbackupError::AccessDenied`], [`UrbackupError::UserAlreadyExists`], [`UrbackupError::UnknownSetting`] |
//!
//! Default arguments of the spec are explicit in Rust: `get_livelog(0)`,
//! `add_user(name, pw, "all")`, `download_installer(path, name, "linux")`.
//!
//! ## Where the real server wins over the specification
//!
//! The specification comes from a Python library (python-urbackup 1.0.0); where it disagrees
//! with UrBackup 2.5, this crate keeps the spec's names and does what the server needs:
//!
//! * **`get_image_backups`** reads the server's `backup_images` list (the origin reads
//!   `image_backups`, which does not exist, and always returns nothing), and
//!   `BackupEntry::clientid` is filled from the reply (there is no per-entry `clientid`).
//! * **`add_user`** uses `settings sa=useradd` with a fresh salt and `md5(salt+password)`, as
//!   the web interface does (the origin sends a sub-action that does not exist: it returns
//!   false and adds nothing), without probing `salt` first (a failed login on the server).
//!   `rights` is `all` or `domain=right;...` ([`Rights`]).
//! * **`get_groups`** reads `navitems.groups` (there is no `sa=listgroups`: the origin always
//!   returns an empty list). The pseudo group 0 (default group) is left out.
//! * **Settings writes** (`set_global_setting*`, `change_client_setting*`) send only the
//!   changed key with `key.use=2` for clients, booleans as `true`/`false`, and resend
//!   `archive` as it was (the server clears it otherwise). The origin posts every nested
//!   `{value, use...}` object back, which the server stores as the literal text `value`/`use`
//!   (one call changed 79 other global settings on a real 2.5.33 server). Writes are verified
//!   on the server's reply.
//! * **`LogLevel`** has the server's values: DEBUG -1, INFO 0, WARNING 1, ERROR 2 (the origin's
//!   1–4 match nothing the server sends).
//! * **`UsageEntry`**: `files` and `images` are bytes used by file and image backups (the
//!   server's meaning), and all sizes come as 6-significant-digit floats.
//! * **`User`**: the id comes as a string and the rights as a list; `User::rights` is the
//!   text form, `User::right_list` the list.
//! * **`get_client_authkey`** returns the key, not the nested settings object.
//! * **`download_installer`** sends `os` (the origin omits it for existing clients and gets
//!   the Windows installer) and treats the server's `ERROR: ...` text as a failure instead of
//!   saving it as the installer.
//! * **`stop_action`**, **`add_extra_client`**, **`remove_extra_client`** check the server's
//!   reply (the server silently ignores unauthorized requests).
//! * **`login`**: the specification tries the anonymous login first. With a user name given,
//!   this crate logs in with it first and tries the anonymous login only when the server does
//!   not know the user: the result is the same and every login saves a round trip (three
//!   instead of four requests for "log in and list the clients", as few as the leanest
//!   client). [`UrbackupServerBuilder::anonymous_first`] restores the specification's order.
//! * **Expired sessions** lead to one new login (the origin never logs in again), and nothing
//!   is retried blindly (the origin repeats failed calls up to 50 times).
//! * **`set_global_setting`** (both surfaces) also sends the `internet_authkey` the server
//!   showed before the save, as the web interface does. A server whose general settings were
//!   never saved in the web interface has no stored key: it shows a random one and makes up
//!   another on every settings reload (each save, each restart), so a save of one key looked
//!   like a change of two, and Internet clients set up with the key shown lost it at the next
//!   restart. Sending the shown key stores it once; on a server with a stored key it changes
//!   nothing. A group save still makes such a server regenerate the key its groups inherit:
//!   that is reported in the log, not as a failed save.
//!
//! ## Names that are not UTF-8
//!
//! The server sends names as the bytes they are (its JSON writer escapes only `"`, `\` and
//! bytes below 32), so a file, client or group name, a log message or a path in a setting may
//! hold bytes that are not UTF-8, like the Latin-1 file name `caf\xE9-latin1.txt`. Every reply
//! decodes; the crate's one rule for such bytes ([`text`]): each byte that is not part of valid
//! UTF-8 becomes `\xHH` (upper-case hex) in the `String`, a backslash that would read as such
//! an escape becomes `\x5C`, everything else stays as it is. The same text is in the models,
//! in `raw`, in the legacy surface's values, in the CLI's output and in the Python package.
//! Every name, path and value the crate sends goes back through the inverse
//! ([`text::to_server`]), so a name taken from a listing reaches the same file: browse,
//! download and restore it by that name. Valid UTF-8 replies decode as before, at the same
//! cost.
//!
//! ## UrBackup 2.4 and 2.5
//!
//! The crate speaks to UrBackup 2.5 (checked against 2.5.33) and 2.4 (checked against 2.4.15).
//! The server has no action that reports its version; the crate tells them apart by what they
//! send ([`ServerGeneration`], [`UrbackupServer::server_generation`]): 2.5's `status` reply
//! has `server_pubkey` and a `uid` per client, 2.4's has neither; 2.4's settings replies carry
//! the archive rules beside the settings (`archive_settings`), 2.5's carry them as the
//! `archive` setting. Where they differ:
//!
//! | | 2.5 | 2.4 | the crate |
//! |---|---|---|---|
//! | client and group settings | `{use, value, value_client, value_group}` per key; `key.use` per key | plain values; one `overwrite` flag per client | reads both into [`Setting`] (2.4: `use_mask` 2 with `overwrite`, else 1); a 2.4 save sends `overwrite=true`, as its web interface must |
//! | archive rules | the `archive` setting | `archive_settings` list; saved from `archive_N` fields, which replace the target's rules | 2.4's rules read as the `archive` setting in 2.5's text form; every 2.4 save resends them (or the new ones) |
//! | settings 2.5 added (`download_threads`, `local_encrypt`...) | present | absent | a write of one on 2.4 is [`UrbackupError::Unsupported`], before anything is sent |
//! | `status` | `server_pubkey`, `uid`, `image_not_supported`; codes 14–17 | none of them | `image_not_supported` derived from `os_simple` as 2.4's web interface does; [`StatusReport::generation`] |
//! | `add_client` | `server_url` | none | [`NewClient::server_url`] made as 2.5 makes it |
//! | login | a ban after more than 10 failures (`error: 3`); unknown users may get a random salt | no ban; an unknown user is `error: 0` | the same [`AuthFailure`]s; [`AuthFailure::RateLimited`] only from 2.5 |
//! | an image start of a client that cannot do image backups | `start_ok: true`, dropped | `start_ok: true`, held forever: **no file backup of the client runs until the server restarts** | never sent, on either ([`StartRefusal`]) |
//!
//! ## Starts the server would accept and never run
//!
//! `start_backup` answers `start_ok: true` for every connected client, whatever the client
//! does with it. Some starts never run, and some also hold up the client's other backups: on
//! UrBackup 2.4 an image start of a client that cannot do image backups (a Linux client)
//! stops every file backup of that client until the server restarts; on both versions an
//! image start while image backups are switched off on the server (`no_images`) blocks the
//! client's file backups until they are switched on, and a file start while `no_file_backups`
//! is on never runs. The crate sends none of them: every start ([`UrbackupServer::start_backup_typed`],
//! [`UrbackupServer::start_backups`], [`UrbackupServer::start_backups_from`] and the legacy
//! `start_*_backup` methods) is judged first by one rule, [`StartRefusal::check`], on the
//! `status` reply, and a refused one is [`UrbackupError::Unsupported`] naming the client and
//! the reason (legacy: `false`). What the server's source shows, branch by branch: [`starts`].
//!
//! ## Restores
//!
//! [`UrbackupServer::restore_files`] sends a folder as `path` and a single file as its folder
//! plus a `filter` with its name, as the web interface does: the server takes `path` for a
//! folder, and given a file it answers "ok" and then fails the restore ("Cannot read files
//! from folder ..."). [`UrbackupServer::wait_for_restore_outcome`] judges the outcome from the
//! restore's own log ([`RestoreOutcome`]), because `lastacts` lists failed restores like
//! successful ones. A client that does not let the server confirm restores (the client
//! software's default) keeps a restore queued until a person at the client confirms it:
//! [`RestoreStarted::needs_client_confirmation`] says so before the wait begins.

#![warn(missing_docs)]

mod api;
pub mod auth;
#[cfg(feature = "blocking")]
pub mod blocking;
mod client;
mod download;
mod error;
#[cfg(test)]
mod fixture_tests;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
mod http;
mod legacy;
pub mod models;
mod secret;
mod session;
pub mod starts;
mod stream;
pub mod text;
mod transport;

pub use api::{
    FileBackupKey, FileVersion, FileVersions, ListingCache, ListingCount, ListingKey, LogFilter,
    SearchHit, SearchLimits, SearchResult, SearchStop, LISTINGS_AT_ONCE,
};
pub use client::{UrbackupServer, UrbackupServerBuilder};
pub use download::BackupDownload;
pub use error::{AuthFailure, Result, UrbackupError};
pub use health::{
    BackupKind, BackupState, ClientHealth, HealthPolicy, KindHealth, ServerSwitches, Severity,
};
pub use models::*;
pub use session::Session;
pub use starts::StartRefusal;
pub use transport::{LoginInfo, LoginMethod};

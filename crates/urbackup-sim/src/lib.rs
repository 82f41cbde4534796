//! A simulated UrBackup server (2.5, or 2.4 when asked) that speaks the real web API (`/x?a=ACTION`) on the wire
//! exactly like the real built-in HTTP server: `HTTP/1.1 200 ok`, `Cache-Control: max-age=0`,
//! `Content-type: application/json`, `X-Frame-Options: DENY`, no `Content-Length`, one request
//! per connection, body delimited by connection close, JSON with sorted keys in the real
//! server's one-key-per-line layout, floats in `%g` format, and all the error shapes and
//! quirks documented in `docs/urbackup-web-api.md` (verified against the captures in
//! `fixtures/real-2.5/` by this crate's contract tests).
//!
//! It is an independent implementation of the server: it does not depend on the
//! `urbackup` client crate.
//!
//! # Quick start (tests)
//!
//! ```no_run
//! use std::time::Duration;
//! use urbackup_sim::{ClientSpec, Fault, FaultRule, Simulator};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let sim = Simulator::builder()
//!     .clients(25)                                   // seeded fleet client-00001..client-00025
//!     .client(ClientSpec::new("alpha").online(true).windows())
//!     .admin("admin", "secret")                      // user with all rights
//!     .user("viewer", "pw", &[("status", "all"), ("logs", "1,2")])
//!     .login_failure_delay(Duration::ZERO)
//!     .manual_clock()
//!     .start()
//!     .await?;
//! let url = sim.url();                               // "http://127.0.0.1:PORT/x"
//! // ... run your client against `url`, e.g. start a backup of "alpha" ...
//! sim.advance(Duration::from_secs(30));              // the backup finishes
//! assert!(sim.with_state(|s| s.clients[&sim.client_id("alpha").unwrap()].file_backups.len()) <= 1);
//! sim.inject(FaultRule::new(Fault::BadGateway).action("status").times(1));
//! assert_eq!(sim.requests("status"), 0);
//! # Ok(()) }
//! ```
//!
//! For synchronous tests use [`SimBuilder::start_blocking`], which runs the server on its own
//! runtime thread.
//!
//! # Builder options
//!
//! | Option | Default | Meaning |
//! |---|---|---|
//! | `.clients(n)` | 0 | seed `n` deterministic clients (see below) |
//! | `.client(ClientSpec)` | – | add an explicit client (after the seeded ones) |
//! | `.admin(name, pw)` | – | user with `all=all`; **without any user, anonymous login works** |
//! | `.user(name, pw, &[(domain, right)])` | – | limited user, rights as in §3 (`"all"`, `"none"`, `"1,2"`) |
//! | `.legacy_md5_user(name, pw)` | – | all rights, `pbkdf2_rounds` 0 (legacy MD5 hash) |
//! | `.login_failure_delay(d)` | 1 s | delay before a failed password login answers |
//! | `.session_idle_timeout(d)` | 1800 s | idle session expiry on the virtual clock |
//! | `.latency(d)` | 0 | extra latency for every action reply (benchmarks) |
//! | `.keep_alive(bool)` | false | send `Content-Length` and keep connections (proxy-like) |
//! | `.manual_clock()` | off | virtual time only moves with [`SimServer::advance`] |
//! | `.time_scale(f)` | 1.0 | backups and restores run `f` times faster; the clock stays on real time |
//! | `.backup_duration(d)` | 20 s | duration of a started backup at time scale 1 |
//! | `.livelog_wait(d)` | 10 s | max real wait of `livelog` with `lastid` and `restore_prepare_wait` |
//! | `.rate_limit(bool)` | true | >10 failed logins per IP within 40 s → `error: 3` for 10 min |
//! | `.seed(u64)` | 42 | seed of all generated data |
//! | `.listen(addr)` | 127.0.0.1:0 | listen address |
//! | `.installers(bool)` | true | `false` = `download_client` fails like a source build |
//! | `.start_time(unix)` | now | virtual start time |
//! | `.seeded_clients_confirm_restores(bool)` | false | seeded clients wait for a person at the client to confirm restores |
//! | `.server_version(v)` | 2.5 | [`ServerVersion::V2_4`] answers as a real 2.4.15 (checked against `fixtures/real-2.4/`; what differs: [`ServerVersion`]) |
//!
//! # Seeded clients
//!
//! `.clients(n)` creates clients with ids `1..=n` named `client-00001`, `client-00002`, …
//! (five digits, 1-based). Client number `i`:
//! * is a **Linux** client (`image_not_supported`, no image backups) when `i % 5` is 0 or 4,
//!   otherwise a **Windows** client with image backups (volume `C:`);
//! * is **offline** when `i % 4 == 0` (ip `"-"`), otherwise online with ip `10.x.y.z`;
//! * is in settings group **`office`** when `i % 3 == 1`, **`servers`** when `i % 3 == 2`,
//!   otherwise in the default group (groups `office` = id 1 and `servers` = id 2 are created
//!   when `n > 0`);
//! * has 2–7 daily file backups (full, then incrementals) and (Windows) 1–3 weekly image
//!   backups, each with a stored log; about one client in 15 has a failed last backup
//!   (a log with errors). Sizes and times come from the seed;
//! * client number 9, 29, 49, ... (`i % 20 == 9`, Linux, online) has a file whose name is not
//!   UTF-8 in `/etc` of its backups, `caf\xE9-latin1.txt` (Latin-1), sent as its raw bytes
//!   like the real server sends names; its backup logs and the live log of its backups quote
//!   it ([`ClientSpec::latin1_file`] gives any client one). See [`bytes`].
//!
//! File trees of backups are generated lazily from a hash (nothing is stored), so 10,000
//! clients seed in well under a second. Explicit clients ([`ClientSpec`]) get the next ids.
//!
//! # Backups
//!
//! `start_backup` creates a process that runs on the virtual clock: 15 % indexing (`pcdone`
//! −1, `total_bytes` −1), then transfer to 100 %, writing live log lines and finally a stored
//! log, a new backup entry, `lastacts` and status updates. `progress` with
//! `stop_clientid`/`stop_id` aborts it (log with errors, no backup). An incremental backup
//! without a previous one runs as full (action 2).
//!
//! A start reaches the client's "thread" as the real server's `ClientMain.cpp` takes it
//! ([`state::PendingStarts`]): the live log notes it (`msg=START IMAGE INCR`, debug level),
//! `start_ok` is true for every connected client, and a start that cannot run waits. An image
//! start of a client without image support is dropped by 2.5; in 2.4 mode it waits forever and
//! **no file backup of that client starts until [`SimServer::restart`]** (or until the client
//! goes offline), as on a real 2.4.15 server. An image start while `no_images` is on waits, and
//! blocks the client's file backups, until it is switched off; a file start while
//! `no_file_backups` is on waits likewise (both versions).
//!
//! # Restores
//!
//! `backups sa=clientdl` restores like the real server: `path` must be a folder, `filter`
//! names entries inside it (a single file goes as its folder plus its name, as the web
//! interface sends it). Given a file as `path`, the reply is still `ok` with a wait key, but
//! the restore fails at once: a restore log with one error ("Cannot read files from folder
//! .../file. Cannot start restore.") and a `lastacts` row like any other restore's (`size_bytes`
//! -1, no result field). Browsing shows `can_restore` for an online client and
//! `server_confirms_restore` when the client lets the server confirm restores (the default
//! here); a client made with [`ClientSpec::restores_confirmed_at_client`] keeps each restore
//! queued (`pcdone` -1) until [`SimServer::answer_restore`] or `/_sim/confirm_restore`.
//!
//! # Settings reloads
//!
//! As on the real server, the global `internet_authkey` is not stored until a save includes
//! it: until then every settings reload (a general or group save, a restart) shows a new
//! random key, and the save's own reply already shows the new one.
//!
//! # Fault injection
//!
//! [`SimServer::inject`] adds a [`FaultRule`]: a [`Fault`], optionally restricted to one action
//! (`.action("status")`) and to `n` occurrences (`.times(n)`). The first matching rule applies
//! per request. Faulted requests are counted in [`SimServer::requests`].
//! [`SimServer::invalidate_sessions`] drops all sessions; [`SimServer::restart`] simulates a
//! server restart (state kept, sessions and running processes lost).
//!
//! # Control endpoint
//!
//! For out-of-process use (e.g. the binary), plain JSON endpoints live under `/_sim/`
//! (any method; parameters in the query string). They are neither counted nor faulted.
//!
//! | Endpoint | Effect |
//! |---|---|
//! | `/_sim/stats` | `{"requests": {action: n}, "total": n, "logins": n, "now": unix}` |
//! | `/_sim/reset` | reset counters |
//! | `/_sim/fault?kind=K[&action=A][&times=N][&ms=MS]` | inject; K = `delay`, `stall`, `drop` (half the body, then the connection closes), `reset`, `bad_gateway`, `invalid_json`, `truncated_json`, `wrong_types`, `refuse` |
//! | `/_sim/clear_faults` | remove all faults |
//! | `/_sim/advance?secs=N` | move the virtual clock |
//! | `/_sim/restart` | simulated restart |
//! | `/_sim/invalidate_sessions` | drop sessions |
//! | `/_sim/online?name=C&online=true\|false` | connect/disconnect a client |
//! | `/_sim/latency?ms=N` | change the per-request latency |
//! | `/_sim/confirm_restore?client=C&ok=1\|0` | the person at client C confirms (or refuses) its waiting restores |

//!
//! # Explicit clients
//!
//! [`ClientSpec::new`] creates an online Windows client without backups;
//! `.linux()` makes it a Linux client (`image_not_supported`), `.online(false)` disconnects
//! it, `.group("g")` puts it into a settings group, `.backups(file, image)` gives it a
//! history, and `.never_seen()` makes it look like a client created with `add_client` that
//! never connected (empty version/OS strings, ip `"-"`).
//! `.file(path, bytes)`, `.file_versions(path, &[...])` (a file that changes between backups),
//! `.large_file(path, len)` (generated bytes, streamed) and `.wide_folder(path, n)` put files
//! into its file backups beside the generated tree ([`extra`]).
//! `.running_backup(d)` starts a full file backup that runs for `d`.
//! [`SimBuilder::example_fleet`] (`urbackup-sim --example`) adds the named clients of the CLI
//! README ([`example_fleet`]).
//! `.file_backups_disabled()` / `.image_backups_disabled()` switch a kind off the way the web
//! interface does (the client's own intervals negated; `status` says `file_disabled: true`,
//! `file_ok: false`, as do the general settings `no_file_backups` / `no_images` for every
//! client), and `.last_backup_failed()` adds a failed last file backup (`file_ok: false`).
//!
//! # Limitations
//!
//! Not simulated: token authentication of `backups` (`tokens0`…), LDAP logins (settings are
//! stored, `ldap_login_enabled` is reported), rejected/unknown clients in `status`, the start-up
//! states of `login` (database upgrade, file index creation), real mail sending, alert script
//! execution, archive rule scheduling and the nightly clean-up (backups marked for deletion stay
//! until `delete_now`), `shutdown`. `server_status` answers `Forbidden` like a release build.

#![warn(missing_docs)]

pub mod actions;
pub mod auth;
pub mod backups_action;
pub mod bytes;
pub mod example;
pub mod extra;
pub mod http;
pub mod json;
pub mod seed;
pub mod server;
pub mod settings_action;
pub mod settings_def;
pub mod state;
pub mod tree;
pub mod zip;

pub use example::example_fleet;
pub use http::{parse_request, ParseError, ParsedRequest};
pub use seed::ClientSpec;
pub use server::{Fault, FaultRule, SimBuilder, SimServer, Simulator};
pub use state::{ServerVersion, State};

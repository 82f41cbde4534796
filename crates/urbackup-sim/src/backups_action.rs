//! The `backups` action (§4.15): browse, download, archive, delete, restore.

use serde_json::{json, Map, Value};

use crate::actions::{session, Ctx, Outcome, Reply, Ses};
use crate::http::unquote;
use crate::state::{Activity, Client, FileBackup, Right, State};
use crate::tree::{self, Entry, Generated, TreeSpec};
use crate::zip::{build_zip, ZipEntry};

fn err1() -> Outcome {
    Reply::Json(json!({"error": 1})).into()
}

fn err_code(code: &str) -> Outcome {
    Reply::Json(json!({"err": "access_denied", "errcode": code})).into()
}

/// HTML-unescape like the server does for `path`.
fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
}

/// Split a path into its effective components.
pub fn path_components(p: &str) -> Vec<String> {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != ".." && !c.contains('\\'))
        .map(|s| s.to_string())
        .collect()
}

fn entry_json(e: &Entry, full_path: &str, with_hash: bool) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(e.name));
    m.insert("dir".into(), json!(e.dir));
    m.insert("mod".into(), json!(e.mod_time));
    m.insert("creat".into(), json!(e.creat));
    m.insert("access".into(), json!(e.access));
    if !e.dir {
        m.insert("size".into(), json!(e.size));
        if let Some(hash) = with_hash.then(|| tree::shahash(e, full_path)).flatten() {
            m.insert("shahash".into(), json!(hash));
        }
    }
    Value::Object(m)
}

fn join(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}

/// `backups`.
pub fn backups(st: &mut State, ctx: &Ctx) -> Outcome {
    let s = match session(st, ctx) {
        Ses::User(_, s) => s,
        _ => return err1(),
    };
    let uid = s.user_id;
    let r = st.right(uid, "browse_backups");
    if r.is_none() {
        return err1();
    }
    let mut sa = ctx.get("sa").to_string();
    let mut cid = ctx.int("clientid");
    if sa.is_empty() {
        if let Right::List(l) = &r {
            if l.len() == 1 {
                sa = "backups".into();
                cid = l[0];
            }
        }
    }
    match sa.as_str() {
        "" => {
            let mut v: Vec<&Client> = st.clients.values().filter(|c| r.allows(c.id)).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            Reply::Json(json!({"clients": v.iter().map(|c| json!({"id": c.id, "name": c.name, "lastbackup": c.lastbackup()})).collect::<Vec<_>>()})).into()
        }
        "backups" => list_backups(st, ctx, uid, cid, &r),
        "files" | "filesdl" | "zipdl" | "clientdl" => {
            let mut sa = sa;
            if sa != "files" && !ctx.has("backupid") {
                sa = "files".into();
            }
            files(st, ctx, cid, &r, &sa)
        }
        _ => Reply::Json(json!({})).into(),
    }
}

fn list_backups(st: &mut State, ctx: &Ctx, uid: i64, cid: i64, r: &Right) -> Outcome {
    if !r.allows(cid) {
        return Reply::Json(json!({"error": 2})).into();
    }
    let can_archive = st.right(uid, "manual_archive").allows(cid);
    let can_delete = st.right(uid, "delete_backups").allows(cid);
    let mut m = Map::new();
    let now = st.now();
    if let Some(c) = st.clients.get_mut(&cid) {
        let mut lastacts = Vec::new();
        let op = |k: &str| if ctx.has(k) { Some(ctx.int(k)) } else { None };
        if can_archive {
            for (k, flag) in [("archive", true), ("unarchive", false)] {
                if let Some(id) = op(k) {
                    if id < 0 {
                        for b in c.image_backups.iter_mut().filter(|b| b.id == -id) {
                            b.archived = flag;
                            b.archive_timeout = 0;
                        }
                    } else {
                        for b in c.file_backups.iter_mut().filter(|b| b.id == id) {
                            b.archived = flag;
                            b.archive_timeout = 0;
                        }
                    }
                }
            }
        }
        if can_delete {
            for (k, flag) in [("delete", true), ("stop_delete", false)] {
                if let Some(id) = op(k) {
                    if id < 0 {
                        for b in c.image_backups.iter_mut().filter(|b| b.id == -id) {
                            b.delete_pending = flag;
                        }
                    } else {
                        for b in c.file_backups.iter_mut().filter(|b| b.id == id) {
                            b.delete_pending = flag;
                        }
                    }
                }
            }
            if let Some(id) = op("delete_now") {
                if id < 0 {
                    if let Some(pos) = c.image_backups.iter().position(|b| b.id == -id) {
                        if c.image_backups[pos].archived {
                            m.insert("delete_now_err".into(), json!("archived_ref"));
                        } else {
                            let b = c.image_backups.remove(pos);
                            lastacts.push(Activity {
                                id: b.id,
                                clientid: cid,
                                backuptime: now,
                                incremental: b.incremental,
                                duration: 0,
                                size_bytes: b.size_bytes,
                                image: true,
                                del: true,
                                restore: false,
                                details: b.letter.clone(),
                            });
                        }
                    } else {
                        m.insert("delete_now_err".into(), json!("wrong_clientid"));
                    }
                } else if let Some(pos) = c.file_backups.iter().position(|b| b.id == id) {
                    if c.file_backups[pos].archived {
                        m.insert("delete_now_err".into(), json!("archived_ref"));
                    } else {
                        let b = c.file_backups.remove(pos);
                        lastacts.push(Activity {
                            id: b.id,
                            clientid: cid,
                            backuptime: now,
                            incremental: b.incremental,
                            duration: 0,
                            size_bytes: b.size_bytes,
                            image: false,
                            del: true,
                            restore: false,
                            details: String::new(),
                        });
                    }
                } else {
                    m.insert("delete_now_err".into(), json!("wrong_clientid"));
                }
            }
        }
        st.activities.extend(lastacts);
    }
    let c = st.clients.get(&cid);
    let newest_file = c.and_then(|c| c.file_backups.iter().map(|b| b.id).max());
    let files: Vec<Value> = c
        .map(|c| {
            c.file_backups
                .iter()
                .rev()
                .map(|b| {
                    let mut e = backup_entry(BackupFields {
                        id: b.id,
                        backuptime: b.backuptime,
                        incremental: b.incremental,
                        size_bytes: b.size_bytes,
                        archived: b.archived,
                        archive_timeout: b.archive_timeout,
                        delete_pending: b.delete_pending,
                    });
                    if Some(b.id) == newest_file {
                        e.insert("disable_delete".into(), json!(true));
                    }
                    Value::Object(e)
                })
                .collect()
        })
        .unwrap_or_default();
    let images: Vec<Value> = c
        .map(|c| {
            c.image_backups
                .iter()
                .rev()
                .map(|b| {
                    let mut e = backup_entry(BackupFields {
                        id: b.id,
                        backuptime: b.backuptime,
                        incremental: b.incremental,
                        size_bytes: b.size_bytes,
                        archived: b.archived,
                        archive_timeout: b.archive_timeout,
                        delete_pending: b.delete_pending,
                    });
                    e.insert("letter".into(), json!(b.letter));
                    Value::Object(e)
                })
                .collect()
        })
        .unwrap_or_default();
    m.insert("backups".into(), Value::Array(files));
    m.insert("backup_images".into(), Value::Array(images));
    m.insert("can_archive".into(), json!(can_archive));
    m.insert("can_delete".into(), json!(can_delete));
    m.insert(
        "clientname".into(),
        json!(c.map(|c| c.name.clone()).unwrap_or_default()),
    );
    m.insert("clientid".into(), json!(cid));
    Reply::Json(Value::Object(m)).into()
}

fn image_spec(c: &Client, id: i64, backuptime: i64) -> TreeSpec {
    TreeSpec {
        seed: c.tree_seed ^ 0x1111,
        backup_id: -id,
        backuptime,
        windows: true,
        latin1: false,
    }
}

/// The tree a request reads: an image backup's (mounted) volume, or a file backup with the
/// client's extra files.
enum Source<'a> {
    Image(TreeSpec),
    File(&'a Client, FileBackup),
}

impl Source<'_> {
    fn lookup(&self, path: &[String]) -> Option<Result<Vec<Entry>, Entry>> {
        match self {
            Source::Image(spec) => tree::lookup(spec, path),
            Source::File(c, b) => crate::extra::lookup(c, b, path),
        }
    }
}

fn collect_zip(
    source: &Source<'_>,
    base: &[String],
    rel: &str,
    out: &mut Vec<ZipEntry>,
    filter: &str,
) {
    if let Some(Ok(list)) = source.lookup(base) {
        for e in list {
            if !filter.is_empty() && rel.is_empty() && e.name != filter {
                continue;
            }
            let mut p = base.to_vec();
            p.push(e.name.clone());
            let name = if rel.is_empty() {
                e.name.clone()
            } else {
                format!("{rel}/{}", e.name)
            };
            if e.dir {
                out.push(ZipEntry {
                    name: format!("{name}/"),
                    data: Vec::new(),
                    mtime: e.mod_time,
                });
                collect_zip(source, &p, &name, out, "");
            } else {
                out.push(ZipEntry {
                    data: tree::content(&e, &join(&p)),
                    name,
                    mtime: e.mod_time,
                });
            }
        }
    }
}

fn files(st: &mut State, ctx: &Ctx, cid: i64, r: &Right, sa: &str) -> Outcome {
    if !r.allows(cid) {
        return Reply::Json(json!({})).into();
    }
    let Some(c) = st.clients.get(&cid).cloned() else {
        return Reply::Json(json!({})).into();
    };
    let raw_path = ctx.p.get("path").map(|p| html_unescape(&unquote(p)));
    let path_echo = raw_path.clone().unwrap_or_default();
    let comps = path_components(&path_echo);
    let mut m = Map::new();
    m.insert("clientid".into(), json!(cid));
    m.insert("clientname".into(), json!(c.name));
    m.insert("path".into(), json!(path_echo));
    if c.online {
        m.insert("can_restore".into(), json!(true));
        if c.server_confirms_restore {
            m.insert("server_confirms_restore".into(), json!(true));
        }
    }
    if !ctx.has("backupid") {
        // (b) path lookup over all file backups
        if c.file_backups.is_empty() {
            return err_code("path_browse_access_denied");
        }
        let mut list = Vec::new();
        let mut is_file = false;
        for b in c.file_backups.iter().rev() {
            match crate::extra::lookup(&c, b, &comps) {
                Some(Ok(_)) => {
                    let name = comps.last().cloned().unwrap_or_default();
                    list.push(
                        json!({"name": name, "dir": true, "mod": b.backuptime, "creat": 0,
                        "access": b.backuptime, "backupid": b.id, "backuptime": b.backuptime}),
                    );
                }
                Some(Err(e)) => {
                    is_file = true;
                    let mut v = entry_json(&e, &join(&comps), true);
                    v["backupid"] = json!(b.id);
                    v["backuptime"] = json!(b.backuptime);
                    list.push(v);
                }
                None => {}
            }
        }
        m.insert("single_item".into(), json!(true));
        m.insert("is_file".into(), json!(is_file));
        m.insert("files".into(), Value::Array(list));
        return Reply::Json(Value::Object(m)).into();
    }
    let bid = ctx.int("backupid");
    let (source, base, backuptime, no_hash): (Source<'_>, Vec<String>, i64, bool);
    if bid < 0 {
        let Some(img) = c.image_backups.iter().find(|b| b.id == -bid).cloned() else {
            return err_code(if sa == "files" {
                "path_browse_access_denied"
            } else {
                "path_dl_access_denied"
            });
        };
        if ctx.get("mount") == "1" {
            st.mounted_images.insert(img.id);
        }
        let mounted = st.mounted_images.contains(&img.id);
        if sa == "files" {
            let mut info = Map::new();
            info.insert("id".into(), json!(img.id));
            info.insert("backuptime".into(), json!(img.backuptime));
            info.insert("incremental".into(), json!(img.incremental));
            info.insert("size_bytes".into(), json!(img.size_bytes));
            info.insert("letter".into(), json!(img.letter));
            info.insert("archived".into(), json!(img.archived as i64));
            if img.archived {
                info.insert("archive_timeout".into(), json!(img.archive_timeout));
            }
            info.insert("part_table".into(), json!("GPT"));
            info.insert("disk_number".into(), json!(0));
            info.insert("partition_number".into(), json!(3));
            info.insert("volume_name".into(), json!(""));
            info.insert("fs_type".into(), json!("NTFS"));
            info.insert(
                "serial_number".into(),
                json!(format!("{:08X}", c.tree_seed as u32)),
            );
            info.insert("volume_size".into(), json!(img.size_bytes * 2));
            m.insert("image_backup_info".into(), Value::Object(info));
            m.insert("single_item".into(), json!(false));
            m.insert("backupid".into(), json!(img.id));
            m.insert("backuptime".into(), json!(img.backuptime));
            m.remove("can_restore");
            m.remove("server_confirms_restore");
            if !mounted {
                m.insert("can_mount".into(), json!(true));
                m.insert("files".into(), json!([]));
                return Reply::Json(Value::Object(m)).into();
            }
        } else if !mounted {
            return err_code("path_dl_access_denied");
        }
        source = Source::Image(image_spec(&c, img.id, img.backuptime));
        base = vec!["C".to_string()];
        backuptime = img.backuptime;
        no_hash = true;
    } else {
        let Some(b) = c.file_backups.iter().find(|b| b.id == bid).cloned() else {
            return err_code(if sa == "files" {
                "path_browse_access_denied"
            } else {
                "path_dl_access_denied"
            });
        };
        backuptime = b.backuptime;
        source = Source::File(&c, b);
        base = Vec::new();
        no_hash = false;
    }
    let mut full = base.clone();
    full.extend(comps.iter().cloned());
    match sa {
        "files" => {
            let list: Vec<Value> = match source.lookup(&full) {
                Some(Ok(l)) => l
                    .iter()
                    .map(|e| {
                        let mut p = full.clone();
                        p.push(e.name.clone());
                        entry_json(e, &join(&p), !no_hash)
                    })
                    .collect(),
                Some(Err(e)) => vec![entry_json(&e, &join(&full), !no_hash)],
                None => vec![],
            };
            m.insert("backupid".into(), json!(bid.abs()));
            m.insert("backuptime".into(), json!(backuptime));
            m.insert("files".into(), Value::Array(list));
            Reply::Json(Value::Object(m)).into()
        }
        "filesdl" => match source.lookup(&full) {
            Some(Err(e)) => {
                let (body, generated) = match e.body {
                    tree::Body::Large(len) => (Vec::new(), Some(Generated { seed: e.seed, len })),
                    _ => (tree::content(&e, &join(&full)), None),
                };
                Reply::Download {
                    filename: e.name.clone(),
                    body,
                    generated,
                    content_length: true,
                    no_cache: true,
                }
                .into()
            }
            Some(Ok(_)) => Reply::Download {
                filename: comps.last().cloned().unwrap_or_default(),
                body: Vec::new(),
                generated: None,
                content_length: true,
                no_cache: true,
            }
            .into(),
            None => err_code("path_dl_access_denied"),
        },
        "zipdl" => {
            let filter = ctx.get("filter").to_string();
            let mut entries = Vec::new();
            match source.lookup(&full) {
                Some(Ok(_)) => collect_zip(&source, &full, "", &mut entries, &filter),
                Some(Err(e)) => entries.push(ZipEntry {
                    name: e.name.clone(),
                    data: tree::content(&e, &join(&full)),
                    mtime: e.mod_time,
                }),
                None => return err_code("path_dl_access_denied"),
            }
            let name = comps.last().cloned().unwrap_or_else(|| c.name.clone());
            Reply::Download {
                filename: format!("{name}.zip"),
                body: build_zip(&entries),
                generated: None,
                content_length: false,
                no_cache: true,
            }
            .into()
        }
        _ => {
            // clientdl
            if !c.online {
                return Reply::Json(json!({"err": "client_not_online"})).into();
            }
            let filter = ctx.get("filter");
            let (is_folder, matches) = match source.lookup(&full) {
                None => return Reply::Json(json!({"err": "internal_error"})).into(),
                Some(Ok(list)) => {
                    let names: Vec<&str> = filter.split('/').filter(|n| !n.is_empty()).collect();
                    let any =
                        names.is_empty() || list.iter().any(|e| names.contains(&e.name.as_str()));
                    (true, any)
                }
                Some(Err(_)) => (false, true),
            };
            // The server's name for a restore: the backup-relative path (a folder with a
            // trailing `/`), then the filter, bracketed when it lists several names.
            let mut details = comps.join("/");
            if is_folder && !details.is_empty() {
                details.push('/');
            }
            if filter.contains('/') {
                details.push_str(&format!("[{filter}]"));
            } else {
                details.push_str(filter);
            }
            let key = if is_folder {
                // A filter naming nothing in the folder leaves the client an empty list: the
                // real client then fails the restore.
                let failure = (!matches).then(|| {
                    "Error enumerating files in \"\". No such file or directory (code: 2)"
                        .to_string()
                });
                st.start_restore(cid, &details, failure)
            } else {
                // The server lists `path` as a folder to build the restore's file list.
                let folder = format!(
                    "{}/{}/{}{}",
                    st.general_raw("backupfolder"),
                    c.name,
                    backup_folder_name(backuptime),
                    join(&comps)
                );
                st.fail_restore_at_once(cid, &details, &folder)
            };
            Reply::Json(json!({"ok": "true", "wait_key": key})).into()
        }
    }
}

/// The folder name the real server gives a file backup in its storage: `YYMMDD-HHMM` of its
/// start (UTC here).
fn backup_folder_name(backuptime: i64) -> String {
    let (y, m, d) = crate::state::civil_from_days(backuptime.div_euclid(86400));
    let secs = backuptime.rem_euclid(86400);
    format!(
        "{:02}{m:02}{d:02}-{:02}{:02}",
        y % 100,
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The fields file and image backup entries share in `sa=backups`.
struct BackupFields {
    id: i64,
    backuptime: i64,
    incremental: i64,
    size_bytes: i64,
    archived: bool,
    archive_timeout: i64,
    delete_pending: bool,
}

/// One entry of `backups`/`backup_images`: optional keys only when set, as the server does.
fn backup_entry(b: BackupFields) -> Map<String, Value> {
    let mut e = Map::new();
    e.insert("id".into(), json!(b.id));
    e.insert("backuptime".into(), json!(b.backuptime));
    e.insert("incremental".into(), json!(b.incremental));
    e.insert("size_bytes".into(), json!(b.size_bytes));
    e.insert("archived".into(), json!(b.archived as i64));
    if b.archived {
        e.insert("archive_timeout".into(), json!(b.archive_timeout));
    }
    if b.delete_pending {
        e.insert("delete_pending".into(), json!(true));
    }
    e
}

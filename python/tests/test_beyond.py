"""Beyond the specification: browse, download, restore, logs, users and groups, settings."""

from __future__ import annotations

import zipfile

import pytest
from conftest import PASSWORD, USER, setting

import urbackup
from urbackup import LogLevel, RestoreStarted, urbackup_server


def a_file_and_its_folder(s, clientid, backupid):
    folder = ""
    for _ in range(8):
        listing = s.browse_backup(clientid, backupid, folder or "/")
        files = [f for f in listing.files if not f.dir]
        if files and folder:
            return f"{folder}/{files[0].name}", folder, files[0]
        folder = f"{folder}/{next(f for f in listing.files if f.dir).name}"
    raise AssertionError("no file in the backup")


@pytest.fixture
def fast(start_sim):
    sim = start_sim("--time-scale", "20")
    return sim, urbackup_server(sim.url, USER, PASSWORD)


def test_browse_and_download(server, tmp_path):
    b = server.get_backups(1)[0]
    top = server.browse_backup(1, b.id)
    assert isinstance(top, urbackup.BackupListing) and top.backupid == b.id and top.files
    path, folder, entry = a_file_and_its_folder(server, 1, b.id)
    dest = tmp_path / "file.bin"
    n = server.download_file(1, b.id, path, dest)
    assert n == dest.stat().st_size == entry.size
    z = tmp_path / "folder.zip"
    assert server.download_folder_zip(1, b.id, folder, z) == z.stat().st_size
    with zipfile.ZipFile(z) as zf:
        assert entry.name in [n.rsplit("/", 1)[-1] for n in zf.namelist()]
    assert server.browse_backup(1, b.id, "/no/such/folder").files == []


def test_browse_image_backup(server):
    img = server.get_image_backups(1)[0]
    listing = server.browse_backup(1, img.id, "/", image=True)
    assert listing.backupid in (img.id, -img.id)


def test_restore_a_file_and_wait_for_the_outcome(fast):
    sim, s = fast
    b = s.get_backups(1)[0]
    path, folder, entry = a_file_and_its_folder(s, 1, b.id)
    r = s.restore_files(1, b.id, path)
    assert isinstance(r, RestoreStarted)
    assert (r.clientid, r.backupid, r.path, r.filter) == (1, b.id, folder, entry.name)
    assert r.needs_client_confirmation is False
    phases = []
    out = s.wait_for_restore_outcome(r, interval=0.05, timeout=20, on_phase=lambda p, a: phases.append(p))
    assert out is not None and out.succeeded and out.log.restore and out.errors == []
    assert out.elapsed > 0
    assert set(phases) <= {"preparing", "queued", "running"}
    assert s.restore_outcome(r).log.id == out.log.id


def test_a_restore_the_client_must_confirm(start_sim):
    sim = start_sim("--time-scale", "20", "--client-confirms-restores")
    s = urbackup_server(sim.url, USER, PASSWORD)
    b = s.get_backups(1)[0]
    _, folder, _ = a_file_and_its_folder(s, 1, b.id)
    r = s.restore_files(1, b.id, folder)
    assert r.needs_client_confirmation is True and r.filter is None
    assert s.wait_for_restore_outcome(r, interval=0.05, timeout=1.0) is None  # nobody said yes
    sim.control("confirm_restore?client=client-00001&ok=0")
    out = s.wait_for_restore_outcome(r, interval=0.05, timeout=20)
    assert out is not None and not out.succeeded and out.errors


def test_restore_of_a_missing_path_is_refused(server):
    b = server.get_backups(1)[0]
    with pytest.raises(urbackup.UrbackupError):
        server.restore_files(1, b.id, "/no/such/file.txt")


def test_logs(fast):
    sim, s = fast
    assert s.start_backup_typed("client-00001", urbackup.BackupType.INCR_FILE)
    sim.control("advance?secs=600")
    logs = s.get_logs(clientids=[1], min_level=LogLevel.INFO)
    assert logs and all(isinstance(x, urbackup.LogSummary) for x in logs)
    log = s.get_log(logs[0].id)
    assert log is not None and log.lines and all(isinstance(x.level, LogLevel) for x in log.lines)
    assert s.get_log(987654) is None
    acts = s.last_activities()
    assert acts and acts[0].clientid == 1
    lines = s.livelog(clientid=0)
    assert lines and lines[-1].id == max(x.id for x in lines)


def test_users(server, sim):
    server.add_user("frank", "old-pw", rights="status=all")
    frank = next(u for u in server.get_users() if u.name == "frank")
    server.change_password(frank.id, "new-pw")
    assert urbackup_server(sim.url, "frank", "new-pw").login() is True
    assert urbackup_server(sim.url, "frank", "old-pw").login() is False
    server.set_user_rights(frank.id, "all")
    assert next(u for u in server.get_users() if u.name == "frank").rights == "all"
    server.remove_user(frank.id)
    assert "frank" not in [u.name for u in server.get_users()]


def test_groups(server):
    g = server.add_group("lab")
    assert isinstance(g, urbackup.Group) and g.name == "lab"
    assert "lab" in [x.name for x in server.get_groups()]
    server.set_client_group(1, g.id)
    assert server.get_client_status_by_name("client-00001").groupname == "lab"
    saved = server.change_group_settings(g.id, {"update_freq_incr": 3600})
    assert setting(saved, "update_freq_incr") == "3600"
    assert setting(server.get_group_settings(g.id), "update_freq_incr") == "3600"
    server.set_client_group(1, 0)
    server.remove_group(g.id)
    assert "lab" not in [x.name for x in server.get_groups()]


def test_several_settings_in_one_save(server):
    before = server.get_global_settings()
    saved = server.set_global_settings({"update_freq_incr": 5000, "update_freq_full": 600000})
    assert setting(saved, "update_freq_incr") == "5000"
    after = server.get_global_settings()
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert changed == ["update_freq_full", "update_freq_incr"]
    c = server.change_client_settings(2, {"update_freq_incr": 7777})
    assert setting(c, "update_freq_incr") == "7777"


def test_archive_and_delete(server):
    b = server.get_backups(1)[-1]
    server.archive_backup(1, b.id)
    assert next(x for x in server.get_backups(1) if x.id == b.id).archived
    server.unarchive_backup(1, b.id)
    assert not next(x for x in server.get_backups(1) if x.id == b.id).archived
    server.delete_backup(1, b.id)
    gone = [x for x in server.get_backups(1) if x.id == b.id]
    assert not gone or gone[0].delete_pending


def test_login_info_and_client_id(server):
    info = server.login_info()
    assert isinstance(info, dict)
    assert server.client_id("client-00002") == 2
    with pytest.raises(urbackup.ClientNotFoundError):
        server.client_id("ghost")

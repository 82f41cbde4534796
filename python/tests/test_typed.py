"""The specification's typed surface: dataclasses with `raw`, errors raised."""

from __future__ import annotations

import time

import pytest
from conftest import PASSWORD, USER, setting

import urbackup
from urbackup import (
    ActionProgress,
    ActionType,
    BackupEntry,
    BackupType,
    ClientStatus,
    ExtraClient,
    Group,
    InstallerOS,
    LogEntry,
    LogLevel,
    UsageEntry,
    User,
    urbackup_server,
)

SPEC_FIELDS = {
    ClientStatus: ["id", "name", "online", "lastbackup", "lastbackup_image", "file_ok",
                   "image_ok", "ip", "client_version_string", "os_version_string"],
    BackupEntry: ["id", "clientid", "backuptime", "incremental", "size_bytes"],
    UsageEntry: ["name", "used", "files", "images"],
    ActionProgress: ["clientid", "id", "name", "action", "progress_percent"],
    LogEntry: ["id", "message", "level", "time"],
    ExtraClient: ["id", "hostname"],
    User: ["id", "name", "rights"],
    Group: ["id", "name"],
}


def test_data_types_have_the_spec_fields_first_and_raw(server):
    for cls, names in SPEC_FIELDS.items():
        assert list(cls._fields[: len(names)]) == names, cls
    c = server.get_client_statuses()[0]
    assert all(hasattr(c, f) for f in ClientStatus._fields)
    assert c.raw is c.raw and c.raw["name"] == c.name  # parsed once, then kept
    assert repr(c).startswith("ClientStatus(id=1, name='client-00001', online=True")
    assert ClientStatus.from_dict(c.raw) == c and c.to_dict()["name"] == c.name
    assert ClientStatus.from_dict({"id": 9, "name": "x"}).name == "x"  # python-urbackup's from_dict


def test_enums_have_the_spec_values():
    assert [(m.name, m.value) for m in BackupType] == [
        ("INCR_FILE", "incr_file"), ("FULL_FILE", "full_file"),
        ("INCR_IMAGE", "incr_image"), ("FULL_IMAGE", "full_image")]
    assert {m.name: m.value for m in ActionType} == {
        "INCR_FILE": 1, "FULL_FILE": 2, "INCR_IMAGE": 3, "FULL_IMAGE": 4,
        "RESUMED_INCR_FILE": 5, "RESUMED_FULL_FILE": 6, "FILE_RESTORE": 8,
        "IMAGE_RESTORE": 9, "CLIENT_UPDATE": 10, "CHECK_DB_INTEGRITY": 11,
        "BACKUP_DB": 12, "RECALC_STATS": 13}
    assert {m.name: m.value for m in InstallerOS} == {"WINDOWS": "windows", "LINUX": "linux"}
    assert {m.name: m.value for m in LogLevel} == {"ERROR": 1, "WARNING": 2, "INFO": 3, "DEBUG": 4}
    assert urbackup.installer_os is InstallerOS
    assert urbackup_server.action_full_image == ActionType.FULL_IMAGE


def test_get_client_statuses(start_sim):
    # A clock that stands still: the simulator moves every online client's `lastseen` with
    # its clock, so two replies a second apart differ there; with `--manual-clock` they are
    # the same, whatever time passes between them, and `raw` must equal the second reply.
    sim = start_sim("--manual-clock")
    server = urbackup_server(sim.url, USER, PASSWORD)
    cs = server.get_client_statuses()
    assert [c.name for c in cs] == [f"client-0000{i}" for i in range(1, 6)]
    c = cs[0]
    assert isinstance(c, ClientStatus) and c.id == 1 and c.online is True
    time.sleep(1.1)
    assert c.raw["name"] == c.name and c.raw == server.get_status()[0]
    assert isinstance(c.lastbackup, int) and c.lastbackup > 0


def test_get_client_status_by_name(server):
    c = server.get_client_status_by_name("client-00003")
    assert c.id == 3 and c.name == "client-00003"
    with pytest.raises(urbackup.ClientNotFoundError):
        server.get_client_status_by_name("no-such-client")


def test_get_server_identity_str(server):
    assert server.get_server_identity_str() == server.get_server_identity()


def test_get_usage_typed(server):
    u = server.get_usage_typed()
    assert u and all(isinstance(x, UsageEntry) for x in u)
    assert u[0].name == u[0].raw["name"] and u[0].used >= 0


def test_actions_typed(server):
    assert server.get_actions_typed() == []
    assert server.start_backup_typed("client-00002", BackupType.FULL_FILE) is True
    (a,) = server.get_actions_typed()
    assert a.clientid == 2 and a.action is ActionType.FULL_FILE and a.name == "client-00002"
    assert server.stop_action_typed(a) is True
    assert server.get_actions_typed() == []


def test_start_backup_typed_every_type(server):
    for name, t in [("client-00001", BackupType.INCR_FILE), ("client-00002", BackupType.FULL_FILE),
                    ("client-00003", BackupType.INCR_IMAGE), ("client-00001", BackupType.FULL_IMAGE)]:
        assert server.start_backup_typed(name, t) is True
    got = sorted((a.clientid, a.action) for a in server.get_actions_typed())
    assert got == [(1, ActionType.INCR_FILE), (1, ActionType.FULL_IMAGE),
                   (2, ActionType.FULL_FILE), (3, ActionType.INCR_IMAGE)]
    assert server.start_backup_typed("client-00005", "incr_file") is True  # plain str too
    with pytest.raises(urbackup.ClientNotFoundError):
        server.start_backup_typed("no-such-client", BackupType.INCR_FILE)
    with pytest.raises(ValueError):
        server.start_backup_typed("client-00001", "weekly")


def test_get_livelog_typed(server):
    log = server.get_livelog_typed()
    assert log and all(isinstance(e, LogEntry) for e in log)
    e = log[0]
    assert e.message == e.raw["msg"] and e.level is LogLevel.from_server(e.raw["loglevel"])
    assert server.get_livelog_typed(clientid=1) is not None


def test_get_extra_clients_typed(server):
    assert server.get_extra_clients_typed() == []
    server.add_extra_client("backup-nas")
    (e,) = server.get_extra_clients_typed()
    assert isinstance(e, ExtraClient) and e.hostname == "backup-nas" and isinstance(e.id, int)


def test_get_backups(server):
    bs = server.get_backups(1)
    assert bs and all(isinstance(b, BackupEntry) and b.clientid == 1 for b in bs)
    assert not any(b.image for b in bs)
    assert bs[0].backuptime >= bs[-1].backuptime


def test_get_global_settings_typed(server):
    s = server.get_global_settings_typed()
    assert s == server.get_global_settings()


def test_set_global_setting_typed(server):
    assert server.set_global_setting_typed("update_freq_full", 1234567) is True
    assert setting(server.get_global_settings_typed(), "update_freq_full") == "1234567"


def test_client_settings_typed(server):
    s = server.get_client_settings_typed("client-00002")
    assert s == server.get_client_settings("client-00002")
    assert server.change_client_setting_typed("client-00002", "update_freq_incr", 9000) is True
    assert setting(server.get_client_settings_typed("client-00002"), "update_freq_incr") == "9000"
    with pytest.raises(KeyError):
        server.change_client_setting_typed("client-00002", "no_such_key", 1)
    with pytest.raises(urbackup.ClientNotFoundError):
        server.get_client_settings_typed("no-such-client")


def test_get_users(server):
    (u,) = server.get_users()
    assert isinstance(u, User) and u.name == "admin" and u.rights == "all" and u.raw["name"] == "admin"


def test_get_groups(server):
    gs = server.get_groups()
    assert gs and all(isinstance(g, Group) for g in gs)
    assert {g.name for g in gs} >= {"office", "servers"}


def test_add_user(server):
    assert server.add_user("carol", "carol-pw") is True
    assert server.add_user("dave", "dave-pw", rights="status=all") is True
    users = {u.name: u for u in server.get_users()}
    assert users["carol"].rights == "all"
    assert "status" in users["dave"].rights
    with pytest.raises(urbackup.UserAlreadyExistsError):
        server.add_user("carol", "again")


def test_download_installer_typed(server, tmp_path):
    dest = tmp_path / "inst"
    assert server.download_installer_typed(str(dest), "typed-client") is True
    assert dest.stat().st_size > 0
    assert server.get_client_status_by_name("typed-client").name == "typed-client"
    dest2 = tmp_path / "inst.exe"
    assert server.download_installer_typed(dest2, "typed-client", os=InstallerOS.WINDOWS) is True
    assert dest2.stat().st_size > 0

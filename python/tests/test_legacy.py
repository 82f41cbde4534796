"""The specification's legacy surface: raw dict/list, None/False on failure."""

from __future__ import annotations

from conftest import PASSWORD, USER, setting

from urbackup import urbackup_server


def test_login(server, sim):
    assert server.login() is True
    assert server.login() is True  # a session exists: no second login
    assert sim.control("stats")["logins"] == 1


def test_login_fails_with_wrong_password(sim):
    assert urbackup_server(sim.url, USER, "wrong").login() is False
    assert urbackup_server(sim.url, "nobody", PASSWORD).login() is False


def test_get_status(server):
    st = server.get_status()
    assert isinstance(st, list) and len(st) == 5
    assert {c["name"] for c in st} == {f"client-0000{i}" for i in range(1, 6)}
    assert all(isinstance(c, dict) and "id" in c and "lastbackup" in c for c in st)


def test_get_client_status(server):
    c = server.get_client_status("client-00002")
    assert c["name"] == "client-00002" and c["id"] == 2
    assert server.get_client_status("no-such-client") is None


def test_get_server_identity(server):
    ident = server.get_server_identity()
    assert isinstance(ident, str) and ident


def test_get_usage(server):
    u = server.get_usage()
    assert isinstance(u, list) and u
    assert {"name", "used", "files", "images"} <= set(u[0])


def test_get_actions_and_stop_action(server):
    assert server.get_actions() == []
    assert server.start_full_file_backup("client-00001") is True
    actions = server.get_actions()
    assert len(actions) == 1 and actions[0]["clientid"] == 1
    assert server.stop_action(actions[0]) is True
    assert server.get_actions() == []
    assert server.stop_action({"no": "ids"}) is False


def test_get_livelog(server):
    log = server.get_livelog()
    assert isinstance(log, list) and log
    assert {"id", "msg", "loglevel", "time"} <= set(log[0])
    assert server.get_livelog(clientid=1) is not None


def test_extra_clients(server):
    assert server.get_extra_clients() == []
    assert server.add_extra_client("10.1.2.3") is True
    ecs = server.get_extra_clients()
    assert [e["hostname"] for e in ecs] == ["10.1.2.3"]
    assert server.remove_extra_client(ecs[0]["id"]) is True
    assert server.get_extra_clients() == []


def test_global_settings(server):
    s = server.get_global_settings()
    assert isinstance(s, dict) and "backupfolder" in s
    assert server.set_global_setting("update_freq_incr", 7200) is True
    assert setting(server.get_global_settings(), "update_freq_incr") == "7200"


def test_client_settings(server):
    s = server.get_client_settings("client-00001")
    assert isinstance(s, dict) and "update_freq_incr" in s
    assert server.get_client_settings("no-such-client") is None
    assert server.change_client_setting("client-00001", "update_freq_incr", "7200") is True
    s = server.get_client_settings("client-00001")
    assert setting(s, "update_freq_incr") == "7200"
    assert server.change_client_setting("client-00001", "no_such_key", 1) is False
    assert server.change_client_setting("no-such-client", "update_freq_incr", 1) is False


def test_get_client_authkey(server):
    key = server.get_client_authkey("client-00001")
    assert isinstance(key, str) and key
    assert server.get_client_authkey("no-such-client") is None


def test_add_client(server):
    r = server.add_client("newbie")
    assert r is not None and r["new_clientname"] == "newbie" and r["new_authkey"]
    assert server.get_client_status("newbie") is not None
    assert server.add_client("newbie") is None  # exists already


def test_start_backups(server):
    assert server.start_incr_file_backup("client-00001") is True
    assert server.start_full_file_backup("client-00002") is True
    assert server.start_incr_image_backup("client-00003") is True
    assert server.start_full_image_backup("client-00001") is True
    kinds = sorted((a["clientid"], a["action"]) for a in server.get_actions())
    assert kinds == [(1, 1), (1, 4), (2, 2), (3, 3)]
    assert server.start_incr_image_backup("client-00004") is False  # offline
    assert server.start_incr_file_backup("no-such-client") is False


def test_download_installer(server, tmp_path):
    dest = tmp_path / "installer.sh"
    assert server.download_installer(str(dest), "fresh-client") is True
    assert dest.stat().st_size > 0
    dest2 = tmp_path / "setup.exe"
    assert server.download_installer(str(dest2), "fresh-client", os="windows") is True
    assert dest2.stat().st_size > 0


def test_failures_are_none_and_false(start_sim):
    s = start_sim()
    url = s.url
    s.stop()  # nothing listens any more
    dead = urbackup_server(url, USER, PASSWORD, connect_timeout=1.0, read_retries=0)
    assert dead.login() is False
    assert dead.get_status() is None
    assert dead.get_client_status("client-00001") is None
    assert dead.get_server_identity() is None
    assert dead.get_usage() is None
    assert dead.get_actions() is None
    assert dead.get_livelog() is None
    assert dead.get_extra_clients() is None
    assert dead.get_global_settings() is None
    assert dead.get_client_settings("client-00001") is None
    assert dead.get_client_authkey("client-00001") is None
    assert dead.set_global_setting("a", 1) is False
    assert dead.change_client_setting("client-00001", "a", 1) is False
    assert dead.add_client("x") is None
    assert dead.add_extra_client("h") is False
    assert dead.remove_extra_client(1) is False
    assert dead.start_incr_file_backup("client-00001") is False
    assert dead.start_full_file_backup("client-00001") is False
    assert dead.start_incr_image_backup("client-00001") is False
    assert dead.start_full_image_backup("client-00001") is False
    assert dead.stop_action({"clientid": 1, "id": 1}) is False
    assert dead.download_installer("/nonexistent/x", "c") is False

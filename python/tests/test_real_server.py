"""Read-only checks against a real UrBackup server (2.5 or 2.4); skipped, with the reason shown
by ``scripts/test-python.sh``, unless URBACKUP_TEST_URL is set (the variables of
crates/urbackup/tests/real_server.rs):

    URBACKUP_TEST_URL=http://127.0.0.1:55414/x URBACKUP_TEST_USER=admin \
    URBACKUP_TEST_PASSWORD=... [URBACKUP_TEST_CLIENT=name] pytest tests/test_real_server.py

Nothing here writes, and nothing logs in with a wrong password (the server bans an address
after a few failed logins).
"""

from __future__ import annotations

import os
import threading

import pytest

import urbackup
from urbackup import urbackup_server

URL = os.environ.get("URBACKUP_TEST_URL")
pytestmark = pytest.mark.skipif(
    not URL, reason="needs a real UrBackup server: URBACKUP_TEST_URL is not set"
)


@pytest.fixture(scope="module")
def real():
    return urbackup_server(URL, os.environ.get("URBACKUP_TEST_USER", "admin"),
                           os.environ.get("URBACKUP_TEST_PASSWORD", ""))


@pytest.fixture(scope="module")
def client(real):
    name = os.environ.get("URBACKUP_TEST_CLIENT")
    return real.get_client_status_by_name(name) if name else real.get_client_statuses()[0]


def test_login_and_status(real):
    assert real.login() is True
    raw = real.get_status()
    typed = real.get_client_statuses()
    assert [c["name"] for c in raw] == [c.name for c in typed]
    assert [c.raw for c in typed] == raw


def test_identity_usage_actions(real):
    assert real.get_server_identity_str() == real.get_server_identity()
    assert [u.name for u in real.get_usage_typed()] == [u["name"] for u in real.get_usage()]
    assert isinstance(real.get_actions_typed(), list)


def test_livelog_twice_and_an_empty_one(real):
    first = real.get_livelog()
    assert isinstance(first, list) and isinstance(real.get_livelog(), list)
    assert all(isinstance(e.level, urbackup.LogLevel) for e in real.get_livelog_typed())
    if first:
        assert real.livelog(0, lastid=max(e["id"] for e in first) + 1000000) == []


def test_settings_typed_equal_legacy(real, client):
    assert real.get_global_settings_typed() == real.get_global_settings()
    assert real.get_client_settings_typed(client.name) == real.get_client_settings(client.name)
    assert isinstance(real.get_client_authkey(client.name), str)


def test_backups_and_browse(real, client):
    files = real.get_backups(client.id)
    images = real.get_image_backups(client.id)
    assert all(not b.image for b in files) and all(b.image for b in images)
    if files:
        listing = real.browse_backup(client.id, files[0].id, "/")
        assert listing.backupid == files[0].id


def test_names_that_are_not_utf8(real, client, tmp_path):
    """Every listed name (a Latin-1 one among them, if the client has backed one up) can be
    taken back: a file found by it downloads, with the size the listing gives."""
    files = real.get_backups(client.id)
    if not files:
        pytest.skip("the client has no file backup")
    root = real.browse_backup(client.id, files[0].id, "/")
    for top in [f for f in root.files if f.dir][:2]:
        listing = real.browse_backup(client.id, files[0].id, "/" + top.name)
        for f in listing.files:
            if not f.dir and "\\x" in f.name:
                dest = tmp_path / "f"
                n = real.download_file(client.id, files[0].id, f"/{top.name}/{f.name}", dest)
                assert n == f.size
                assert urbackup.name_from_bytes(urbackup.name_to_bytes(f.name)) == f.name


def test_users_groups_logs(real):
    assert [u.name for u in real.get_users()]
    assert isinstance(real.get_groups(), list)
    assert isinstance(real.get_logs(min_level=urbackup.LogLevel.INFO), list)
    assert isinstance(real.last_activities(), list)


def test_errors(real):
    with pytest.raises(urbackup.ClientNotFoundError):
        real.get_client_status_by_name("no-such-client-for-python-tests")


def test_threads_share_the_session(real):
    out = []
    threads = [threading.Thread(target=lambda: out.append(len(real.get_client_statuses())))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 8 and len(set(out)) == 1

"""The silent failures of python-urbackup 1.0.0 (the specification's origin), each right here."""

from __future__ import annotations

from conftest import PASSWORD, setting

from urbackup import urbackup_server


def test_add_user_adds_the_user(server, sim):
    # 1.0.0 sends `updatesettings` (a no-op on a real server) and reports success.
    assert server.add_user("erin", "erin-pw", rights="all") is True
    assert "erin" in [u.name for u in server.get_users()]
    assert urbackup_server(sim.url, "erin", "erin-pw").login() is True
    assert urbackup_server(sim.url, "erin", "not-" + PASSWORD).login() is False


def test_get_groups_returns_groups(server):
    # 1.0.0 asks for `listgroups`, which the server does not have: always [].
    names = {g.name for g in server.get_groups()}
    assert {"office", "servers"} <= names


def test_set_global_setting_changes_only_that_key(server, sim):
    # 1.0.0 posts every setting it read back (values as nested objects): dozens rewritten.
    before = server.get_global_settings()
    assert server.set_global_setting("update_freq_incr", 4321) is True
    after = server.get_global_settings()
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == ["update_freq_incr"]
    assert setting(after, "update_freq_incr") == "4321"
    # The typed twin too.
    assert server.set_global_setting_typed("update_freq_full", 99999) is True
    again = server.get_global_settings()
    changed = sorted(k for k in set(after) | set(again) if after.get(k) != again.get(k))
    assert changed == ["update_freq_full"]


def test_image_backup_lists_work(server):
    # 1.0.0 reads `image_backups`, a key the server never sends: always [].
    images = server.get_image_backups(1)
    assert images and all(b.image and b.clientid == 1 for b in images)
    files = server.get_backups(1)
    assert files and not any(b.image for b in files)


def test_get_livelog_on_an_empty_log_does_not_crash(server):
    # 1.0.0 sends `lastid` = the last id it saw; when nothing new came the server answers an
    # empty `logdata`, and 1.0.0 raises IndexError on `logdata[-1]` (so every second call
    # on a quiet server crashes). Here `get_livelog` sends no `lastid` and an empty reply is [].
    first = server.get_livelog()
    assert first and server.get_livelog() == first
    assert server.get_livelog_typed() and server.get_livelog_typed()
    last = max(e["id"] for e in first)
    assert server.livelog(clientid=0, lastid=last) == []  # the empty log: waits, then []

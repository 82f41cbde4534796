"""Starts the server would accept and never run, against a real UrBackup server (2.5 or 2.4):
an image backup of a client that cannot do image backups is refused on every surface (on 2.4
it would stop every file backup of the client until the server restarts), nothing reaches the
client's connection thread (the server's live log, where it notes each message it reads), and
a file backup started afterwards finishes. Writes: skipped unless URBACKUP_TEST_URL,
URBACKUP_TEST_ALLOW_WRITE=1 and URBACKUP_TEST_CLIENT (an online client) are set, as for
crates/urbackup/tests/real_server.rs.
"""

from __future__ import annotations

import os
import time

import pytest

import urbackup
from urbackup import BackupType, UnsupportedError, urbackup_server

URL = os.environ.get("URBACKUP_TEST_URL")
CLIENT = os.environ.get("URBACKUP_TEST_CLIENT")
pytestmark = pytest.mark.skipif(
    not (URL and CLIENT and os.environ.get("URBACKUP_TEST_ALLOW_WRITE") == "1"),
    reason="needs a real UrBackup server: URBACKUP_TEST_URL, URBACKUP_TEST_CLIENT and "
    "URBACKUP_TEST_ALLOW_WRITE=1",
)


def wait_until(what, limit, f):
    t0 = time.monotonic()
    while not f():
        assert time.monotonic() - t0 < limit, f"{what}: not within {limit} s"
        time.sleep(0.5)


def server_lines_after(real, after):
    return [e.message for e in real.get_livelog_typed(0) if e.id > after]


def newest_server_line(real):
    return max((e.id for e in real.get_livelog_typed(0)), default=0)


def a_new_minute(real, clientid):
    """The server names a backup's folder by its minute: a second one in the same minute
    fails. Waits for the minute after the newest backup or backup log."""
    logs = real.get_logs([clientid], min_level=urbackup.LogLevel.INFO)
    newest = max([b.backuptime for b in real.get_backups(clientid)]
                 + [lg.time for lg in logs if not lg.restore] + [0])
    wait = (newest // 60 + 1) * 60 + 1 - time.time()
    if wait > 0:
        time.sleep(wait)


def test_an_image_start_is_refused_and_a_file_backup_then_finishes():
    real = urbackup_server(URL, os.environ.get("URBACKUP_TEST_USER", "admin"),
                           os.environ.get("URBACKUP_TEST_PASSWORD", ""))
    client = real.get_client_status_by_name(CLIENT)
    assert client.online, f"{CLIENT} must be online"
    if not client.image_not_supported:
        pytest.skip(f"{CLIENT} can do image backups: no image start to refuse")
    last = newest_server_line(real)
    for t in (BackupType.INCR_IMAGE, BackupType.FULL_IMAGE):
        with pytest.raises(UnsupportedError) as e:
            real.start_backup_typed(CLIENT, t)
        assert f"`{CLIENT}` (the client cannot do image backups)" in str(e.value)
    assert real.start_incr_image_backup(CLIENT) is False
    assert real.start_full_image_backup(CLIENT) is False
    lines = server_lines_after(real, last)
    assert not [m for m in lines if "msg=START" in m], lines

    before = len(real.get_backups(client.id))
    a_new_minute(real, client.id)
    last = newest_server_line(real)
    wait_until("start_backup", 60, lambda: real.start_incr_file_backup(CLIENT))
    wait_until("msg=START BACKUP INCR", 30,
               lambda: "msg=START BACKUP INCR" in server_lines_after(real, last))
    assert not [m for m in server_lines_after(real, last) if "msg=START IMAGE" in m]
    wait_until("the new backup", 300,
               lambda: len(real.get_backups(client.id)) > before
               and not [a for a in real.get_actions_typed() if a.clientid == client.id])

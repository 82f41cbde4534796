"""Starts the server would accept and never run are never sent, against the simulator in both
server versions: an image backup of a Linux client (UrBackup 2.4 would then run no file backup
of it until restarted: the simulator in 2.4 mode does the same), and a kind switched off on the
server. The simulator counts the `start_backup` requests that reach it.
"""

from __future__ import annotations

import pytest

from urbackup import BackupType, UnsupportedError, urbackup_server

from conftest import PASSWORD, USER

LINUX = "client-00005"  # online, Linux (no image backups)
WINDOWS = "client-00001"  # online, Windows


VERSIONS = pytest.mark.parametrize("version", ["2.4.15", "2.5.33"])


@VERSIONS
def test_an_image_backup_of_a_linux_client_is_refused_and_its_file_backups_run(
    start_sim, version
):
    sim = start_sim("--server-version", version)
    s = urbackup_server(sim.url, USER, PASSWORD)
    generation = version[:3]
    for t in (BackupType.INCR_IMAGE, BackupType.FULL_IMAGE):
        with pytest.raises(UnsupportedError) as e:
            s.start_backup_typed(LINUX, t)
        text = str(e.value)
        assert f"UrBackup {generation}" in text
        assert f"`{LINUX}` (the client cannot do image backups)" in text
        assert "not sent" in text
    assert s.start_incr_image_backup(LINUX) is False
    assert s.start_full_image_backup(LINUX) is False
    assert sim.requests("start_backup") == 0

    clientid = s.get_client_status_by_name(LINUX).id
    before = len(s.get_backups(clientid))
    assert s.start_backup_typed(LINUX, BackupType.INCR_FILE) is True
    assert [a.clientid for a in s.get_actions_typed()] == [clientid]
    sim.control("advance?secs=30")
    assert s.get_actions_typed() == []
    assert len(s.get_backups(clientid)) == before + 1
    assert sim.requests("start_backup") == 1


@VERSIONS
def test_a_kind_switched_off_on_the_server_is_refused(start_sim, version):
    sim = start_sim("--server-version", version)
    s = urbackup_server(sim.url, USER, PASSWORD)
    assert s.set_global_setting("no_images", True) is True
    with pytest.raises(UnsupportedError, match=r"switched off on the server \(no_images\)"):
        s.start_backup_typed(WINDOWS, BackupType.FULL_IMAGE)
    assert s.start_incr_image_backup(WINDOWS) is False
    assert s.set_global_setting("no_images", False) is True
    assert s.set_global_setting("no_file_backups", True) is True
    with pytest.raises(UnsupportedError, match=r"\(no_file_backups\)"):
        s.start_backup_typed(WINDOWS, BackupType.INCR_FILE)
    assert s.start_full_file_backup(WINDOWS) is False
    assert sim.requests("start_backup") == 0
    assert s.start_full_image_backup(WINDOWS) is True
    assert sim.requests("start_backup") == 1

"""Names that are not UTF-8 and UrBackup 2.4, against the simulator.

The simulator's client-00009 has ``/etc/caf\\xE9-latin1.txt`` (a Latin-1 name) in its backups:
the package shows it escaped, as the crate does, and takes that name back.
"""

from __future__ import annotations

import pytest

import urbackup
from urbackup import urbackup_server

from conftest import PASSWORD, USER

SHOWN = "caf\\xE9-latin1.txt"


def test_the_rule_both_ways():
    assert urbackup.name_from_bytes(b"caf\xe9-latin1.txt") == SHOWN
    assert urbackup.name_to_bytes(SHOWN) == b"caf\xe9-latin1.txt"
    assert urbackup.name_to_bytes("plain") == b"plain"
    assert urbackup.name_from_bytes("é".encode()) == "é"


@pytest.mark.parametrize("version", ["2.5.33", "2.4.15"])
def test_a_latin1_name_is_listed_and_taken_back(start_sim, tmp_path, version):
    sim = start_sim(
        "--clients", "9", "--admin", f"{USER}:{PASSWORD}", "--login-delay-ms", "0",
        "--time-scale", "20", "--server-version", version, base=False,
    )
    s = urbackup_server(sim.url, USER, PASSWORD)
    c = s.get_client_status_by_name("client-00009")
    b = s.get_backups(c.id)[0]
    listing = s.browse_backup(c.id, b.id, "/etc")
    names = [f.name for f in listing.files]
    assert SHOWN in names, names
    dest = tmp_path / "f"
    assert s.download_file(c.id, b.id, "/etc/" + SHOWN, dest) == 19
    r = s.restore_files(c.id, b.id, "/etc/" + SHOWN)
    assert r.filter == SHOWN
    out = s.wait_for_restore_outcome(r, interval=0.05, timeout=20)
    assert out is not None and out.succeeded
    log = s.get_log(s.get_logs(clientids=[c.id], min_level=urbackup.LogLevel.INFO)[-1].id)
    assert any(SHOWN in line.message for line in log.lines)


def test_settings_of_a_2_4_server(start_sim):
    sim = start_sim("--server-version", "2.4.15")
    s = urbackup_server(sim.url, USER, PASSWORD)
    assert s.change_client_setting_typed("client-00001", "local_speed", 7654321) is True
    assert s.get_client_settings("client-00001")["local_speed"] == "7654321"
    assert s.change_client_setting("client-00001", "local_speed", "-1") is True
    with pytest.raises(urbackup.UnsupportedError):
        s.change_client_setting_typed("client-00001", "download_threads", 2)
    assert s.set_global_setting("max_sim_backups", 7) is True

"""A script written for python-urbackup 1.0.0 runs unchanged against this package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PASSWORD, USER

SCRIPT = Path(__file__).parent / "compat" / "python_urbackup_1_0_0_script.py"


@pytest.mark.parametrize("write", [False, True])
def test_a_python_urbackup_1_0_0_script_runs_unchanged(start_sim, write):
    sim = start_sim()
    env = dict(os.environ, URBACKUP_URL=sim.url, URBACKUP_USER=USER, URBACKUP_PASSWORD=PASSWORD)
    if write:
        env["COMPAT_WRITE"] = "1"
    r = subprocess.run([sys.executable, str(SCRIPT), "client-00002"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("all checks passed")
    assert "FAIL" not in r.stdout
    if write:
        assert "stop_action()" in r.stdout

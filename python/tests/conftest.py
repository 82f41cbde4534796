"""Starts `urbackup-sim` (the workspace's simulated UrBackup 2.5 server) for the tests.

The binary is `$URBACKUP_SIM` if set, else `<target>/debug/urbackup-sim` (`$CARGO_TARGET_DIR`
or the workspace's `target/`), built with `cargo build -p urbackup-sim` when missing.
Each test gets its own simulator process on a free port (state is never shared).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "admin", "secret"


def _sim_binary() -> Path:
    env = os.environ.get("URBACKUP_SIM")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    binary = target / "debug" / "urbackup-sim"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "urbackup-sim"], cwd=ROOT, check=True
        )
    return binary


def setting(settings: dict, key: str) -> str:
    """The effective value of a setting as text (UrBackup 2.5 nests it: `{"value": ...}`;
    for clients `use` says which of `value`, `value_group`, `value_client` applies)."""
    v = settings[key]
    if isinstance(v, dict):
        # `use` 2: the client's own value; 1: the group's; 4: the client-set one.
        use = v.get("use", 2)
        k = {1: "value_group", 4: "value_client"}.get(use, "value")
        v = v.get(k, v.get("value", ""))
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Sim:
    """A running simulator: `url` for the client, `control()` for `/_sim/...`."""

    def __init__(self, args: List[str]) -> None:
        self.proc = subprocess.Popen(
            [str(SIM_BINARY), "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on " not in line:
            self.proc.kill()
            raise RuntimeError(f"urbackup-sim did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip()
        self.base = self.url.rsplit("/x", 1)[0]

    def control(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.base}/_sim/{path}", timeout=10) as r:
            body = r.read().decode()
        try:
            return json.loads(body)
        except ValueError:
            return {"body": body}

    def requests(self, action: str) -> int:
        return int(self.control("stats").get("requests", {}).get(action, 0))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


SIM_BINARY = _sim_binary()

BASE_ARGS = [
    "--clients", "5",
    "--admin", f"{USER}:{PASSWORD}",
    "--login-delay-ms", "0",
    "--no-rate-limit",
    "--livelog-wait-ms", "300",
]


@pytest.fixture
def start_sim() -> Iterator:
    """A factory: `start_sim(*extra_args)` starts a simulator (stopped after the test)."""
    sims: List[Sim] = []

    def start(*extra: str, base: bool = True) -> Sim:
        s = Sim((BASE_ARGS if base else []) + list(extra))
        sims.append(s)
        return s

    yield start
    for s in sims:
        s.stop()


@pytest.fixture
def sim(start_sim) -> Sim:
    return start_sim()


@pytest.fixture
def server(sim):
    from urbackup import urbackup_server

    return urbackup_server(sim.url, USER, PASSWORD)

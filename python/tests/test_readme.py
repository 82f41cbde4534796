"""Every ```python block of python/README.md runs against the simulator."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_there_are_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("n", range(len(BLOCKS)))
def test_readme_example(n, start_sim, tmp_path):
    sim = start_sim("--time-scale", "50")
    code = BLOCKS[n].replace("http://127.0.0.1:55414/x", sim.url)
    script = tmp_path / f"example_{n}.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), "the example printed nothing"

"""The type stubs cover the extension module (so editors complete every method)."""

from __future__ import annotations

import re
from pathlib import Path

import urbackup
from urbackup import _urbackup

STUB = (Path(urbackup.__file__).parent / "_urbackup.pyi").read_text()


def test_the_stub_and_py_typed_ship():
    assert (Path(urbackup.__file__).parent / "py.typed").exists()


def test_every_method_of_the_extension_is_in_the_stub():
    defined = set(re.findall(r"def (\w+)\(", STUB))
    for name in dir(_urbackup.Server):
        if name.startswith("__"):
            continue
        assert name in defined, f"{name} is not in _urbackup.pyi"


def test_every_data_class_and_its_fields_are_in_the_stub():
    for cls in (urbackup.ClientStatus, urbackup.BackupEntry, urbackup.UsageEntry,
                urbackup.ActionProgress, urbackup.LogEntry, urbackup.ExtraClient,
                urbackup.User, urbackup.Group):
        body = STUB.split(f"class {cls.__name__}(_Model):", 1)[1].split("\nclass ", 1)[0]
        for f in cls._fields:
            assert re.search(rf"^    {f}: ", body, re.M), f"{cls.__name__}.{f}"

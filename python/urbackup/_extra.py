"""Data types of the methods beyond the specification (dataclasses; imported on first use,
so that ``import urbackup`` does not pay for the ``dataclasses`` module)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._types import LogLevel

__all__ = ["Activity", "FileEntry", "BackupListing", "LogSummary", "LogLine", "Log", "RestoreOutcome"]

_FIELDS: Dict[type, frozenset] = {}


def _build(cls: Any, data: Dict[str, Any]) -> Any:
    names = _FIELDS.get(cls)
    if names is None:
        names = frozenset(f.name for f in dataclasses.fields(cls))
        _FIELDS[cls] = names
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Activity:
    """A finished backup, restore or deletion (``last_activities()``)."""

    id: int
    clientid: int
    name: str = ""
    backuptime: int = 0
    incremental: int = 0
    duration: int = 0
    size_bytes: int = 0
    image: bool = False
    deletion: bool = False
    restore: bool = False
    resumed: bool = False
    details: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Activity":
        return _build(cls, data)


@dataclass
class FileEntry:
    """A file or folder in a backup listing."""

    name: str
    dir: bool = False
    size: int = 0
    mod_time: int = 0
    creat: int = 0
    access: int = 0
    shahash: Optional[str] = None
    backupid: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "FileEntry":
        return _build(cls, data)


@dataclass
class BackupListing:
    """A folder of a backup (``browse_backup()``)."""

    clientid: int
    clientname: str
    backupid: int
    backuptime: int
    path: str
    files: List[FileEntry] = field(default_factory=list)
    can_restore: bool = False
    server_confirms_restore: bool = False

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "BackupListing":
        obj = _build(cls, data)
        obj.files = [FileEntry.from_dict(f) for f in data.get("files", [])]
        return obj


@dataclass
class LogSummary:
    """A stored log (one per backup or restore) in ``get_logs()``."""

    id: int
    name: str = ""
    time: int = 0
    errors: int = 0
    warnings: int = 0
    image: bool = False
    incremental: bool = False
    resumed: bool = False
    restore: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "LogSummary":
        return _build(cls, data)


@dataclass
class LogLine:
    """One line of a stored log; ``level`` is a :class:`LogLevel`."""

    level: int
    time: int
    message: str

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "LogLine":
        return cls(
            level=LogLevel.from_server(data.get("level", 0)),
            time=data.get("time", 0),
            message=data.get("message", ""),
        )


@dataclass
class Log:
    """A stored log with its lines (``get_log()``)."""

    id: int
    clientname: str
    time: int
    lines: List[LogLine] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Log":
        return cls(
            id=data["id"],
            clientname=data.get("clientname", ""),
            time=data.get("time", 0),
            lines=[LogLine.from_dict(x) for x in data.get("lines", [])],
        )


@dataclass
class RestoreOutcome:
    """How a restore ended, judged from its own log on the server."""

    log: LogSummary
    lines: List[LogLine]
    elapsed: float
    succeeded: bool

    @property
    def errors(self) -> List[LogLine]:
        """The error lines: why it failed."""
        return [x for x in self.lines if x.level == LogLevel.ERROR]

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RestoreOutcome":
        return cls(
            log=LogSummary.from_dict(data["log"]),
            lines=[LogLine.from_dict(x) for x in data.get("lines", [])],
            elapsed=data.get("elapsed", 0.0),
            succeeded=data.get("succeeded", False),
        )

"""The specification's enums and data types.

Each data type keeps the specification's fields first, in its order (so positional
construction works as with python-urbackup), then the extra fields the server sends, and
``raw``: the object exactly as the server sent it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any, Dict, List, Optional, Union

__all__ = [
    "BackupType",
    "ActionType",
    "InstallerOS",
    "installer_os",
    "LogLevel",
    "ClientStatus",
    "BackupEntry",
    "UsageEntry",
    "ActionProgress",
    "LogEntry",
    "ExtraClient",
    "User",
    "Group",
    "Activity",
    "FileEntry",
    "BackupListing",
    "LogSummary",
    "LogLine",
    "Log",
    "RestoreOutcome",
]


class BackupType(str, Enum):
    """What ``start_backup_typed`` starts."""

    INCR_FILE = "incr_file"
    FULL_FILE = "full_file"
    INCR_IMAGE = "incr_image"
    FULL_IMAGE = "full_image"


class ActionType(IntEnum):
    """What a running process does (``ActionProgress.action``)."""

    INCR_FILE = 1
    FULL_FILE = 2
    INCR_IMAGE = 3
    FULL_IMAGE = 4
    RESUMED_INCR_FILE = 5
    RESUMED_FULL_FILE = 6
    FILE_RESTORE = 8
    IMAGE_RESTORE = 9
    CLIENT_UPDATE = 10
    CHECK_DB_INTEGRITY = 11
    BACKUP_DB = 12
    RECALC_STATS = 13


class InstallerOS(str, Enum):
    """The installer ``download_installer_typed`` fetches."""

    WINDOWS = "windows"
    LINUX = "linux"


#: python-urbackup's lower-case alias of :class:`InstallerOS`.
installer_os = InstallerOS


class LogLevel(IntEnum):
    """Severity of a log line, with the specification's values.

    The server numbers them differently (debug -1, info 0, warning 1, error 2; kept in
    ``raw["loglevel"]``); ``LogEntry.level`` and ``LogLine.level`` are converted to this enum,
    so ``entry.level == LogLevel.ERROR`` means what it says.
    """

    ERROR = 1
    WARNING = 2
    INFO = 3
    DEBUG = 4

    @classmethod
    def from_server(cls, code: int) -> "LogLevel":
        """The level for the server's value."""
        if code <= -1:
            return cls.DEBUG
        if code == 0:
            return cls.INFO
        if code == 1:
            return cls.WARNING
        return cls.ERROR


def _action(code: int) -> Union[ActionType, int]:
    try:
        return ActionType(code)
    except ValueError:
        return code


_FIELDS: Dict[type, frozenset] = {}


def _build(cls: Any, data: Dict[str, Any]) -> Any:
    names = _FIELDS.get(cls)
    if names is None:
        names = frozenset(f.name for f in dataclasses.fields(cls))
        _FIELDS[cls] = names
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class ClientStatus:
    """One client of ``get_client_statuses()``."""

    id: int
    name: str
    online: bool = False
    lastbackup: int = 0
    lastbackup_image: int = 0
    file_ok: bool = False
    image_ok: bool = False
    ip: str = ""
    client_version_string: str = ""
    os_version_string: str = ""
    os_simple: str = ""
    lastseen: int = 0
    groupname: str = ""
    delete_pending: bool = False
    file_disabled: bool = False
    image_disabled: bool = False
    image_not_supported: bool = False
    no_backup_paths: bool = False
    last_filebackup_issues: int = 0
    status: int = 0
    uid: str = ""
    processes: List[Dict[str, Any]] = field(default_factory=list, repr=False)
    rejected: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ClientStatus":
        return _build(cls, data)


@dataclass
class BackupEntry:
    """One file or image backup of ``get_backups()`` / ``get_image_backups()``."""

    id: int
    clientid: int
    backuptime: int
    incremental: int = 0
    size_bytes: int = 0
    archived: bool = False
    archive_timeout: Optional[int] = None
    delete_pending: bool = False
    disable_delete: bool = False
    letter: Optional[str] = None
    image: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "BackupEntry":
        return _build(cls, data)


@dataclass
class UsageEntry:
    """Storage used by one client."""

    name: str
    used: int = 0
    files: int = 0
    images: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "UsageEntry":
        return _build(cls, data)


@dataclass
class ActionProgress:
    """A running action; ``action`` is an :class:`ActionType` when it is a known one."""

    clientid: int
    id: int
    name: str = ""
    action: int = 0
    progress_percent: int = -1
    details: str = ""
    detail_pc: int = -1
    total_bytes: int = -1
    done_bytes: int = 0
    speed_bpms: float = 0.0
    eta_ms: int = -1
    queue: int = 0
    logid: int = 0
    paused: bool = False
    can_stop_backup: bool = False
    can_show_backup_log: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ActionProgress":
        obj = _build(cls, data)
        obj.action = _action(obj.action)
        return obj


@dataclass
class LogEntry:
    """A live-log line; ``level`` is a :class:`LogLevel`."""

    id: int
    message: str
    level: int = LogLevel.INFO
    time: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "LogEntry":
        obj = _build(cls, data)
        obj.level = LogLevel.from_server(obj.level)
        return obj


@dataclass
class ExtraClient:
    """An extra client (a host name the server probes)."""

    id: int
    hostname: str
    online: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ExtraClient":
        return _build(cls, data)


@dataclass
class User:
    """A web-interface user; ``right_list`` holds the ``{"domain", "right"}`` pairs."""

    id: int
    name: str
    rights: str = ""
    right_list: List[Dict[str, str]] = field(default_factory=list, repr=False)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "User":
        return _build(cls, data)


@dataclass
class Group:
    """A client group (id 0 is the default group)."""

    id: int
    name: str
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Group":
        return _build(cls, data)


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

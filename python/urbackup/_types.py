"""The specification's enums (its data types are Rust classes: ``urbackup._urbackup``)."""

from __future__ import annotations

from enum import Enum, IntEnum

__all__ = ["BackupType", "ActionType", "InstallerOS", "installer_os", "LogLevel"]


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

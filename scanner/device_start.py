"""What a handheld's start reads from its database before the first frame, without SQLAlchemy.

Importing SQLAlchemy and the models is most of a handheld's start (docs/architecture.md,
"Measured fast paths"), and the first screen needs none of it: the device id, the scan
prefixes and separators, the GS1 pairing choice, whether anyone can sign in. The handheld's
database is a SQLite file, so the standard library's sqlite3 reads these in a few
statements, and the app opens the database with the ORM after its first frame.

Only the common start takes this path: a SQLite file at the newest migration that already
has its device id. Anything else (no file yet, an older or newer schema, no device id, a
URL of another database) is answered None, and the start opens the database the usual way
before its screen, with the same migrations and the same messages as ever.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.scan import SCAN_SETTINGS, ScanConfig, scan_config_of
from scanner.settings import DEVICE_ID, SettingKey

HEAD = "0012"
"""The newest migration's revision; tests/scanner/test_db.py checks it is the head Alembic finds."""
SQLITE_FILE = "sqlite:///"
BUSY_SECONDS = 30  # as `scanner.db.make_engine`'s connections wait for a writer


@dataclass(frozen=True)
class DeviceStart:
    """What the first screen shows of the database at `url`."""

    url: str
    config: ScanConfig
    device: str
    has_operators: bool


def sqlite_path(url: str) -> Path | None:
    """The file of a plain SQLite URL (`sqlite:///PATH`, as `scanner.workspace.sqlite_url`
    writes one); None for any other URL, or one with options or escapes in it, which only
    SQLAlchemy reads as it means."""
    if not url.startswith(SQLITE_FILE):
        return None
    path = url[len(SQLITE_FILE) :]
    if not path or path == ":memory:" or path.startswith("file:") or any(c in path for c in "?%"):
        return None
    return Path(path)


def read_device_start(url: str) -> DeviceStart | None:
    """What the start needs from the database at `url`, read with sqlite3; None when only
    `scanner.db.open_database` can say (see the module). A stored setting that does not
    read raises as `scanner.scan.scan_config` and `scanner.settings.read_setting` do."""
    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    try:
        # mode=rw: never makes a file; opening one that went missing is open_database's.
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_SECONDS
        )
        with closing(connection):
            if _revisions(connection) != [HEAD]:
                return None
            stored = _settings(connection, (*SCAN_SETTINGS, DEVICE_ID))
            has_operators = _has_operators(connection)
    except sqlite3.Error:
        return None  # not a database, or not ours: open_database says what is wrong
    device = DEVICE_ID.value_of(stored.get(DEVICE_ID.key))
    if device is None:
        return None  # a first start: the device id is made and kept with the ORM

    def value(setting: SettingKey[Any]) -> Any:
        return setting.value_of(stored.get(setting.key))

    return DeviceStart(url, scan_config_of(value), device, has_operators)


def _revisions(connection: sqlite3.Connection) -> list[str]:
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:
        return []  # no such table: a database lotscan has not made
    return [row[0] for row in rows]


def _settings(
    connection: sqlite3.Connection, settings: tuple[SettingKey[Any], ...]
) -> Mapping[str, str]:
    keys = [setting.key for setting in settings]
    marks = ", ".join("?" for _ in keys)
    rows = connection.execute(f"SELECT key, value FROM settings WHERE key IN ({marks})", keys)
    return dict(rows.fetchall())


def _has_operators(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM operators LIMIT 1").fetchone() is not None

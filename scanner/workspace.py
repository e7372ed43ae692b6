"""Where the handheld keeps its data: the workspace folder and the database URL in it.

`--db URL` names any database; without it the device database is `lotscan.db` in the
workspace, which is `$LOTSCAN_HOME`, else `$XDG_DATA_HOME/lotscan`, else
`~/.local/share/lotscan`. The files that belong with a device database and not in it (the
sync token, the keymap) sit beside it: in its folder (`device_folder`).
"""

from __future__ import annotations

import os
from pathlib import Path

from scanner.device_start import sqlite_path

DATABASE_FILE = "lotscan.db"


def workspace_home() -> Path:
    configured = os.environ.get("LOTSCAN_HOME")
    if configured:
        return Path(configured).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "lotscan"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def database_url(db: str | None = None, home: Path | None = None) -> str:
    """The URL to open: `db` when given, else the workspace's device database (its folder is
    made on first use)."""
    if db:
        return db
    folder = home or workspace_home()
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / DATABASE_FILE)


def device_folder(db_url: str) -> Path:
    """The folder for the files that go with the database at `db_url`: the SQLite file's
    own folder, or the workspace folder for a server database (or an in-memory one)."""
    plain = sqlite_path(db_url)
    if plain is not None:  # a handheld's, read without loading SQLAlchemy before its screen
        return plain.expanduser().resolve().parent
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db_url)
    except ArgumentError:
        return workspace_home()
    database = url.database or ""
    on_disk = database not in ("", ":memory:") and not database.startswith("file:")
    if url.get_backend_name() == "sqlite" and on_disk:
        return Path(database).expanduser().resolve().parent
    return workspace_home()

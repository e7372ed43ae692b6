"""Where the handheld keeps its data: the workspace folder and the database URL in it.

`--db URL` names any database; without it the device database is `lotscan.db` in the
workspace, which is `$LOTSCAN_HOME`, else `$XDG_DATA_HOME/lotscan`, else
`~/.local/share/lotscan`.
"""

from __future__ import annotations

import os
from pathlib import Path

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

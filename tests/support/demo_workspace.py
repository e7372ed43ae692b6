"""The demo workspace for tests of the command line: `lotscan` run as a subprocess, the
demo built once per test module, and a copy of its database for each test, so each starts
from the same history."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from scanner.workspace import sqlite_url

ROOT = Path(__file__).resolve().parents[2]


def lotscan(*args: str, home: Path, **popen: Any) -> subprocess.CompletedProcess[str]:
    """`lotscan ARGS` run to its end, from the repository, in the workspace `home`."""
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=lotscan_env(home),
        check=False,
        **popen,
    )


def lotscan_env(home: Path) -> dict[str, str]:
    return {"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"}


def build_demo(home: Path) -> Path:
    """`lotscan demo` in `home`; returns the demo's folder."""
    built = lotscan("demo", home=home)
    assert built.returncode == 0, built.stderr
    return home / "demo"


def demo_copy(demo: Path, folder: Path) -> str:
    """A copy of the demo's database in `folder`, as a URL."""
    for each in demo.glob("lotscan.db*"):
        shutil.copy(each, folder / each.name)
    return sqlite_url(folder / "lotscan.db")

"""Where a command's output goes, as a subprocess (exit status and standard error as a
script sees them): a failed write to standard output is one line, not a traceback; an
export's `-o` writes through a link, refuses what is not a file, and makes a file the
umask allows others to read (docs/architecture.md, "Exports")."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from scanner.demo import build_demo
from scanner.workspace import sqlite_url

ROOT = Path(__file__).resolve().parents[2]
DAYS = {"epcis": (), "fsma204": ("--from", "2026-01-01", "--to", "2026-12-31")}
"""What each export needs besides its file: FSMA 204's days."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    build_demo(sqlite_url(folder / "lotscan.db"), date(2026, 12, 7))
    return folder


@pytest.fixture
def db(demo: Path, tmp_path: Path) -> Iterator[str]:
    for each in demo.glob("lotscan.db*"):
        shutil.copy(each, tmp_path / each.name)
    yield sqlite_url(tmp_path / "lotscan.db")


def lotscan(*args: str, **popen: object) -> subprocess.CompletedProcess[str]:
    options: dict[str, object] = {"stdout": subprocess.PIPE, **popen}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "scanner", *args],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "LOTSCAN_HOME": "/nonexistent-lotscan-home"},
        **options,
    )


@pytest.mark.skipif(not Path("/dev/full").is_char_device(), reason="no /dev/full here")
@pytest.mark.parametrize(
    "command", [("stock",), ("trace", "--part", "GP-10", "--lot", "GP10-0415")]
)
def test_a_full_disk_behind_standard_output_is_one_line(db: str, command: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        result = lotscan(*command, "--db", db, stdout=full)
    assert result.returncode == 1
    assert result.stderr == "lotscan: Cannot write to standard output: No space left on device\n"


@pytest.mark.parametrize("kind", ["epcis", "fsma204"])
def test_an_export_to_a_link_writes_the_file_it_names(db: str, tmp_path: Path, kind: str) -> None:
    """Renamed over the link, the export replaced it with a file and left the one it named
    as it was (probe)."""
    name = "events.json" if kind == "epcis" else "events.csv"
    target, link = tmp_path / "exports" / name, tmp_path / f"link-{name}"
    target.parent.mkdir()
    target.write_text("old")
    link.symlink_to(target)
    result = lotscan("export", kind, *DAYS[kind], "--db", db, "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text(encoding="utf-8-sig") != "old"
    assert sorted(each.name for each in target.parent.iterdir()) == [name]  # no leftovers


@pytest.mark.parametrize("kind", ["epcis", "fsma204"])
def test_an_export_refuses_a_path_that_is_not_a_file(db: str, tmp_path: Path, kind: str) -> None:
    """A FIFO was replaced by a file, and, as root, `-o /dev/full` replaced the device
    node and said it had written there (probe)."""
    fifo = tmp_path / ("pipe.json" if kind == "epcis" else "pipe.csv")
    os.mkfifo(fifo)
    result = lotscan("export", kind, *DAYS[kind], "--db", db, "-o", str(fifo))
    assert result.returncode == 1
    assert result.stderr == (
        f"lotscan: Cannot write {fifo}: it is a pipe (FIFO), not a file: give the path of a"
        " file to write\n"
    )
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("name", ["events.json", "events.csv", "events.xlsx"])
def test_an_export_is_readable_as_the_umask_allows(db: str, tmp_path: Path, name: str) -> None:
    """An FSMA file was made for its owner alone (0600), where the EPCIS one was 0644: the
    account meant to send it to the FDA could not read it (probe)."""
    kind = "epcis" if name.endswith(".json") else "fsma204"
    result = lotscan(
        "export", kind, *DAYS[kind], "--db", db, "-o", str(tmp_path / name),
        preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
    (tmp_path / name).chmod(0o640)  # written again, a file keeps its own permissions
    again = lotscan("export", kind, *DAYS[kind], "--db", db, "-o", str(tmp_path / name))
    assert again.returncode == 0, again.stderr
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640


def test_a_label_refuses_a_path_that_is_not_a_file(db: str, tmp_path: Path) -> None:
    """A FIFO with no reader made `lotscan label` wait for ever (probe)."""
    fifo, folder = tmp_path / "label.png", tmp_path / "folder.png"
    os.mkfifo(fifo)
    folder.mkdir()
    for path, kind in ((fifo, "a pipe (FIFO)"), (folder, "a folder")):
        result = lotscan(
            "label", "location", "--location", "RACK-A1", "--db", db, "-o", str(path), timeout=60
        )
        assert result.returncode == 1
        assert result.stderr == (
            f"lotscan: Cannot write {path}: it is {kind}, not a file: give the path of a file"
            " to write\n"
        )

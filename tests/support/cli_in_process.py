"""`lotscan ARGS` run inside the test process, for tests about what a command does rather than
about the process it runs in.

`python -m scanner` is `sys.exit(scanner.cli.main())`, so the exit status is what `main`
returns (or argparse's `SystemExit`), and the output is what it writes to `sys.stdout` and
`sys.stderr`. A subprocess costs an interpreter start and SQLAlchemy's import, about a second
on a loaded machine, for each command; tests that run a dozen commands each spent most of
their time there. The tests of the process boundary itself (exit codes and streams of the
real `lotscan`, signals, a workspace found through the environment) stay subprocesses:
tests/scanner/test_cli.py and others.

What a subprocess gave for free is done here by hand: the workspace (`LOTSCAN_HOME`) is set
for the call alone, standard input is `stdin` (empty, not a terminal, when not given), and
every engine the command opened is disposed of when it returns, so no connection outlives the
command (a PostgreSQL server has a limited number of them).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from scanner.cli import main


def lotscan(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`lotscan ARGS` run to its end in the workspace `home`, `stdin` typed into it: its exit
    status, standard output and standard error, as `subprocess.run` reports them."""
    out, err = io.StringIO(), io.StringIO()
    with (
        _workspace(home),
        _engines_disposed(),
        _stdin(stdin or ""),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            status = main(list(args))
        except SystemExit as exit:  # argparse's refusals and --help
            status = _status(exit.code)
    return subprocess.CompletedProcess(
        ["lotscan", *args], status, stdout=out.getvalue(), stderr=err.getvalue()
    )


def _status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def _workspace(home: Path) -> Iterator[None]:
    before = os.environ.get("LOTSCAN_HOME")
    os.environ["LOTSCAN_HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            del os.environ["LOTSCAN_HOME"]
        else:
            os.environ["LOTSCAN_HOME"] = before


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    before = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = before


@contextlib.contextmanager
def _engines_disposed() -> Iterator[None]:
    """Every engine that connects while the command runs is disposed of afterwards."""
    opened: list[Engine] = []

    def _noted(connection: Any) -> None:
        if connection.engine not in opened:
            opened.append(connection.engine)

    event.listen(Engine, "engine_connect", _noted)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", _noted)
        for engine in opened:
            engine.dispose()

"""`python -m bench.first_frame lotscan DATABASE | bare`: start an app headless, say `ready`
on standard output the moment its first frame is drawn, then (the handheld) sign in and
record a few scans, and say `peak KB` for the most memory the process held.

bench/startup.py runs it in a fresh process each time, so the time it measures is a
start as the operator gets it: the interpreter, the imports, the database opened and
migrated, the first screen drawn.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bench.catalogue import OPERATORS
from bench.tui import EchoApp, feed, handheld_app, run_app, until

SCANS = 5


class BareFirstFrame(EchoApp):
    def on_ready(self) -> None:
        print("ready", flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["bare"]:
        run_app(BareFirstFrame(), _nothing)
    elif argv[:1] == ["lotscan"] and len(argv) == 2:
        _handheld(Path(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"peak {peak_kb()}", flush=True)
    return 0


def peak_kb() -> int:
    """The most memory this process has held, in KB. Linux's VmHWM, where there is one:
    ru_maxrss carries over the RSS of the process that started this one (it survives exec),
    so a child of a big benchmark process would report the parent's size."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _nothing(_pilot: Pilot[Any]) -> None:
    return None


def _handheld(database: Path) -> None:
    # Imported here, not at the top: the bare app's process does not pay for them.
    from scanner.device_start import read_device_start
    from scanner.workspace import sqlite_url
    from screens.app import LotscanApp

    class FirstFrame(LotscanApp):
        def on_ready(self) -> None:
            print("ready", flush=True)

    # As `lotscan` starts (scanner.cli.open_tui): the database read without the ORM, and
    # opened with it after the first frame.
    start = read_device_start(sqlite_url(database))
    if start is None:
        raise SystemExit(f"{database} is not a current device database")
    with handheld_app(start, operator=OPERATORS[0], app_class=FirstFrame) as app:

        async def scans(pilot: Pilot[Any]) -> None:
            # After the first frame: the benchmark's own modules are not the app's start.
            from bench.scan_commit import SCAN

            feed(app, "CMD:RECEIVE\r" + f"{SCAN}\r" * SCANS)
            await until(pilot, lambda: app.view.handled >= SCANS + 2 and app.idle)

        run_app(app, scans)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

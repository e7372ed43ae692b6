"""`lotscan enroll URL CODE` and `lotscan sync [--json]`: the handheld's side of sync on the
command line (DESIGN §8). `scanner/cli.py` adds these commands with `add_device_parsers`.

Both work on the workspace's device database (or `--db URL`); the token file lives next to
a SQLite database, else in the workspace folder (`sync.credentials.token_folder`).
"""

from __future__ import annotations

import argparse
import json
import sys

from scanner.db import open_database, reading
from scanner.workspace import database_url


def add_device_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    enroll = commands.add_parser(
        "enroll", parents=[common], help="enroll this handheld with a central sync service"
    )
    enroll.add_argument("url", metavar="URL", help="the central service, http://HOST:PORT")
    enroll.add_argument("code", metavar="CODE", help="the one-time code from a supervisor")
    enroll.set_defaults(handler=run_enroll)

    sync = commands.add_parser(
        "sync", parents=[common], help="push queued movements and pull changes now"
    )
    sync.add_argument("--json", action="store_true", help="JSON for programs")
    sync.set_defaults(handler=run_sync)


def run_enroll(args: argparse.Namespace) -> int:
    # Imported here: building lotscan's parser must not load httpx for every command.
    from sync.client import enroll_handheld, movements, service_address
    from sync.credentials import token_folder
    from sync.outbox import pending_count

    url = database_url(args.db)
    sessions = open_database(url)
    answer = enroll_handheld(sessions, token_folder(url), args.url, args.code)
    with reading(sessions) as session:
        queued = pending_count(session, answer.device_id)
    role = " (supervisor)" if answer.role == "supervisor" else ""
    line = f"Enrolled as device {answer.device_id}{role} with {service_address(args.url)}"
    if queued:
        line += f"; {movements(queued)} queued will sync on the next lotscan sync"
    else:
        line += "; lotscan sync pulls the store's reference data and stock"
    print(line)
    return 0


def run_sync(args: argparse.Namespace) -> int:
    from sync.client import sync_once
    from sync.credentials import token_folder

    url = database_url(args.db)
    sessions = open_database(url)
    report = sync_once(sessions, token_folder(url))
    if args.json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(report.summary())
    return 0

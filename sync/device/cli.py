"""`lotscan enroll URL CODE` and `lotscan sync [--json]`: the handheld's side of sync on the
command line (docs/architecture.md, "Command line contract"). `scanner/cli.py` adds these
commands with `add_device_parsers`.

Both work on the workspace's device database (or `--db URL`); the token file lives next to
a SQLite database, else in the workspace folder (`sync.device.credentials.token_folder`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from scanner.db import database_reason, open_database, reading
from scanner.errors import LotscanError
from scanner.json_output import print_json
from scanner.plain_text import shown
from scanner.settings import DEVICE_ID, read_setting
from scanner.workspace import database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


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
    from sync.device.client import enroll_handheld, movements, service_address
    from sync.device.credentials import token_folder
    from sync.device.outbox import pending_count

    url = database_url(args.db)
    sessions = open_database(url)
    answer = enroll_handheld(sessions, token_folder(url), args.url, args.code)
    with reading(sessions) as session:
        queued = pending_count(session, answer.device_id)
    role = " (supervisor)" if answer.role == "supervisor" else ""
    line = f"Enrolled as device {shown(answer.device_id)}{role} with {service_address(args.url)}"
    if queued:
        line += f"; {movements(queued)} queued will sync on the next lotscan sync"
    else:
        line += "; lotscan sync pulls the store's reference data and stock"
    print(line)
    return 0


def run_sync(args: argparse.Namespace) -> int:
    # SQLAlchemy's errors are imported where a database is open, in this module as in
    # scanner.cli: building `lotscan`'s parser (a handheld's start) loads no SQLAlchemy.
    from sqlalchemy.exc import DBAPIError

    from sync.device.client import sync_once
    from sync.device.credentials import token_folder

    url = database_url(args.db)
    sessions = open_database(url)
    try:
        report = sync_once(sessions, token_folder(url))
    except (LotscanError, DBAPIError) as error:
        if args.json:  # a script reads standard output: it says what failed, too
            print_json(failed_sync(error, sessions))
        raise  # and the one line on standard error, exit status 1
    if args.json:
        print_json(report.as_dict())
    else:
        print(shown(report.summary()))
    return 0


def failed_sync(error: Exception, sessions: sessionmaker[Session]) -> dict[str, Any]:
    """A failed sync for `lotscan sync --json`: what failed (`error`, `failure`, the store's
    `code` when it gave one), and the counts `lotscan sync --json` prints (the README) as far
    as they are known: what was pushed and pulled before the failure, and the queue it
    leaves."""
    from sqlalchemy.exc import DBAPIError

    from sync.device.client import SyncFailed, SyncReport

    document: dict[str, Any] = {"error": _said(error), "failure": _failure_kind(error)}
    if isinstance(error, SyncFailed) and error.code:
        document["code"] = error.code
    report = error.report if isinstance(error, SyncFailed) else None
    if report is not None:
        return document | report.as_dict()
    counts = SyncReport().as_dict()
    del counts["pending"], counts["decisions_pending"]
    document |= counts  # nothing was pushed or pulled: the store was never asked
    pending = _queued(sessions) if not isinstance(error, DBAPIError) else None
    if pending is not None:
        document["pending"], document["decisions_pending"] = pending
    return document


def _failure_kind(error: Exception) -> str:
    from sqlalchemy.exc import DBAPIError

    from sync.device.client import DeviceRevoked, SyncGap, SyncRefused, SyncUnavailable
    from sync.device.credentials import NotEnrolled

    kinds: list[tuple[type[Exception], str]] = [
        (NotEnrolled, "not_enrolled"),
        (DeviceRevoked, "revoked"),
        (SyncUnavailable, "unavailable"),
        (SyncRefused, "refused"),
        (SyncGap, "gap"),
        (DBAPIError, "database"),
    ]
    return next((kind for cause, kind in kinds if isinstance(error, cause)), "failed")


def _said(error: Exception) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError):
        return f"database error: {database_reason(error)}"
    return str(error)


def _queued(sessions: sessionmaker[Session]) -> tuple[int, int] | None:
    """The movements of this device, and the decisions, waiting to sync; None when that
    cannot be read."""
    from sqlalchemy.exc import DBAPIError

    from sync.device.outbox import pending_count, pending_status_count

    try:
        with reading(sessions) as session:
            device = read_setting(session, DEVICE_ID)
            waiting = pending_count(session, device) if device is not None else 0
            return waiting, pending_status_count(session)
    except DBAPIError:
        return None

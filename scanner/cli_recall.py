"""`lotscan recall`: everything made from a lot or serial and where it is now, on a
handheld's database or the central store's; `--hold` recalls what is still in the plant
(docs/architecture.md, "The recall answer").

    lotscan recall --part P (--lot L | --serial S) [--json | --csv]
    lotscan recall --part P (--lot L | --serial S) --hold --reason TEXT --by BADGE [--json | --csv]
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from scanner.cli_control import publish_to_handhelds
from scanner.clock import utc_now
from scanner.db import open_database, reading, unit_of_work
from scanner.errors import RuleViolation
from scanner.json_output import print_json
from scanner.workspace import database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scanner.recall import Recall, WaitingDevice


def add_recall_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    recall = commands.add_parser(
        "recall",
        parents=[common],
        help="everything made from a lot or serial, where it is now and who got it",
    )
    recall.add_argument("--part", required=True)
    which = recall.add_mutually_exclusive_group(required=True)
    which.add_argument("--lot")
    which.add_argument("--serial")
    output = recall.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON for programs")
    output.add_argument("--csv", action="store_true", help="CSV for a spreadsheet")
    recall.add_argument(
        "--hold",
        action="store_true",
        help="recall it and everything made from it that is still in the plant",
    )
    recall.add_argument("--reason", metavar="TEXT", help="why (with --hold), kept in the history")
    recall.add_argument(
        "--by", metavar="BADGE", help="the supervisor or quality staff who decided (with --hold)"
    )
    recall.set_defaults(handler=run_recall)


def run_recall(args: argparse.Namespace) -> int:
    from scanner.recall import recall, recall_and_hold

    if not args.hold and (args.reason is not None or args.by is not None):
        raise RuleViolation("--reason and --by go with --hold: nothing is held without it")
    sessions = open_database(database_url(args.db))
    if args.hold:
        if args.reason is None or args.by is None:
            raise RuleViolation("--hold needs --reason TEXT and --by BADGE: who decided, and why")
        with unit_of_work(sessions) as session:
            answer = recall_and_hold(
                session, args.part, args.lot, args.serial, reason=args.reason, by=args.by,
                clock=utc_now, waiting_devices=_waiting_devices(session),
            )  # fmt: skip
            if answer.changes:
                publish_to_handhelds(session, answer.changes)
    else:
        with reading(sessions) as session:
            answer = recall(
                session, args.part, args.lot, args.serial, today=utc_now().date(),
                waiting_devices=_waiting_devices(session),
            )  # fmt: skip
    _print(answer, args)
    return 0


def _waiting_devices(session: Session) -> list[WaitingDevice] | None:
    """On the central store, the handhelds that said they have movements queued; None
    elsewhere."""
    from sync.central.recall_waiting import waiting_devices

    return waiting_devices(session)


def _print(answer: Recall, args: argparse.Namespace) -> None:
    from scanner.recall_output import format_recall, write_recall_csv

    if args.json:
        print_json(answer.as_json())
    elif args.csv:
        write_recall_csv(answer, sys.stdout)
    else:
        print(format_recall(answer))

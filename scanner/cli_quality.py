"""`lotscan lot ...`: holding, releasing and recalling a lot or serial, and what is known of
one, on a handheld's database or the central store's, where every handheld learns of the
change on its next pull (docs/architecture.md, "Statuses and who sets them").

    lotscan lot hold|release|recall --part P (--lot L | --serial S) --reason TEXT --by BADGE
        [--json]
    lotscan lot show --part P (--lot L | --serial S) [--json]
"""

from __future__ import annotations

import argparse
from typing import Any

from scanner.cli_control import publish_to_handhelds
from scanner.clock import aware, utc_now
from scanner.db import open_database, reading, unit_of_work
from scanner.json_output import print_json
from scanner.plain_text import shown
from scanner.workspace import database_url


def add_quality_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    lot = commands.add_parser(
        "lot", parents=[common], help="hold, release or recall a lot or serial; show one"
    )
    actions = lot.add_subparsers(title="actions", metavar="ACTION", required=True)
    for action, help_text in (
        ("hold", "put a lot or serial on hold: it moves only into quarantine"),
        ("release", "release a held or recalled lot or serial"),
        ("recall", "recall a lot or serial: it moves only into quarantine"),
    ):
        parser = actions.add_parser(action, parents=[common], help=help_text)
        _item_arguments(parser)
        parser.add_argument("--reason", metavar="TEXT", required=True, help="why, kept")
        parser.add_argument(
            "--by",
            metavar="BADGE",
            required=True,
            help="the badge of the supervisor or quality operator who decided",
        )
        parser.add_argument("--json", action="store_true", help="JSON for programs")
        parser.set_defaults(handler=run_lot_decision, action=action)
    show = actions.add_parser(
        "show", parents=[common], help="status, who changed it and why, expiry, where it is"
    )
    _item_arguments(show)
    show.add_argument("--json", action="store_true", help="JSON for programs")
    show.set_defaults(handler=run_lot_show)


def _item_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", required=True, metavar="P")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--lot", metavar="L")
    which.add_argument("--serial", metavar="S")


def run_lot_decision(args: argparse.Namespace) -> int:
    from scanner.closing import Decided
    from scanner.models import Operator

    # Imported here, as in every command that opens a database: building the parser (as a
    # handheld's start does) loads no models.
    from scanner.quality import STANDING, Action, change_status, described_item, find_item
    from scanner.row_by_key import find

    action = Action(args.action)
    with unit_of_work(open_database(database_url(args.db))) as session:
        item = find_item(session, args.part, lot=args.lot, serial=args.serial)
        change = change_status(session, item, action, reason=args.reason, by=args.by, clock=utc_now)
        published = publish_to_handhelds(session, [change])
        person = find(session, Operator, args.by)
        decided = Decided(
            change.status,
            change.operator,
            person.name if person is not None else None,
            aware(change.happened_at),
            change.reason,
        )
        what = described_item(item)
        decision: dict[str, Any] = {
            "part": item.part.number,
            "lot": item.lot.number if item.lot is not None else None,
            "serial": item.serial.number if item.serial is not None else None,
            "action": action.value,
            "status": STANDING[action].value,
            "operator": decided.operator,
            "name": decided.name,
            "happened_at": decided.happened_at.isoformat(),
            "reason": decided.reason,
            "device": change.device_id,
            "published": bool(published),
        }
    if args.json:
        print_json(decision)
    else:
        print(shown(f"{what} {decided.words()}{published}"))
    return 0


def run_lot_show(args: argparse.Namespace) -> int:
    from scanner.lot_report import lot_report
    from scanner.quality import find_item

    with reading(open_database(database_url(args.db))) as session:
        item = find_item(session, args.part, lot=args.lot, serial=args.serial)
        report = lot_report(session, item, utc_now().date())
    if args.json:
        print_json(report.as_json())
    else:
        print(report.text())
    return 0

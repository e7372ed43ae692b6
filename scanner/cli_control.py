"""`lotscan jobs ...` and `lotscan orders ...`: where a job or an order stands, and closing
or reopening one, on a handheld's database or the central store's (where every handheld
learns of it on its next pull).

    lotscan jobs show J [--json]    (and its short form, lotscan job J [--json])
    lotscan jobs close J [--reason TEXT] [--by BADGE]
    lotscan jobs reopen J --by BADGE [--reason TEXT]
    lotscan orders show (--po P | --so S) [--json]
    lotscan orders close (--po P | --so S) [--line N] [--reason TEXT] [--by BADGE]
    lotscan orders reopen (--po P | --so S) [--line N] --by BADGE [--reason TEXT]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scanner.cli_values import row_number
from scanner.clock import utc_now
from scanner.db import open_database, reading, unit_of_work
from scanner.json_output import print_json
from scanner.plain_text import shown
from scanner.workspace import database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scanner.models import StatusChange


def add_control_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    job = commands.add_parser(
        "job", parents=[common], help="a job's progress and the lots and serials it used and made"
    )
    job.add_argument("job", metavar="JOB")
    job.add_argument("--json", action="store_true", help="JSON for programs")
    job.set_defaults(handler=run_job_show)
    jobs = commands.add_parser(
        "jobs", parents=[common], help="a job's progress; close or reopen a job"
    )
    actions = jobs.add_subparsers(title="actions", metavar="ACTION", required=True)
    show = actions.add_parser("show", parents=[common], help="what a job has completed and used")
    show.add_argument("job", metavar="JOB")
    show.add_argument("--json", action="store_true", help="JSON for programs")
    show.set_defaults(handler=run_job_show)
    for action, help_text in (
        ("close", "close a job: no more issues or completions"),
        ("reopen", "reopen a closed job (a supervisor's badge in --by)"),
    ):
        parser = actions.add_parser(action, parents=[common], help=help_text)
        parser.add_argument("job", metavar="JOB")
        _decision_arguments(parser, supervisor=action == "reopen")
        parser.set_defaults(handler=run_job_decision, action=action)

    orders = commands.add_parser(
        "orders", parents=[common], help="an order's lines; close or reopen them"
    )
    actions = orders.add_subparsers(title="actions", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show", parents=[common], help="what each line asks for and what moved on it"
    )
    _order_arguments(show)
    show.add_argument("--json", action="store_true", help="JSON for programs")
    show.set_defaults(handler=run_order_show)
    for action, help_text in (
        ("close", "close a line (or every open line): filled, or nothing more will move"),
        ("reopen", "reopen a closed line (a supervisor's badge in --by)"),
    ):
        parser = actions.add_parser(action, parents=[common], help=help_text)
        _order_arguments(parser)
        parser.add_argument(
            "--line",
            type=row_number("an order line's number, like 2"),
            metavar="N",
            help="one line (default: all)",
        )
        _decision_arguments(parser, supervisor=action == "reopen")
        parser.set_defaults(handler=run_order_decision, action=action)


def _order_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--po", metavar="PO", help="a purchase order")
    which.add_argument("--so", metavar="SO", help="a sales order")


def _decision_arguments(parser: argparse.ArgumentParser, *, supervisor: bool) -> None:
    parser.add_argument("--reason", metavar="TEXT", help="why, kept in the history")
    parser.add_argument(
        "--by",
        metavar="BADGE",
        required=supervisor,
        help="the badge of the supervisor who decided"
        if supervisor
        else "the badge of whoever decided",
    )


def run_job_show(args: argparse.Namespace) -> int:
    from scanner.summaries import job_standing

    with reading(open_database(database_url(args.db))) as session:
        standing = job_standing(session, args.job)
    _print(standing.as_json() if args.json else standing.text(), as_json=args.json)
    return 0


def run_order_show(args: argparse.Namespace) -> int:
    from scanner.summaries import order_standing

    with reading(open_database(database_url(args.db))) as session:
        standing = order_standing(session, args.so or args.po, sales=bool(args.so))
    _print(standing.as_json() if args.json else standing.text(), as_json=args.json)
    return 0


def run_job_decision(args: argparse.Namespace) -> int:
    from scanner.closing import close_job, reopen_job

    with unit_of_work(open_database(database_url(args.db))) as session:
        if args.action == "close":
            change = close_job(
                session, args.job, operator=args.by, reason=args.reason, clock=utc_now
            )
        else:
            change = reopen_job(
                session, args.job, operator=args.by, reason=args.reason, clock=utc_now
            )
        published = publish_to_handhelds(session, [change])
    done = "closed" if args.action == "close" else "reopened"
    print(f"Job {shown(change.key)} {done}{published}")
    return 0


def run_order_decision(args: argparse.Namespace) -> int:
    from scanner.closing import close_order_lines, reopen_order_lines

    order, sales = args.so or args.po, bool(args.so)
    with unit_of_work(open_database(database_url(args.db))) as session:
        if args.action == "close":
            changes = close_order_lines(
                session, order, args.line, sales=sales, operator=args.by,
                reason=args.reason, clock=utc_now,
            )  # fmt: skip
        else:
            changes = reopen_order_lines(
                session, order, args.line, sales=sales, operator=args.by,
                reason=args.reason, clock=utc_now,
            )  # fmt: skip
        published = publish_to_handhelds(session, changes)
    done = "closed" if args.action == "close" else "reopened"
    lines = ", ".join(change.key.rpartition("|")[2] for change in changes)
    print(shown(f"{order} line{'s' if len(changes) != 1 else ''} {lines} {done}{published}"))
    return 0


def publish_to_handhelds(session: Session, changes: Sequence[StatusChange]) -> str:
    """On the central store, tells the handhelds of status changes (a job's or order line's
    close, a lot's hold: `scanner.cli_quality`); returns words saying so ("" elsewhere)."""
    from sync.central.enrollment import is_central
    from sync.central.pull import publish_decisions

    if not is_central(session):
        return ""
    publish_decisions(session, changes)
    return ": every handheld learns of it on its next sync"


def _print(value: object, *, as_json: bool) -> None:
    if as_json:
        print_json(value)
    else:
        print(value)

"""`lotscan operators add BADGE NAME [--supervisor | --role floor|supervisor|quality]` and
`lotscan operators list [--json]`: who may sign in, on the device database (or `--db`);
`lotscan operators password BADGE`: a supervisor's or quality staff's console password. On
the central store a new operator is published to the handhelds in the same transaction, as
an import is. `scanner/cli.py` adds these commands with `add_operator_parsers`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from scanner.db import open_database, reading, unit_of_work
from scanner.json_output import print_json
from scanner.plain_text import shown
from scanner.roles import Role
from scanner.workspace import database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LIST_KEYS = ("badge", "name", "role")


def add_operator_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    operators = commands.add_parser(
        "operators", parents=[common], help="who may sign in: add one, or list them"
    )
    actions = operators.add_subparsers(title="actions", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=[common], help="add an operator by badge and name")
    add.add_argument("badge", metavar="BADGE", help="what the badge's barcode holds")
    add.add_argument("name", metavar="NAME", help="the operator's name, as the screen greets")
    role = add.add_mutually_exclusive_group()
    role.add_argument(
        "--supervisor", action="store_true", help="a supervisor (default: a floor operator)"
    )
    role.add_argument(
        "--role",
        choices=[each.value for each in Role],
        help="floor (the default), supervisor, or quality (holds, releases and recalls lots"
        " and serials; nothing else a supervisor does)",
    )
    add.set_defaults(handler=run_operators_add)
    listing = actions.add_parser("list", parents=[common], help="every operator")
    listing.add_argument("--json", action="store_true", help="a JSON list for programs")
    listing.set_defaults(handler=run_operators_list)
    password = actions.add_parser(
        "password",
        parents=[common],
        help="set the office console password of a supervisor or quality staff",
        description="Asks twice on a terminal; a script gives it as one line on standard"
        " input. Kept only as an Argon2id hash; the operator's console sessions end.",
    )
    password.add_argument("badge", metavar="BADGE", help="the operator's badge")
    password.set_defaults(handler=run_operators_password)


def run_operators_add(args: argparse.Namespace) -> int:
    from scanner.operators import add_operator
    from sync.central.enrollment import is_central
    from sync.central.pull import publish_reference
    from sync.device.credentials import service_url

    sessions = open_database(database_url(args.db))
    with unit_of_work(sessions) as session:
        role = Role(args.role) if args.role else None
        operator = add_operator(
            session, args.badge, args.name, supervisor=args.supervisor, role=role
        )
        added = f"Added {shown(operator.name)}, badge {operator.badge} ({operator.role})"
        # As an import does: on the central store the handhelds hear of it on their next pull.
        changes = publish_reference(session) if is_central(session) else 0
        store = service_url(session)
    print(f"{added}: sign in by scanning OP:{operator.badge}")
    if changes:
        print(f"{changes} change{'s' if changes != 1 else ''} published to the handhelds")
    if store:
        print(
            f"This handheld syncs with {store}: add the operator there too (--db), or the"
            " store holds this badge's scans until it knows it"
        )
    return 0


def run_operators_list(args: argparse.Namespace) -> int:
    from scanner.operators import list_operators

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        rows = [(each.badge, each.name, each.role) for each in list_operators(session)]
    if args.json:
        print_json([dict(zip(LIST_KEYS, row, strict=True)) for row in rows])
    else:
        print(format_operators(rows))
    return 0


def format_operators(rows: list[tuple[str, str, str]]) -> str:
    """The operators as a table for a terminal."""
    if not rows:
        return "No operators: add one with lotscan operators add BADGE NAME [--supervisor]"
    table = [("BADGE", "NAME", "ROLE"), *((shown(b), shown(n), r) for b, n, r in rows)]
    widths = [max(len(line[column]) for line in table) for column in range(2)]
    return "\n".join(
        f"{badge.ljust(widths[0])}  {name.ljust(widths[1])}  {role}" for badge, name, role in table
    )


def run_operators_password(args: argparse.Namespace) -> int:
    from scanner.clock import utc_now
    from scanner.passwords import set_password

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        _refuse_before_asking(session, args.badge)
    password = _asked_password()
    with unit_of_work(sessions) as session:
        operator = set_password(session, args.badge, password, utc_now())
        done = f"Console password set for {shown(operator.name)}, badge {operator.badge}"
    print(f"{done}: they sign in at /console/sign-in of lotscan serve")
    return 0


def _refuse_before_asking(session: Session, badge: str) -> None:
    """An unknown badge or a floor operator is refused before anyone types a password."""
    from scanner.errors import LotscanError
    from scanner.models import QUALITY_ROLES, Operator

    operator = session.get(Operator, badge)
    if operator is None:
        raise LotscanError(f"No operator has badge {badge!r}: lotscan operators list shows them")
    if operator.role not in QUALITY_ROLES:
        raise LotscanError(
            f"{shown(operator.name)} (badge {operator.badge}) is a {operator.role} operator:"
            " only supervisors and quality staff sign in to the console"
        )


def _asked_password() -> str:
    """The new password: typed twice, unseen, on a terminal; one line of standard input
    otherwise (a script)."""
    import getpass
    import sys

    from scanner.errors import LotscanError
    from scanner.passwords import refuse_weak

    if not sys.stdin.isatty():
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        refuse_weak(password)
        return password
    password = getpass.getpass("New console password: ")
    refuse_weak(password)
    if getpass.getpass("The same again: ") != password:
        raise LotscanError("The two passwords differ: nothing was changed")
    return password

"""The supervisor's side of the command line (docs/architecture.md,
"Command line contract"): `lotscan serve` runs the central sync service;
`lotscan devices enroll|list|role|revoke` manage the devices, `lotscan exceptions list` shows
what the store flagged and held, and `lotscan exceptions void` voids held movements, on the
central database directly, no service needed.

Without `--db` these work on the central database, `central.db` in the workspace folder,
never on the handheld's own `lotscan.db`.
"""

from __future__ import annotations

import argparse
import getpass
import shlex
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.cli_values import row_number
from scanner.clock import utc_now
from scanner.db import open_database, reading, unit_of_work
from scanner.device_start import sqlite_path
from scanner.errors import LotscanError
from scanner.json_output import print_json, print_json_list
from scanner.plain_text import shown
from scanner.workspace import sqlite_url, workspace_home

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

CENTRAL_FILE = "central.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
LIST_KEYS = (
    "device",
    "name",
    "status",
    "last_seen",
    "last_applied_seq",
    "queue_depth",
    "flagged",
    "held",
    "rejected",
    "role",
    "role_changed_at",
    "role_changed_by",
    "revoked_at",
    "revoked_by",
)


def central_url(db: str | None = None, home: Path | None = None) -> str:
    """The URL of the central database: `db` when given, else `central.db` in the workspace
    folder (made on first use)."""
    if db:
        return db
    folder = home or workspace_home()
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / CENTRAL_FILE)


def open_central(db: str | None, *, making: bool = False) -> sessionmaker[Session]:
    """The central database, migrated. `making` (`devices enroll`, `serve`): made the
    central store if it is not one yet (and made, if it is a SQLite file not there yet),
    unless it is a handheld's database. Otherwise it must be one already, and is read
    before anything migrates it: a command that lists or decides on the store's devices and
    exceptions never writes to a handheld's database or an empty file, nor makes a central
    store of a mistyped path. A handheld's database made a store would announce its closes
    and settings to handhelds it has none of."""
    from sync.central.enrollment import ensure_central, is_central

    url = central_url(db)
    path = sqlite_path(url)
    if not making and path is not None:
        _refuse_no_store_file(url, path)
    sessions = open_database(url)
    with reading(sessions) as session:
        central = is_central(session)
        handhelds = None if central else _handhelds_device(session)
    if central:
        return sessions
    if not making or handhelds is not None:
        sessions.kw["bind"].dispose()
        whose = f" but the database of handheld {shown(handhelds)}" if handhelds else ""
        raise LotscanError(
            f"{shown(url)} is not a central store{whose}: give the central database with --db"
            + (", or a new file for a new store" if making else "")
        )
    with unit_of_work(sessions) as session:
        ensure_central(session)
    return sessions


def _refuse_no_store_file(url: str, path: Path) -> None:
    """Before a SQLite file is opened, and so migrated: refused when it is not there, is
    empty, or has no store's clock; a file that is no database is left for `open_database`
    to say so."""
    if not path.exists():
        raise LotscanError(
            f"No central database at {shown(str(path))}: lotscan devices enroll NAME or"
            " lotscan serve makes one"
        )
    if path.is_file() and path.stat().st_size == 0:
        raise LotscanError(f"{shown(str(path))} is an empty file, not a central store")
    from sync.central.models import SyncClock

    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as raw:
            row = raw.execute(f"SELECT 1 FROM {SyncClock.__tablename__} LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        row = None  # no such table: a database lotscan made, but no store
    except sqlite3.DatabaseError:
        return  # no database at all: open_database says what it is
    if row is None:
        raise LotscanError(
            f"{shown(url)} is not a central store: give the central database with --db"
        )


def _handhelds_device(session: Session) -> str | None:
    """The device id of the handheld whose database this is, if it is one: it has recorded
    movements, or keeps a device id. None for a database nothing was recorded on yet, and
    for one `lotscan demo` built, which may be served to try the console on its history."""
    from sqlalchemy import select

    from scanner.models import Movement
    from scanner.settings import DEMO_BUILT_ON, DEVICE_ID, read_setting

    if read_setting(session, DEMO_BUILT_ON) is not None:
        return None
    device = read_setting(session, DEVICE_ID)
    if device is not None:
        return device
    return session.scalar(select(Movement.device_id).limit(1))


def publish_if_central(sessions: sessionmaker[Session]) -> int:
    """After an import: when the database is the central store, record the reference rows
    that changed as changes devices pull. Returns how many (0 on a handheld's database)."""
    from sync.central.enrollment import is_central
    from sync.central.pull import publish_reference

    with unit_of_work(sessions) as session:
        if not is_central(session):
            return 0
        return publish_reference(session, utc_now)


def add_central_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """`lotscan serve` and `lotscan devices enroll|list|role|revoke`. `common` is the other
    commands' `--db`; these take their own, which says the default is the central one."""
    del common
    central = argparse.ArgumentParser(add_help=False)
    central.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"SQLAlchemy URL of the central database (default: {CENTRAL_FILE} in the workspace)",
    )
    serve = commands.add_parser(
        "serve", parents=[central], help="the central sync service (on the central database)"
    )
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes answering on the port (default 1; more than 1 needs PostgreSQL)",
    )
    serve.set_defaults(handler=run_serve)

    devices = commands.add_parser(
        "devices", parents=[central], help="enroll, list and revoke devices (central database)"
    )
    actions = devices.add_subparsers(title="actions", metavar="ACTION", required=True)
    enroll = actions.add_parser(
        "enroll", parents=[central], help="a one-time code a handheld enrolls with"
    )
    enroll.add_argument("name", metavar="NAME", help="the device's name, e.g. forklift-3")
    enroll.add_argument(
        "--supervisor", action="store_true", help="a supervisor's device (may resolve exceptions)"
    )
    enroll.add_argument("--json", action="store_true", help="JSON for programs")
    enroll.set_defaults(handler=run_devices_enroll)
    listing = actions.add_parser("list", parents=[central], help="each device's sync status")
    listing.add_argument("--json", action="store_true", help="a JSON list for programs")
    listing.set_defaults(handler=run_devices_list)
    role = actions.add_parser(
        "role",
        parents=[central],
        help="make a device a supervisor's or a handheld's now (kept in its history)",
    )
    role.add_argument("device", metavar="DEVICE", help="the device's ID or name")
    role.add_argument("role", choices=("supervisor", "handheld"), metavar="supervisor|handheld")
    role.add_argument("--by", metavar="BADGE", help="the badge of the supervisor who decided")
    role.add_argument("--reason", metavar="TEXT", help="why, kept in the history")
    role.add_argument("--json", action="store_true", help="JSON for programs")
    role.set_defaults(handler=run_devices_role)
    revoke = actions.add_parser(
        "revoke", parents=[central], help="stop a device's token working (it keeps its queue)"
    )
    revoke.add_argument("id", metavar="ID", help="the device ID (lotscan devices list)")
    revoke.set_defaults(handler=run_devices_revoke)
    add_exceptions_parser(commands, central)


EXCEPTION_STATUSES = ("open", "resolved", "auto_cleared", "all")
EXCEPTIONS_READ = 1000
"""Exceptions read at a time: a flood of tens of thousands is written as it is read, and
the rows read are let go before the next page."""


def add_exceptions_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    central: argparse.ArgumentParser,
) -> None:
    """`lotscan exceptions list`: what the store flagged and held; `lotscan exceptions void`:
    a supervisor's bulk void; both on the central database."""
    from sync.exception_codes import ExceptionCode

    exceptions = commands.add_parser(
        "exceptions", parents=[central], help="the store's exceptions (central database)"
    )
    actions = exceptions.add_subparsers(title="actions", metavar="ACTION", required=True)
    codes = [code.value for code in ExceptionCode]
    listing = actions.add_parser(
        "list",
        parents=[central],
        help="the exceptions, oldest first: the open ones unless --status says otherwise",
    )
    listing.add_argument(
        "--status",
        choices=EXCEPTION_STATUSES,
        default="open",
        help="open (the default), resolved, auto_cleared or all",
    )
    listing.add_argument("--device", metavar="ID", help="only this device's")
    listing.add_argument(
        "--code", choices=codes, metavar="CODE", help="only this code (UNKNOWN_REFERENCE...)"
    )
    listing.add_argument("--part", metavar="PART", help="only those naming this part")
    listing.add_argument(
        "--summary",
        type=row_number("an exception's id, like 12"),
        metavar="ID",
        help="the exceptions grouped under this TOO_MANY_EXCEPTIONS summary",
    )
    listing.add_argument("--json", action="store_true", help="JSON for programs")
    listing.set_defaults(handler=run_exceptions_list)
    void = actions.add_parser(
        "void",
        parents=[central],
        help="void every held movement from a device, of a code or of a part, at once",
    )
    void.add_argument("--device", metavar="ID", help="held movements from this device")
    void.add_argument(
        "--code",
        choices=codes,
        metavar="CODE",
        help="held for this exception code (UNKNOWN_REFERENCE, SERIAL_CONFLICT...)",
    )
    void.add_argument("--part", metavar="PART", help="held movements of this part")
    void.add_argument("--reason", metavar="TEXT", required=True, help="why, kept with each")
    void.add_argument("--by", metavar="BADGE", help="the badge of the supervisor who decided")
    void.add_argument("--json", action="store_true", help="JSON for programs")
    void.set_defaults(handler=run_exceptions_void)


def run_exceptions_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from sync.central.enrollment import unknown_device
    from sync.central.models import Device
    from sync.central.supervision import exception_rows

    sessions = open_central(args.db)
    status = None if args.status == "all" else args.status
    with refused_as_floor_error(), reading(sessions) as session:
        if args.device is not None and session.get(Device, args.device) is None:
            raise unknown_device(session, args.device)
        if args.summary is not None:
            _refuse_no_summary(session, args.summary)

        def page_after(after: int) -> list[dict[str, Any]]:
            rows = exception_rows(
                session, status, after=after, limit=EXCEPTIONS_READ, summary=args.summary,
                device=args.device, code=args.code, part=args.part,
            )  # fmt: skip
            session.expunge_all()
            return rows

        pages = _pages(page_after)
        if args.json:
            print_json_list(row for page in pages for row in page)
        else:
            names = dict(session.execute(select(Device.id, Device.name)).tuples().all())
            _print_exceptions(pages, args.status, names)
    return 0


def _refuse_no_summary(session: Session, summary: int) -> None:
    """`--summary` names a summary the store has: else nothing listed would look like a
    summary grouping nothing."""
    from sync.central.exception_cap import SUMMARY
    from sync.central.models import SyncException

    found = session.get(SyncException, summary)
    if found is None:
        raise LotscanError(f"No exception #{summary}: `lotscan exceptions list` shows them")
    if found.code != SUMMARY:
        raise LotscanError(
            f"#{summary} is not a {SUMMARY} summary but {found.code}: --summary lists what"
            " a summary groups"
        )


def _pages(read: Callable[[int], list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Each page `read(after)` gives, from the first, until one comes back short."""
    after = 0
    while True:
        page = read(after)
        if page:
            yield page
        if len(page) < EXCEPTIONS_READ:
            return
        after = page[-1]["id"]


def _print_exceptions(
    pages: Iterator[list[dict[str, Any]]], status: str, names: dict[str, str]
) -> None:
    count = 0
    for page in pages:
        for row in page:
            print(format_exception(row, names))
        count += len(page)
    which = "" if status == "all" else f"{status.replace('_', '-')} "
    if count == 0:
        print(f"No {which}exceptions")
    else:
        print(f"{count} {which}exception{'' if count == 1 else 's'}")


def format_exception(row: dict[str, Any], names: dict[str, str]) -> str:
    """One exception as a supervisor reads it at a terminal: which it is, from which device
    (named from `names`, by id) and which of its movements, what it is about, the store's
    words, and how it was closed. Each value is `shown`: they come from devices
    and from the database."""
    device = str(row["device"])
    if names.get(device):
        device = f"{names[device]} ({device})"
    if row.get("device_seq") is not None:
        device += f" #{row['device_seq']}"
    head = f"#{row['id']}  {row['code']}  {row['status']}  {device}  {_when(row.get('opened_at'))}"
    what = [str(row["part"])] if row.get("part") else []
    if row.get("serial"):
        what.append(f"serial {row['serial']}")
    elif row.get("lot"):
        what.append(f"lot {row['lot']}")
    if row.get("location"):
        what.append(f"at {row['location']}")
    words = str(row.get("message") or "")
    if row.get("grouped") is not None:
        words += f" ({row['grouped']} open under it: --summary {row['id']} lists them)"
    lines = [head, " ".join(what), words]
    resolution = str(row.get("resolution") or "")
    if resolution:
        by = str(row.get("resolved_by") or "")
        named = f" ({by})" if by and by not in resolution else ""
        closed = str(row["status"]).replace("_", " ").capitalize()
        lines.append(f"{closed} {_when(row.get('closed_at'))}: {resolution}{named}")
    return "\n    ".join(shown(line) for line in lines if line)


def run_exceptions_void(args: argparse.Namespace) -> int:
    from sync.central.supervision import void_held

    sessions = open_central(args.db)
    with refused_as_floor_error(), unit_of_work(sessions) as session:
        voided = void_held(
            session,
            by=console(),
            reason=args.reason,
            device=args.device,
            code=args.code,
            part=args.part,
            operator=args.by,
            clock=utc_now,
        )
    if args.json:
        print_json(
            {
                "voided": voided,
                "device": args.device,
                "code": args.code,
                "part": args.part,
                "reason": args.reason,
            }
        )
        return 0
    print(
        f"Voided {voided} held movement{'' if voided == 1 else 's'}: they never count, and"
        " their handhelds withdraw them on their next sync."
    )
    return 0


def run_serve(args: argparse.Namespace) -> int:
    # The composition root: the office console is served beside the API, in every worker.
    from console.app import mount_console
    from sync.central.service import serve
    from sync.central.workers import refuse_workers_on_sqlite

    if not 0 <= args.port <= 65535:
        raise LotscanError(
            f"--port {args.port} is not a port: give 1 to 65535, or 0 for any free one"
        )
    if args.workers < 1:
        raise LotscanError(f"--workers {args.workers} is not a number of processes: give 1 or more")
    url = central_url(args.db)
    refuse_workers_on_sqlite(url, args.workers)  # before a store is made for them
    # Made (or refused, a handheld's database) before the service starts on it.
    open_central(url, making=True).kw["bind"].dispose()
    serve(url, args.host, args.port, extend=mount_console, workers=args.workers)
    return 0


def run_devices_enroll(args: argparse.Namespace) -> int:
    from sync.central.enrollment import issue_code, service_address

    sessions = open_central(args.db, making=True)
    with refused_as_floor_error(), unit_of_work(sessions) as session:
        issued = issue_code(
            session, args.name, supervisor=args.supervisor, by=console(), clock=utc_now
        )
        address = service_address(session)
    named = shown(args.name.strip())  # as stored
    replacing = issued.replacing_words(named)
    if args.json:
        print_json(
            {
                "device": issued.device,
                "code": issued.code,
                "expires_at": issued.expires_at.isoformat(),
                "waiting": issued.waiting,
            }
        )
        if replacing is not None:
            print(f"lotscan: {replacing}", file=sys.stderr)
        return 0
    expires = issued.expires_at.astimezone().strftime("%H:%M")
    print(
        f"Enrollment code for {named} (device {shown(issued.device)}): {issued.code}"
        f" — expires {expires} (15 minutes)."
    )
    if address is None:
        print(
            f"On the handheld: lotscan enroll http://HOST:PORT {issued.code}, with the address"
            f" lotscan serve will listen on (it has not run on this database yet; its port is"
            f" {DEFAULT_PORT} unless --port says otherwise)"
        )
    else:
        print(
            f"On the handheld: lotscan enroll {address} {issued.code}"
            " (where lotscan serve last listened)"
        )
    if replacing is not None:
        print(f"Before you do: {replacing}")
    return 0


def run_devices_list(args: argparse.Namespace) -> int:
    from sync.central.supervision import device_rows

    sessions = open_central(args.db)
    with reading(sessions) as session:
        rows = device_rows(session)
    if args.json:
        print_json([{key: _json_value(row.get(key)) for key in LIST_KEYS} for row in rows])
    else:
        print(format_devices(rows))
    return 0


def run_devices_role(args: argparse.Namespace) -> int:
    from scanner.plain_text import shown
    from sync.central.enrollment import find_device, set_role
    from sync.central.supervision import supervisor_named

    reason = args.reason or None
    sessions = open_central(args.db)
    with refused_as_floor_error(), unit_of_work(sessions) as session:
        by = console()
        if args.by:
            by = f"{supervisor_named(session, args.by, 'changes a role')} at {by}"
        device = find_device(session, args.device)
        change = set_role(session, device.id, args.role, by=by, reason=reason, clock=utc_now)
        row = {
            "device": device.id,
            "name": device.name,
            "role": change.role,
            "was": change.was,
            "role_changed_at": change.changed_at.isoformat(),
            "role_changed_by": change.changed_by,
        }
    if args.json:
        print_json(row)
        return 0
    print(
        f"Device {device.id} ({shown(device.name)}) is now a {change.role}'s (it was a"
        f" {change.was}'s), from its next request; recorded as changed by {shown(by)}."
    )
    return 0


def console() -> str:
    """Who works on the central database from this machine: its user, as the history
    names them."""
    from sync.central.enrollment import CONSOLE

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        return CONSOLE
    return f"{CONSOLE} ({user})"


def run_devices_revoke(args: argparse.Namespace) -> int:
    from sync.central.enrollment import revoke

    sessions = open_central(args.db)
    with refused_as_floor_error(), unit_of_work(sessions) as session:
        device = revoke(session, args.id, by=console(), clock=utc_now)
    print(
        f"Device {shown(device.id)} ({shown(device.name)}) is revoked: its token no longer"
        f" works. It keeps its queue; lotscan devices enroll {shown(shlex.quote(device.name))}"
        " gives it a code to come back."
    )
    return 0


@contextmanager
def refused_as_floor_error() -> Iterator[None]:
    """The store's refusals (an unknown device, a bad name) as the one-line error every
    lotscan command ends with; the transaction is rolled back first."""
    from sync.central.errors import SyncError

    try:
        yield
    except SyncError as error:
        raise LotscanError(error.message) from None


def format_devices(rows: Sequence[dict[str, Any]]) -> str:
    """The devices as a table a supervisor reads at a terminal; each cell `shown`, as a
    device's name or status may come from a store older than the checks at its doors."""
    if not rows:
        return "No devices (lotscan devices enroll NAME gives a handheld its code)"
    header = (
        "DEVICE",
        "NAME",
        "STATUS",
        "ROLE",
        "LAST SEEN",
        "APPLIED",
        "QUEUE",
        "FLAG",
        "HELD",
        "REJ",
    )
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        lines.append(
            tuple(
                shown(cell)
                for cell in (
                    str(row.get("device", "")),
                    str(row.get("name", "")),
                    str(row.get("status", "")),
                    str(row.get("role", "")),
                    _when(row.get("last_seen")),
                    str(row.get("last_applied_seq", 0)),
                    "-" if row.get("queue_depth") is None else str(row["queue_depth"]),
                    str(row.get("flagged", 0)),
                    str(row.get("held", 0)),
                    str(row.get("rejected", 0)),
                )
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _when(value: Any) -> str:
    if value is None:
        return "never"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return str(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value

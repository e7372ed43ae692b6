"""The `lotscan` command line (docs/architecture.md, "Command line contract"): the
composition root that wires the packages (docs/architecture.md, "Layers and arrows").

Output meant for programs is `--json` on standard output; an error is one clear line on
standard error and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from scanner.cli_operators import add_operator_parsers
from scanner.cli_replay import add_replay_parser
from scanner.cli_settings import add_settings_parsers
from scanner.cli_values import row_number
from scanner.db import database_reason, open_database, reading, unit_of_work
from scanner.errors import LotscanError
from scanner.json_output import print_json
from scanner.plain_text import shown
from scanner.workspace import database_url, device_folder

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labels.printing import PrinterSettings
    from scanner.workflows.base import LabelDue

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", run_tui)
    output = _Output(sys.stdout) if handler is not run_tui else None
    if output is not None:
        sys.stdout = output
    try:
        return handler(args)
    except LotscanError as error:
        # A message may quote stored text (docs/architecture.md, "Text at the doors").
        print(f"lotscan: {shown(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (`head`, a closed pager) went away: not an error worth a traceback.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit
        return 141
    except Exception as error:
        reason = _database_reason(error)
        if reason is None:
            raise
        # The database went away or refused mid-command; nothing half-done was committed.
        print(f"lotscan: database error: {shown(reason)}", file=sys.stderr)
        return 1
    finally:
        # The stream it wrapped (os.devnull once a write failed), so a caller that runs
        # commands in its own process (the tests) is not left wrapping wrappers.
        if output is not None and sys.stdout is output:
            sys.stdout = output.stream


class _Output:
    """Standard output for a command: a write that fails (a full disk or a dead device
    behind it, `> /dev/full`) is an error in one line, where it was a traceback. A reader
    that went away (BrokenPipeError) is `main`'s to answer."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._failed(error) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._failed(error) from None

    def _failed(self, error: OSError) -> LotscanError:
        # What is left is not flushed again at exit.
        self.stream = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit
        return LotscanError(f"Cannot write to standard output: {error.strerror}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _to_standard_output(data: bytes) -> None:
    """Writes `data` to standard output; a write that fails (a full disk behind it) is an
    error in one line, not a traceback. A reader that went away is `main`'s to answer."""
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - what is left is not flushed at exit
        raise LotscanError(f"Cannot write to standard output: {error.strerror}") from None


def _database_reason(error: Exception) -> str | None:
    """The driver's reason when `error` is SQLAlchemy's DBAPIError, else None. Asked without
    importing SQLAlchemy, which a command that never opened a database did not load (a
    handheld's start draws its first frame before it does)."""
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None or not isinstance(error, errors.DBAPIError):
        return None
    return database_reason(error)


def build_parser() -> argparse.ArgumentParser:
    db_help = "SQLAlchemy URL of the database (default: the workspace's device database)"
    # --db may come before or after the command; SUPPRESS keeps the command's copy from
    # overwriting one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=db_help)
    parser = argparse.ArgumentParser(
        prog="lotscan",
        description="Lot and serial control for the shop floor: scan, trace, sync.",
    )
    parser.add_argument("--db", metavar="URL", help=db_help)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=[common], help="build a fresh demo workspace with some history"
    )
    demo.add_argument(
        "--no-tui", action="store_true", help="build it and print a summary; open no screen"
    )
    demo.set_defaults(handler=run_demo)

    importing = commands.add_parser(
        "import", parents=[common], help="import reference data from a CSV file"
    )
    importing.add_argument(
        "kind", choices=import_kinds(), metavar="KIND", help=", ".join(import_kinds())
    )
    importing.add_argument("file", type=Path, metavar="FILE.csv")
    importing.set_defaults(handler=run_import)

    stock = commands.add_parser("stock", parents=[common], help="on-hand balances")
    stock.add_argument("--part")
    stock.add_argument("--lot")
    stock.add_argument("--location")
    stock.add_argument("--json", action="store_true", help="a JSON list for programs")
    stock.set_defaults(handler=run_stock)

    trace = commands.add_parser(
        "trace", parents=[common], help="where a lot or serial came from and where it went"
    )
    trace.add_argument("--part", required=True)
    which = trace.add_mutually_exclusive_group(required=True)
    which.add_argument("--lot")
    which.add_argument("--serial")
    trace.add_argument("--json", action="store_true", help="JSON for programs")
    trace.set_defaults(handler=run_trace)

    parse = commands.add_parser("parse", parents=[common], help="what a scan means")
    parse.add_argument("scan", metavar="SCAN", help="the scan as the scanner sends it")
    parse.add_argument("--json", action="store_true", help="JSON for programs")
    parse.set_defaults(handler=run_parse)

    decode = commands.add_parser(
        "decode", parents=[common], help="every barcode in an image, each read as a scan"
    )
    decode.add_argument("image", type=Path, metavar="IMAGE", help="a PNG or JPEG file")
    decode.add_argument("--json", action="store_true", help="a JSON list for programs")
    decode.set_defaults(handler=run_decode)

    add_replay_parser(commands, common)
    add_label_parser(commands, common)
    add_printing_parsers(commands, common)
    from scanner.cli_control import add_control_parsers
    from scanner.cli_export import add_export_parsers
    from scanner.cli_quality import add_quality_parsers
    from scanner.cli_recall import add_recall_parser

    add_control_parsers(commands, common)
    add_quality_parsers(commands, common)
    add_recall_parser(commands, common)
    add_export_parsers(commands, common)
    add_operator_parsers(commands, common)
    add_settings_parsers(commands, common)
    # The composition root wires the packages: sync's commands live with sync.
    from sync.central.cli import add_central_parsers
    from sync.device.cli import add_device_parsers

    add_central_parsers(commands, common)
    add_device_parsers(commands, common)
    return parser


def add_label_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """`lotscan label KIND ... --format F -o FILE`: one kind of label a subcommand."""
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument(
        "--format",
        choices=["png", "svg", "pdf", "zpl"],
        help="the output (default: from the file name's suffix)",
    )
    output.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the file to write; - for stdout"
    )
    output.add_argument(
        "--layout",
        default="4x2-203",
        metavar="NAME|PATH",
        help="4x2-203 (default), 4x2-300, 4x6-203, 4x6-300, or a .json/.toml layout file",
    )
    label = commands.add_parser(
        "label", parents=[common], help="render a lot, serial, location or assembly label"
    )
    kinds = label.add_subparsers(title="kinds", metavar="KIND", required=True)
    parents = [common, output]
    lot = kinds.add_parser("lot", parents=parents, help="a lot container's label")
    lot.add_argument("--part", required=True)
    lot.add_argument("--lot", required=True)
    lot.add_argument("--expiry", metavar="YYYY-MM-DD", help="when the lot has none recorded")
    lot.add_argument("--qty", metavar="N", help="what the container holds")
    serial = kinds.add_parser("serial", parents=parents, help="a serialized unit's label")
    serial.add_argument("--part", required=True)
    serial.add_argument("--serial", required=True)
    location = kinds.add_parser("location", parents=parents, help="a location's label")
    location.add_argument("--location", required=True)
    assembly = kinds.add_parser(
        "assembly", parents=parents, help="the label of a job's pre-assigned lot"
    )
    assembly.add_argument("--job", required=True)
    assembly.add_argument("--lot", help="which one, when the job has several assigned")
    for kind, parser in (
        ("lot", lot),
        ("serial", serial),
        ("location", location),
        ("assembly", assembly),
    ):
        parser.set_defaults(handler=run_label, kind=kind)


def add_printing_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """`lotscan printer [set URL | on | off]` and `lotscan print-queue [retry|drop ID |
    deliver]`: this device's printer, and the labels waiting for it."""
    printer = commands.add_parser(
        "printer", parents=[common], help="this device's label printer (show, set, on, off)"
    )
    printer.set_defaults(handler=run_printer_show)
    actions = printer.add_subparsers(title="actions", metavar="ACTION")
    chosen = actions.add_parser(
        "set", parents=[common], help="print to URL: tcp://HOST:9100, lp://QUEUE, file:///DIR"
    )
    chosen.add_argument("url", metavar="URL")
    chosen.add_argument(
        "--layout", metavar="NAME|PATH", help="the label stock (default 4x2-203, or as before)"
    )
    chosen.set_defaults(handler=run_printer_set)
    for state, help_text in (("on", "queue labels as they fall due"), ("off", "queue none")):
        actions.add_parser(state, parents=[common], help=help_text).set_defaults(
            handler=run_printer_switch, on=state == "on"
        )

    queue = commands.add_parser(
        "print-queue", parents=[common], help="labels waiting for the printer, and printed"
    )
    queue.add_argument("--json", action="store_true", help="a JSON list for programs")
    queue.add_argument("--status", choices=["waiting", "printed", "dropped"], help="only these")
    queue.set_defaults(handler=run_print_queue_list)
    jobs = queue.add_subparsers(title="actions", metavar="ACTION")
    for action, help_text in (
        ("retry", "put a dropped job back in the queue, or print a printed one again"),
        ("drop", "take a waiting job out of the queue"),
    ):
        job = jobs.add_parser(action, parents=[common], help=help_text)
        job.add_argument("id", type=row_number("a print job's id, like 12"), metavar="ID")
        job.set_defaults(handler=run_print_queue_change, action=action)
    jobs.add_parser("deliver", parents=[common], help="send the waiting jobs now").set_defaults(
        handler=run_print_queue_deliver
    )


def import_kinds() -> list[str]:
    from scanner.import_kinds import KINDS

    return list(KINDS)


def run_import(args: argparse.Namespace) -> int:
    from scanner.importing import import_reference

    sessions = open_database(database_url(args.db))
    from sync.central.enrollment import is_central
    from sync.central.pull import publish_decisions, publish_reference

    with unit_of_work(sessions) as session:
        imported = import_reference(session, args.kind, args.file)
        # On the central store the rows that changed go to every handheld on its next pull,
        # published in the import's own transaction: no push can apply a movement naming a
        # part the handhelds were never told about.
        changes = 0
        if is_central(session):
            changes = publish_reference(session)
            if imported.decisions:
                changes += publish_decisions(session, imported.decisions)
    print(shown(f"Imported {imported.rows} {args.kind} rows from {args.file}"))
    for note in imported.notes:
        print(shown(note))
    if changes:
        print(f"{changes} changes published to the handhelds")
    return 0


def run_stock(args: argparse.Namespace) -> int:
    from scanner.clock import utc_now
    from scanner.stock import format_stock, stock_standing

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        rows = stock_standing(
            session, utc_now().date(), part=args.part, lot=args.lot, location=args.location
        )
    if args.json:
        print_json([row.as_json() for row in rows])
    else:
        print(format_stock(rows))
    return 0


def run_trace(args: argparse.Namespace) -> int:
    from scanner.trace import format_trace, trace

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        result = trace(session, args.part, lot=args.lot, serial=args.serial)
    if args.json:
        print_json(result.as_json())
    else:
        print(format_trace(result))
    return 0


def run_parse(args: argparse.Namespace) -> int:
    from scanner.scan import format_scan, read_scan, scan_config

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        config = scan_config(session)
    scan = read_scan(args.scan, config)
    if args.json:
        print_json(scan.as_json())
    else:
        print(format_scan(scan))
    return 0


def run_decode(args: argparse.Namespace) -> int:
    from scanner.decode import decode_image, format_decoded
    from scanner.scan import scan_config

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        config = scan_config(session)
    barcodes = decode_image(args.image, config)
    if not barcodes:
        print(
            f"lotscan: no barcode found in {args.image} (lotscan reads linear codes, QR, "
            "Data Matrix, Aztec and PDF417)",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print_json([barcode.as_json() for barcode in barcodes])
    else:
        print(format_decoded(barcodes))
    return 0


def run_label(args: argparse.Namespace) -> int:
    from labels.content import (
        MAX_COUNT,
        label_for_assembly,
        label_for_location,
        label_for_lot,
        label_for_serial,
    )
    from labels.layout import layout_named
    from labels.output import LabelFormat, format_of, render

    target = Path(args.output)
    chosen = LabelFormat(args.format) if args.format else format_of(target)
    if chosen is None:
        raise LotscanError(f"Say which format to write {target} in: --format png|svg|pdf|zpl")
    layout = layout_named(args.layout)
    expiry = _iso_date(args.expiry, "--expiry") if getattr(args, "expiry", None) else None
    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        if args.kind == "lot":
            label = label_for_lot(session, args.part, args.lot, qty=args.qty, expiry=expiry)
            if label.qty is not None and label.qty == int(label.qty) and label.qty > MAX_COUNT:
                # Printed in words, the count would be left out of the barcode (GS1's (30)
                # takes 8 digits), and a scan of the label would ask for it.
                raise LotscanError(
                    f"--qty {args.qty}: a barcode carries a count of at most {MAX_COUNT}"
                    " (GS1's (30) takes 8 digits): label each container with what it holds"
                )
        elif args.kind == "serial":
            label = label_for_serial(session, args.part, args.serial)
        elif args.kind == "location":
            label = label_for_location(session, args.location)
        else:
            label = label_for_assembly(session, args.job, lot=args.lot)
    data = render([label], layout, chosen)
    if args.output == "-":
        _to_standard_output(data)
        return 0
    from scanner.output_files import output_target

    # A FIFO with no reader made the command wait for ever; a folder said "Is a directory".
    written = output_target(target)
    try:
        written.write_bytes(data)
    except OSError as error:
        raise LotscanError(f"Cannot write {target}: {error.strerror or error}") from None
    print(f"Wrote the {args.kind} label ({layout.name}, {chosen.value}) to {target}")
    return 0


def _iso_date(text: str, option: str) -> date:
    from scanner.clock import written_day

    try:
        return written_day(text)
    except ValueError:
        raise LotscanError(f"{option} {text} is not a date: write it as YYYY-MM-DD") from None


def run_printer_show(args: argparse.Namespace) -> int:
    from labels.printing import printer_settings
    from labels.queue import waiting_count

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        settings = printer_settings(session)
        waiting = waiting_count(session)
    print(_printer_text(settings))
    print(f"Waiting to print: {waiting}")
    return 0


def _printer_text(settings: PrinterSettings) -> str:
    printer = settings.printer()
    if printer is None:
        named, state = "none set (lotscan printer set URL)", "off (no printer)"
    else:
        named = f"{shown(printer.url)} ({printer.format.value.upper()})"
        state = "on" if settings.enabled else "off (lotscan printer on)"
    return f"Printer: {named}\nLayout: {shown(settings.layout)}\nPrinting: {state}"


def run_printer_set(args: argparse.Namespace) -> int:
    from labels.printing import set_printer

    sessions = open_database(database_url(args.db))
    with unit_of_work(sessions) as session:
        settings = set_printer(session, args.url, args.layout)
    print(_printer_text(settings))
    return 0


def run_printer_switch(args: argparse.Namespace) -> int:
    from labels.printing import set_printing

    sessions = open_database(database_url(args.db))
    with unit_of_work(sessions) as session:
        set_printing(session, args.on)
    print(f"Printing is {'on' if args.on else 'off'}")
    return 0


def run_print_queue_list(args: argparse.Namespace) -> int:
    from labels.queue import format_jobs, job_json, list_jobs

    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        jobs = list_jobs(session, args.status)
        if args.json:
            print_json([job_json(job) for job in jobs])
        else:
            print(format_jobs(jobs))
    return 0


def run_print_queue_change(args: argparse.Namespace) -> int:
    from labels.queue import drop, retry

    sessions = open_database(database_url(args.db))
    with unit_of_work(sessions) as session:
        job = (retry if args.action == "retry" else drop)(session, args.id)
        done = "waits to print" if args.action == "retry" else "is dropped"
        print(f"Print job {job.id} ({shown(job.description)}) {done}")
    return 0


def run_print_queue_deliver(args: argparse.Namespace) -> int:
    from labels.queue import deliver_waiting

    report = deliver_waiting(open_database(database_url(args.db)))
    if report.ok:
        print(shown(report.summary()))
        return 0
    print(f"lotscan: {shown(report.summary())}", file=sys.stderr)
    return 1


def run_demo(args: argparse.Namespace) -> int:
    from scanner.demo import build_demo, demo_url

    url = args.db or demo_url()
    summary = build_demo(url, today=date.today())
    summary += f"\n{_print_demo_labels(url)}"
    # Only a person at a terminal gets the screen; scripts and CI get the summary.
    if args.no_tui or not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(summary)
        return 0
    return open_tui(url)


def _print_demo_labels(url: str) -> str:
    """Points the demo's printer at a folder of its workspace: a demo has no label printer,
    and a newcomer should see the labels a receipt makes. Returns the summary's line."""
    from labels.printing import set_printer
    from scanner.demo import labels_folder

    folder = labels_folder(url)
    sessions = open_database(url)
    try:
        with unit_of_work(sessions) as session:
            set_printer(session, folder.as_uri())
    finally:
        sessions.kw["bind"].dispose()
    return f"Labels: each a PNG file in {folder}"


def run_tui(args: argparse.Namespace) -> int:
    """`lotscan` with no command: the handheld screen on the workspace's device database."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # A script or CI that runs bare `lotscan` must not hang on a screen nobody sees.
        raise LotscanError("the handheld screen needs a terminal; lotscan --help lists commands")
    return open_tui(database_url(args.db))


def open_tui(url: str) -> int:
    """Runs the handheld app on the database at `url` until the operator quits, with the
    keys this device's `keymap.toml` moves (beside the database); a keymap that cannot be
    used is refused before the screen opens. A current SQLite database is read without the
    ORM and opened after the first frame (`scanner.device_start`); any other, before it."""
    from scanner.device_start import read_device_start
    from scanner.scan import scan_config
    from scanner.settings import device_id
    from screens.app import LotscanApp
    from screens.keymap import load_keymap

    keymap = load_keymap(device_folder(url))
    start = read_device_start(url)
    if start is not None:
        app = LotscanApp(start, keymap=keymap)
        app.run()
        if app.open_failure is not None:
            raise app.open_failure
        return 0
    sessions = open_database(url)
    with unit_of_work(sessions) as session:
        config = scan_config(session)
        device = device_id(session)
    LotscanApp(sessions, config=config, device=device, keymap=keymap).run()
    return 0


def queue_labels(session: Session, due: Sequence[LabelDue]) -> int:
    """The engine's print hook for the commands that scan (`QueueLabels`): the labels a
    scan made due, queued with its movements; none while printing is off."""
    from labels.printing import queue_labels_due  # labels load Pillow and python-barcode

    return len(queue_labels_due(session, due))

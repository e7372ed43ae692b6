"""`lotscan export ...`: the ledger as others read it (docs/architecture.md, "Exports").

    lotscan export epcis [--since DATE] [--until DATE] [--part P [--lot L]] -o FILE
    lotscan export fsma204 --from DATE --to DATE [--part P] -o FILE.csv|FILE.xlsx

Both stream the ledger (nothing holds the whole of it in memory) and show their progress on
a terminal (`scanner.progress`).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path


def add_export_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    export = commands.add_parser(
        "export", parents=[common], help="the ledger for a customer or a regulator"
    )
    kinds = export.add_subparsers(title="formats", metavar="FORMAT", required=True)

    epcis = kinds.add_parser(
        "epcis", parents=[common], help="GS1 EPCIS 2.0 JSON-LD: one event a movement"
    )
    epcis.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="from this day on")
    epcis.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="up to this day")
    epcis.add_argument("--part", metavar="P", help="only this part's movements")
    epcis.add_argument("--lot", metavar="L", help="only this lot's (with --part)")
    epcis.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    epcis.set_defaults(handler=_run_epcis)

    fsma = kinds.add_parser(
        "fsma204", parents=[common], help="FDA FSMA 204 sortable spreadsheet (CSV or XLSX)"
    )
    fsma.add_argument("--from", dest="start", type=_day, required=True, metavar="YYYY-MM-DD")
    fsma.add_argument("--to", dest="end", type=_day, required=True, metavar="YYYY-MM-DD")
    fsma.add_argument("--part", metavar="P", help="only this part's events")
    fsma.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.csv|FILE.xlsx")
    fsma.set_defaults(handler=_run_fsma)


def _day(text: str) -> date:
    from scanner.clock import day_range_problem, written_day

    try:
        day = written_day(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    problem = day_range_problem(day)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return day


def _run_epcis(args: argparse.Namespace) -> int:
    from scanner.export_epcis import run_export_epcis

    return run_export_epcis(args)


def _run_fsma(args: argparse.Namespace) -> int:
    from scanner.export_fsma import run_export_fsma

    return run_export_fsma(args)

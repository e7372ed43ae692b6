"""`lotscan export fsma204`: the FDA FSMA 204 sortable spreadsheet (docs/architecture.md,
"Exports"). Being written: issue 18."""

from __future__ import annotations

import argparse

from scanner.errors import LotscanError


def run_export_fsma(args: argparse.Namespace) -> int:
    raise LotscanError("The FSMA 204 export is not built yet")

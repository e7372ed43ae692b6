"""`lotscan export epcis`: the ledger as GS1 EPCIS 2.0 JSON-LD (docs/architecture.md,
"Exports"). Being written: issue 18."""

from __future__ import annotations

import argparse

from scanner.errors import LotscanError


def run_export_epcis(args: argparse.Namespace) -> int:
    raise LotscanError("The EPCIS export is not built yet")

"""parse: reading a GS1 label's scan, as the floor does it.

Ours is `scanner.scan.read_scan` of a GS1-128 scan with five element strings: (01) GTIN,
(17) expiry, (10) lot, (21) serial and (30) count, as a scanner sends it (`]C1`, GS after
each field that needs one). The baseline is biip alone, `biip.parse` of the same scan: the
library lotscan reads GS1 with, without lotscan's checks of each field. Both read the same
fields (checked before timing), in turns in the same process.
"""

from __future__ import annotations

import biip

from bench.result import Result
from bench.suite import QUICK
from bench.timing import alternating_medians
from scanner.gs1 import GS
from scanner.scan import read_scan

NAME = "parse"
GOAL = 0.6
"""The ratio before lotscan read each AI's data component by component: 0.37-0.56 over three
quick and three full runs on the shared machine, rounded up for its noise."""
SCAN = f"]C101095060001343521726123110LOT123{GS}21SN0001{GS}3012"
PARSES = 20_000
"""At full scale; a tenth at quick scale, and a few hundred below it."""
TINY_PARSES = 200
RUNS = 3


def run(scale: float) -> Result:
    check_same_fields(SCAN)
    count = parse_count(scale)

    def ours() -> None:
        for _ in range(count):
            read_scan(SCAN)

    def baseline() -> None:
        for _ in range(count):
            biip.parse(SCAN)

    ours()  # loads scanner.gs1 and its tables, and warms biip's
    baseline()
    ours_time, baseline_time = alternating_medians(ours, baseline, RUNS, ours_per_round=1)
    return Result(
        name=NAME,
        ours=ours_time,
        baseline=baseline_time,
        goal=GOAL,
        facts=(
            f"{count:,} reads of ]C1 (01)(17)(10)(21)(30), a GS1-128 scan of 5 element"
            f" strings; per read: ours {ours_time / count * 1e6:.1f} µs,"
            f" biip {baseline_time / count * 1e6:.1f} µs; medians of {RUNS} runs, in turns",
            "baseline: biip.parse of the same scan, without lotscan's checks",
        ),
    )


def parse_count(scale: float) -> int:
    return max(TINY_PARSES, int(PARSES * scale)) if scale >= QUICK else TINY_PARSES


def check_same_fields(scan: str) -> None:
    """read_scan and biip read the same AIs and values from the scan."""
    ours = read_scan(scan).item
    message = biip.parse(scan).gs1_message
    if ours is None or message is None:
        raise AssertionError(f"{scan!r} is not GS1 data to one of the readers")
    theirs = {each.ai.ai: each.value for each in message.element_strings}
    if ours.ai != theirs:
        raise AssertionError(f"read_scan reads {ours.ai}, biip {theirs}")

"""`python -m bench [--quick | --tiny | --scale X] [--json] [--only NAME]`: run the benchmarks.

Each benchmark times our implementation and a baseline doing the same work in the same run,
and reports the medians and their ratio (DESIGN §7). Full scale by default; `--quick` is a
tenth of it; `--tiny` only checks that everything runs. `--json` prints
`{"name": {"ours", "baseline", "ratio", "unit"}}` on standard output, nothing else; progress
goes to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from bench.machine import describe_machine
from bench.result import Result
from bench.suite import BENCHMARKS, FULL, QUICK, TINY, benchmark


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scale = args.scale if args.scale is not None else QUICK if args.quick else FULL
    if args.tiny:
        scale = TINY
    if scale <= 0:
        print("bench: --scale must be more than 0", file=sys.stderr)
        return 2
    results = []
    for name in args.only or BENCHMARKS:
        print(f"{name}: running at scale {scale:g}...", file=sys.stderr, flush=True)
        results.append(benchmark(name)(scale))
    if args.json:
        print(json.dumps({r.name: r.as_json() for r in results}, indent=2))
    else:
        print(format_report(results, scale))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks, as ratios against a baseline."
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=f"scale {QUICK:g} of the full size")
    size.add_argument(
        "--tiny", action="store_true", help=f"scale {TINY:g}: a smoke test, not a measurement"
    )
    size.add_argument("--scale", type=float, help=f"any scale (full is {FULL:g})")
    parser.add_argument("--json", action="store_true", help="JSON for programs")
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )  # fmt: skip
    return parser


def format_report(results: Sequence[Result], scale: float) -> str:
    """A table of the results with what each measured, and the machine it ran on."""
    header = f"{'benchmark':<16} {'ours':>10} {'baseline':>10} {'ratio':>8}  goal"
    lines = [f"scale {scale:g}", header, "-" * len(header)]
    for r in results:
        verdict = "met" if r.met else "MISSED"
        lines.append(
            f"{r.name:<16} {_amount(r.ours, r.unit):>10} {_amount(r.baseline, r.unit):>10}"
            f" {r.ratio:>8.4f}  <= {r.goal:g} {verdict}"
        )
        lines += [f"  {fact}" for fact in r.facts]
    machine = describe_machine()
    lines.append(
        f"machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']},"
        f" SQLite {machine['sqlite']}"
    )
    return "\n".join(lines)


def _amount(value: float, unit: str) -> str:
    if unit != "s":
        return f"{value:g} {unit}"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


if __name__ == "__main__":
    sys.exit(main())

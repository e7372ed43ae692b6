"""`python -m bench [--quick | --tiny | --scale X] [--json] [--only NAME] [--results FILE]`:
run the benchmarks.

Each benchmark times our implementation and a baseline doing the same work in the same run,
and reports the medians and their ratio (docs/architecture.md, "Benchmarks"). Full scale by
default; `--quick` is a tenth of it; `--tiny` only checks that everything runs. `--json`
prints `{"name": {"ours", "baseline", "ratio", "unit"}}` on standard output, nothing else;
progress goes to standard error. A benchmark that cannot run here (no PostgreSQL server)
says why: `{"name": {"skipped": "..."}}`.

A full-scale run (`make bench`) also writes the results as a Markdown table to
bench/RESULTS.md, which the README shows; `--results FILE` writes them at any scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.machine import describe_machine
from bench.result import Result, Skipped
from bench.suite import BENCHMARKS, FULL, QUICK, TINY, benchmark

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

Outcome = Result | tuple[str, str]
"""A benchmark's result, or its name and why it was skipped."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scale = args.scale if args.scale is not None else QUICK if args.quick else FULL
    if args.tiny:
        scale = TINY
    if scale <= 0:
        print("bench: --scale must be more than 0", file=sys.stderr)
        return 2
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    for name in args.only or BENCHMARKS:
        print(f"{name}: running at scale {scale:g}...", file=sys.stderr, flush=True)
        try:
            outcomes.append(benchmark(name)(scale))
        except Skipped as reason:
            print(f"{name}: skipped: {reason}", file=sys.stderr, flush=True)
            outcomes.append((name, str(reason)))
    minutes = (time.perf_counter() - started) / 60
    if args.json:
        print(json.dumps({_name(o): _json(o) for o in outcomes}, indent=2))
    else:
        print(format_report(outcomes, scale))
    results = args.results or (RESULTS if scale == FULL and not args.only else None)
    if results is not None:
        results.write_text(markdown_report(outcomes, scale, minutes), encoding="utf-8")
        print(f"results written to {results}", file=sys.stderr)
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
    parser.add_argument(
        "--results", type=Path, metavar="FILE",
        help=f"write a Markdown table of the results (a full run of all writes {RESULTS.name})",
    )  # fmt: skip
    return parser


def _name(outcome: Outcome) -> str:
    return outcome.name if isinstance(outcome, Result) else outcome[0]


def _json(outcome: Outcome) -> dict[str, float | str]:
    return outcome.as_json() if isinstance(outcome, Result) else {"skipped": outcome[1]}


def format_report(outcomes: Sequence[Outcome], scale: float) -> str:
    """A table of the results with what each measured, and the machine it ran on."""
    header = f"{'benchmark':<20} {'ours':>10} {'baseline':>10} {'ratio':>8}  goal"
    lines = [f"scale {scale:g}", header, "-" * len(header)]
    for outcome in outcomes:
        if not isinstance(outcome, Result):
            lines.append(f"{outcome[0]:<20} skipped: {outcome[1]}")
            continue
        r = outcome
        verdict = "met" if r.met else "MISSED"
        lines.append(
            f"{r.name:<20} {_amount(r.ours, r.unit):>10} {_amount(r.baseline, r.unit):>10}"
            f" {r.ratio:>8.4f}  <= {r.goal:g} {verdict}"
        )
        lines += [f"  {fact}" for fact in r.facts]
        lines += [f"  {key}: {value:g}" for key, value in r.extra.items()]
    lines.append(f"machine: {_machine()}")
    return "\n".join(lines)


def markdown_report(outcomes: Sequence[Outcome], scale: float, minutes: float) -> str:
    """The results as Markdown: a table, then what each benchmark measured."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"`python -m bench{'' if scale == FULL else f' --scale {scale:g}'}` on {when},"
        f" {minutes:.0f} minutes; machine: {_machine()}.",
        "Each time is a median of several runs (the notes say how many); the ratio is ours"
        " over the baseline's, lower is better.",
        "",
        "| benchmark | ours | baseline | ratio | goal | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for outcome in outcomes:
        if not isinstance(outcome, Result):
            lines.append(f"| {outcome[0]} | | | | | skipped: {outcome[1]} |")
            continue
        r = outcome
        lines.append(
            f"| {r.name} | {_amount(r.ours, r.unit)} | {_amount(r.baseline, r.unit)}"
            f" | {r.ratio:.3g} | ≤ {r.goal:g} | {'met' if r.met else 'missed'} |"
        )
    lines.append("")
    for outcome in outcomes:
        if isinstance(outcome, Result):
            notes = [*outcome.facts, *(f"{k}: {v:g}" for k, v in outcome.extra.items())]
            lines.append(f"- **{outcome.name}**: " + "; ".join(notes) + ".")
    return "\n".join(lines) + "\n"


def _machine() -> str:
    machine = describe_machine()
    return (
        f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']},"
        f" SQLite {machine['sqlite']}"
    )


def _amount(value: float, unit: str) -> str:
    if unit != "s":
        return f"{value:g} {unit}"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


if __name__ == "__main__":
    sys.exit(main())

"""Ids and line numbers typed on the command line: a value no row can hold is refused with
argparse's usage line, exit status 2 and what was expected, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.cli_values import LARGEST_ID
from scanner.workspace import sqlite_url
from tests.support.cli_in_process import lotscan
from tests.support.databases import open_migrated

TOO_LARGE = str(LARGEST_ID + 1)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("print-queue", "retry", "99999999999999999999"), "a print job's id, like 12"),
        (("print-queue", "drop", "0"), "a print job's id, like 12"),
        (("print-queue", "drop", "٣"), "a print job's id, like 12"),  # another script's digit
        (("print-queue", "drop", ""), "nothing given: give a print job's id, like 12"),
        (("orders", "close", "--po", "PO-1", "--line", TOO_LARGE), "an order line's number"),
        (
            ("orders", "reopen", "--so", "SO-1", "--line", "-2", "--by", "B9001"),
            "an order line's number",
        ),
    ],
)
def test_a_number_no_row_can_hold_is_refused_by_name(
    args: tuple[str, ...], expected: str, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "device.db")
    open_migrated(url).kw["bind"].dispose()
    result = lotscan(*args, "--db", url, home=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert f"is not {expected}" in result.stderr or expected.startswith("nothing given")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_an_id_as_a_list_shows_it_is_taken(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "device.db")
    open_migrated(url).kw["bind"].dispose()
    result = lotscan("print-queue", "drop", "#7", "--db", url, home=tmp_path)
    assert (result.returncode, result.stderr) == (1, "lotscan: There is no print job 7\n")

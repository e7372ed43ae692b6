"""`print_json_list` writes a list exactly as `print_json` writes it, row by row."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.json_output import print_json, print_json_list

_SCALARS = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def _written(write: Callable[[Any], None], value: Any) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        write(value)
    return out.getvalue()


@given(rows=st.lists(_VALUES, max_size=5))
def test_a_list_written_row_by_row_is_the_list_written_whole(rows: list[Any]) -> None:
    assert _written(print_json_list, iter(rows)) == _written(print_json, rows)


def test_an_empty_list_and_text_that_could_drive_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_json_list(iter([]))
    assert capsys.readouterr().out == "[]\n"
    print_json_list(iter([{"message": "red \x1b[31m, \u202e"}]))
    written = capsys.readouterr().out
    assert "\x1b" not in written and "\u202e" not in written and "\\u001b" in written

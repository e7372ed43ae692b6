"""Control characters at the doors and on the way out (scanner.plain_text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.errors import RuleViolation
from scanner.plain_text import control_character, quoted, refuse_control, shown


@pytest.mark.parametrize(
    "text",
    ["\x1b]0;owned\x07X", "\x1b[2J", "a\rb", "a\nb", "\x00", "tab\there", "\x9b31m",
     "\u202eevil", "\x7f"],
)  # fmt: skip
def test_control_characters_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(RuleViolation, match=r"^Reason holds U\+"):
        refuse_control(text, "Reason")


@pytest.mark.parametrize("text", ["Mark Jensen", "Müller & Søn", "crate 3/4", "北京", ""])
def test_plain_text_passes(text: str) -> None:
    assert refuse_control(text, "Name") == text
    assert shown(text) == text


def test_escape_is_named() -> None:
    with pytest.raises(RuleViolation, match=r"U\+001B \(ESC\)"):
        refuse_control("\x1b[2J", "Lot")


@given(st.text())
def test_shown_text_never_holds_a_control_character(text: str) -> None:
    assert control_character(shown(text)) is None
    assert control_character(quoted(text)) is None
    if control_character(text) is None:
        assert shown(text) == text

"""Control characters at the doors and on the way out (scanner.plain_text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.errors import RuleViolation
from scanner.plain_text import UNSEEN, control_character, quoted, refuse_control, shown


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
    assert not UNSEEN & set(shown(text))
    if control_character(text) is None and not UNSEEN & set(text):
        assert shown(text) == text


PERSIAN_WITH_ZWNJ = "\u06a9\u062a\u0627\u0628\u200c\u0647\u0627"
"""A Persian plural, "books": the non-joiner between word and suffix is part of its spelling."""


@pytest.mark.parametrize(
    ("stored", "seen"),
    [
        ("PART\u200bZW", "PART\\u200bZW"),
        ("A\u2060B", "A\\u2060B"),
        (PERSIAN_WITH_ZWNJ, PERSIAN_WITH_ZWNJ),
    ],
)
def test_a_character_of_no_width_is_spelled_out_but_a_joiner_scripts_need_is_kept(
    stored: str, seen: str
) -> None:
    assert shown(stored) == seen
    assert refuse_control(stored, "Part") == stored  # never refused: a queue would stick

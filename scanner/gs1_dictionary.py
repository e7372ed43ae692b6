"""GS1's Barcode Syntax Dictionary, read into entries: what each Application Identifier holds,
component by component, with the content rules ("linters") each component must pass, which
AIs it must or must not appear with, and its place in a GS1 Digital Link URI.

The data is GS1's own file (`scanner/data/gs1-syntax-dictionary.txt`), kept as GS1 publishes
it so that a new release is a file to replace. A line reads

    AIs  [Flags]  Specification  [Attributes...]  [# Title]

- AIs: one AI (`8013`) or a range (`3100-3105`: every AI from the first to the last).
- Flags: `*` the AI has a predefined length and needs no separator after it; `?` it may be a
  data attribute (a query parameter) of a GS1 Digital Link URI.
- Specification: components, each `Type[,linter...]`. Type `N` digits, `X` GS1's character
  set 82, `Y` character set 39, `Z` base64url; `N6` exactly six, `N..20` one to twenty;
  `[N3]` an optional component. Components take their lengths from the front of the data in
  order; optional ones may be left off once the data is used up.
- Attributes: `req=01+21,02` the AI must appear with (01) and (21) together, or with (02);
  several `req=` must all hold. `ex=01,392n` it must not appear with (01) or any (392x); an
  AI never excludes itself. `n` in a pattern stands for any digit. `dlpkey` it is a primary
  key of a Digital Link URI; `dlpkey=22,10,21|235` with these optional qualifiers, in this
  order, from one of the alternatives separated by `|`.

Nothing here checks data: `scanner.gs1` applies the lengths and character sets, and the
linters named here are GS1's content rules (`scanner.gs1_linters`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

_COMPONENT = re.compile(r"(\[)?([NXYZ])(\.\.)?(\d+)(\])?((?:,[a-z0-9]+)*)")


@dataclass(frozen=True)
class Component:
    """One part of an AI's data: its character set, its length, and the rules it must pass."""

    kind: str
    """`N` digits, `X` character set 82, `Y` character set 39, `Z` base64url."""
    shortest: int
    longest: int
    optional: bool
    linters: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One Application Identifier as the dictionary describes it."""

    ai: str
    title: str
    predefined_length: bool
    """`*`: no separator follows it, even when more data does."""
    data_attribute: bool
    """`?`: may be a query parameter of a Digital Link URI."""
    components: tuple[Component, ...]
    requires: tuple[tuple[tuple[str, ...], ...], ...]
    """Each `req=`: alternatives, each a group of AI patterns that must all be present."""
    excludes: tuple[str, ...]
    """AI patterns this AI must not appear with."""
    primary_key: bool
    """`dlpkey`: a primary key of a Digital Link URI."""
    qualifiers: tuple[tuple[str, ...], ...]
    """The key's qualifier sequences (alternatives), each in the order the path must give."""

    @functools.cached_property
    def shortest(self) -> int:
        """Summed once: every scan's every field asks (`scanner.gs1.check_field`)."""
        return sum(c.shortest for c in self.components if not c.optional)

    @functools.cached_property
    def longest(self) -> int:
        return sum(c.longest for c in self.components)

    @property
    def fixed_length(self) -> bool:
        return self.shortest == self.longest


def entry(ai: str) -> Entry | None:
    """The dictionary's entry for the AI `ai`, or None when GS1 defines no such AI."""
    return entries().get(ai)


def matches(pattern: str, ai: str) -> bool:
    """Whether the AI `ai` matches a dictionary pattern such as `392n` or `31nn`."""
    return len(pattern) == len(ai) and all(
        p == a or (p == "n" and a.isdigit()) for p, a in zip(pattern, ai, strict=True)
    )


def identifier_at(data: str) -> Entry | None:
    """The entry of the AI that `data` starts with, or None. AIs are prefix-free: no AI is
    the start of another, so at most one of the 2, 3 and 4 first digits is an AI."""
    table = entries()
    for length in (2, 3, 4):
        found = table.get(data[:length])
        if found is not None and len(data) >= length:
            return found
    return None


@functools.cache
def entries() -> dict[str, Entry]:
    """Every AI GS1 defines, by its code."""
    text = resources.files("scanner").joinpath("data/gs1-syntax-dictionary.txt").read_text("utf-8")
    table: dict[str, Entry] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        for made in _read_line(line):
            table[made.ai] = made
    return table


def _read_line(line: str) -> list[Entry]:
    body, _, title = line.partition("#")
    words = body.split()
    codes = words.pop(0)
    flags = words.pop(0) if words and not _COMPONENT.fullmatch(words[0]) else ""
    components: list[Component] = []
    while words and (found := _COMPONENT.fullmatch(words[0])):
        words.pop(0)
        opening, kind, up_to, length, closing, linters = found.groups()
        components.append(
            Component(
                kind=kind,
                shortest=1 if up_to else int(length),
                longest=int(length),
                optional=bool(opening and closing),
                linters=tuple(linters.split(",")[1:]),
            )
        )
    requires: list[tuple[tuple[str, ...], ...]] = []
    excludes: list[str] = []
    primary_key = False
    qualifiers: tuple[tuple[str, ...], ...] = ()
    for word in words:
        key, _, value = word.partition("=")
        if key == "req":
            requires.append(tuple(tuple(group.split("+")) for group in value.split(",")))
        elif key == "ex":
            excludes.extend(value.split(","))
        elif key == "dlpkey":
            primary_key = True
            if value:
                qualifiers = tuple(tuple(each.split(",")) for each in value.split("|"))
        else:
            raise ValueError(f"gs1-syntax-dictionary.txt: unknown attribute {word!r} in {line!r}")
    first, _, last = codes.partition("-")
    width = len(first)
    return [
        Entry(
            ai=str(number).zfill(width),
            title=title.strip(),
            predefined_length="*" in flags,
            data_attribute="?" in flags,
            components=tuple(components),
            requires=tuple(requires),
            excludes=tuple(excludes),
            primary_key=primary_key,
            qualifiers=qualifiers,
        )
        for number in range(int(first), int(last or first) + 1)
    ]

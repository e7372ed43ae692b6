"""How a part, a lot or a serial is named in what the operator reads ("lot B-77 of RESIN").

Apart from the ledger so that rules beside it (`scanner.returns`) name things the same way
without importing the ledger that calls them."""

from __future__ import annotations


def describe(part: str, lot: str | None = None, serial: str | None = None) -> str:
    if serial:
        return f"serial {serial} of {part}"
    if lot:
        return f"lot {lot} of {part}"
    return part


def described(part: str, lot: str | None = None, serial: str | None = None) -> str:
    """`describe` at the start of a sentence."""
    text = describe(part, lot, serial)
    return text[:1].upper() + text[1:]

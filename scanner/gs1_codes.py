"""GS1's content rules that check a value against a code list or an inner structure: ISO
country and currency codes, IBAN, package and media types, importer index, biological sex,
and the coupon AIs. Each is a linter (scanner/gs1_linters.py): None when the value is fine,
else the reason, worded to follow the field's name and value."""

from __future__ import annotations

from collections.abc import Callable

Linter = Callable[[str], str | None]

CODE_LINTERS: dict[str, Linter] = {}
"""The linters of this module by the name GS1's Barcode Syntax Dictionary gives them."""

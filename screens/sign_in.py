"""Sign-in: what the handheld screen shows until a badge is scanned."""

from __future__ import annotations

from textual.widgets import Static

SIGN_IN_TEXT = "Sign in\n\nScan the barcode on your badge.\nF1: help, the scan language."


class SignInPanel(Static):
    """Shown in place of the work area while nobody is signed in. The scan field stays the
    screen's one field, so a badge scan and the scans right behind it all land there."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(SIGN_IN_TEXT, markup=False, id=id)

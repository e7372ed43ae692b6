"""Console sessions (docs/architecture.md, "Office console"). Being written: issue 19."""

from __future__ import annotations

from fastapi import Request

from console.guard import SignedIn


def session_of(request: Request) -> SignedIn | None:
    """The signed-in operator of `request`'s session cookie, or None."""
    return None

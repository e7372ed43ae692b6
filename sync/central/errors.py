"""The one error the central store's operations raise: an HTTP status, a code a program can
act on, and words a person can (`{"error": code, "message": words}` on the wire)."""

from __future__ import annotations


class SyncError(Exception):
    """A request the store will not carry out, and why. Nothing it would have written stays:
    the caller rolls the transaction back."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def __str__(self) -> str:
        return self.message

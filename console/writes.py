"""A console change's transaction (docs/architecture.md, "Fair under load").

On SQLite, with its one writer, a console change takes its place in the line of writers the
handhelds' pushes wait in (`sync.central.turns`), rather than polling for the file lock in
SQLite's busy loop, where a newcomer overtakes whoever has waited longest. It waits up to
`CONSOLE_PATIENCE`; past that the store is answered busy (`StoreBusy`, shown as a page by
`console.app`) and nothing is changed. On PostgreSQL it starts at once, as before.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from fastapi import Request
from sqlalchemy.orm import Session

from sync.central.service import Store
from sync.central.turns import CONSOLE_PATIENCE


def writing(request: Request) -> AbstractContextManager[Session]:
    """The transaction of a change made from the console, in its turn."""
    store: Store = request.app.state.store
    return store.writing(CONSOLE_PATIENCE)

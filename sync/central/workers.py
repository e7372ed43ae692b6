"""`lotscan serve --workers N` (docs/architecture.md, "The service"): N processes answering on
one listening socket, each with its own engine and its own copy of the app.

The service holds no state of its own (every request is one transaction on the central
database), so N workers on one PostgreSQL are N instances behind a load balancer that the
kernel plays: they share the socket, and the database's row locks order their writes as
they order the threads of one process. uvicorn's supervisor starts the workers (by spawning
fresh interpreters), restarts one that dies, and on Ctrl+C or SIGTERM stops them all, each
finishing the requests it holds.

SQLite is refused: it takes one writer at a time, across processes as across threads, so a
second worker adds no push throughput, only another process polling for the write lock
(SQLite's busy handler sleeps and retries rather than queueing), which lets a push wait past
a handheld's timeout under load.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from scanner.cycle_collector import settle_collector
from scanner.db import open_database
from scanner.errors import LotscanError
from sync.central.service import Extension, create_app


def refuse_workers_on_sqlite(url: str, workers: int) -> None:
    """Says no to more than one worker on a SQLite store, and why (see the module)."""
    if workers > 1 and url.startswith("sqlite"):
        raise LotscanError(
            f"--workers {workers} needs a PostgreSQL store: SQLite takes one writer at a time,"
            " so more processes add no push throughput, only waiters on its lock. Serve"
            " SQLite with one worker, or move the store to PostgreSQL"
            " (--db postgresql+psycopg://...)"
        )


@dataclass(frozen=True)
class ServiceFactory:
    """What a worker builds its app from. uvicorn hands it to each spawned worker by
    pickling, so it holds the database's URL and the composition root's extension (a
    module-level function, pickled by name), never an engine or an app."""

    url: str
    extend: Extension | None = None

    def __call__(self) -> FastAPI:
        """The app of one worker, on its own engine (the parent has already marked the
        database as the central store)."""
        sessions = open_database(self.url)
        app = create_app(sessions)
        if self.extend is not None:
            self.extend(app, sessions)
        # Each worker sets up uvicorn's logging afresh: its startup chatter gives way to
        # the parent's one line here too.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        settle_collector()
        return app


def run_workers(factory: ServiceFactory, sock: socket.socket, workers: int) -> None:
    """Serves `factory`'s app from `workers` processes on the listening `sock` until Ctrl+C
    or SIGTERM, which each worker answers by finishing the requests it holds."""
    # As `serve` configures its one server: X-Forwarded-Proto trusted from loopback only.
    config = uvicorn.Config(
        factory, factory=True, workers=workers, log_level="info", proxy_headers=True
    )
    Multiprocess(config, sockets=[sock]).run()

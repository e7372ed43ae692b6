"""`lotscan serve --workers N` (docs/architecture.md, "The service"): N processes answering on
one listening socket, each with its own engine and its own copy of the app.

The service holds no state of its own (every request is one transaction on the central
database), so N workers on one PostgreSQL are N instances behind a load balancer that the
kernel plays: they share the socket, and the database's row locks order their writes as
they order the threads of one process. uvicorn's supervisor starts the workers (by spawning
fresh interpreters), restarts one that dies, and on Ctrl+C or SIGTERM stops them all, each
finishing the requests it holds. On Linux a worker also ends when its supervisor dies
without stopping it (SIGKILL, the OOM killer): the kernel sends it SIGTERM, so no orphan
keeps answering on the port or holding database connections.

SQLite is refused: it takes one writer at a time, across processes as across threads, so a
second worker adds no push throughput, only another process polling for the write lock
(SQLite's busy handler sleeps and retries rather than queueing), which lets a push wait past
a handheld's timeout under load.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field

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
    supervisor: int = field(default_factory=os.getpid)
    """The process that starts the workers: the one that made the factory."""

    def __call__(self) -> FastAPI:
        """The app of one worker, on its own engine (the parent has already marked the
        database as the central store)."""
        end_with_supervisor(self.supervisor)
        sessions = open_database(self.url)
        app = create_app(sessions)
        if self.extend is not None:
            self.extend(app, sessions)
        # Each worker sets up uvicorn's logging afresh: its startup chatter gives way to
        # the parent's one line here too.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        settle_collector()
        return app


PR_SET_PDEATHSIG = 1
"""prctl(2)'s option: the signal the kernel sends this process when its parent dies."""


def end_with_supervisor(supervisor: int) -> None:
    """Has Linux send this worker SIGTERM when its supervisor dies: uvicorn's supervisor stops
    its workers when it is stopped, but one killed outright (SIGKILL, the OOM killer) cannot,
    and its workers would go on answering on the port, each holding database connections,
    with nobody to restart or stop them. A supervisor already gone by the time this runs is
    noticed by the parent's id. Elsewhere than Linux, nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return  # not allowed here: the worker behaves as uvicorn's own do
    if os.getppid() != supervisor:
        os.kill(os.getpid(), signal.SIGTERM)


def run_workers(factory: ServiceFactory, sock: socket.socket, workers: int) -> None:
    """Serves `factory`'s app from `workers` processes on the listening `sock` until Ctrl+C
    or SIGTERM, which each worker answers by finishing the requests it holds."""
    # As `serve` configures its one server: X-Forwarded-Proto trusted from loopback only.
    config = uvicorn.Config(
        factory, factory=True, workers=workers, log_level="info", proxy_headers=True
    )
    Multiprocess(config, sockets=[sock]).run()

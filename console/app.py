"""The console as a web app mounted on the central service under `/console`
(docs/architecture.md, "Office console"): `lotscan serve` runs both in one process.

Its own FastAPI app, mounted: its pages stay out of the sync API's OpenAPI schema (which the
handhelds and the schema tests read), and its errors are pages, not the API's JSON.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from console import devices, exceptions, exports, lots, signing, stock
from console.guard import NotSignedIn
from console.templating import HERE
from scanner.clock import Clock, utc_now

PREFIX = "/console"


def create_console(sessions: sessionmaker[Session], clock: Clock = utc_now) -> FastAPI:
    """The console on the central database behind `sessions` (already migrated)."""
    from sync.central.service import Store

    console = FastAPI(title="lotscan console", docs_url=None, redoc_url=None, openapi_url=None)
    console.state.store = Store(sessions, clock)
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    console.add_exception_handler(NotSignedIn, _sign_in_first)
    console.include_router(signing.router)
    console.include_router(devices.router)
    console.include_router(exceptions.router)
    console.include_router(lots.router)
    console.include_router(stock.router)
    console.include_router(exports.router)
    return console


def mount_console(app: FastAPI, sessions: sessionmaker[Session], clock: Clock = utc_now) -> None:
    """Serves the console under `/console` of the central service `app`."""
    app.mount(PREFIX, create_console(sessions, clock))


async def _sign_in_first(request: Request, error: Exception) -> Response:
    """A page asked for without a session goes to the sign-in page (and back after); any
    other request is refused with 401."""
    if request.method == "GET":
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/sign-in?next={_quoted(wanted)}", status_code=303)
    return Response("Sign in to the console", status_code=401, media_type="text/plain")


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")

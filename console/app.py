"""The console as a web app mounted on the central service under `/console`
(docs/architecture.md, "Office console"): `lotscan serve` runs both in one process.

Its own FastAPI app, mounted: its pages stay out of the sync API's OpenAPI schema (which the
handhelds and the schema tests read), and its errors are pages, not the API's JSON.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from console import devices, exceptions, exports, lots, signing, stock
from console.guard import NotSignedIn
from console.templating import HERE, render
from scanner.clock import Clock, utc_now
from sync.central.turns import StoreBusy, Turns

PREFIX = "/console"


def create_console(
    sessions: sessionmaker[Session], clock: Clock = utc_now, turns: Turns | None = None
) -> FastAPI:
    """The console on the central database behind `sessions` (already migrated). Its
    changes wait in `turns`, the line of writers of the service it is mounted on (a line of
    its own when alone)."""
    from sync.central.service import Store

    console = FastAPI(title="lotscan console", docs_url=None, redoc_url=None, openapi_url=None)
    console.state.store = Store(sessions, clock, turns or Turns())
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    console.add_exception_handler(NotSignedIn, _sign_in_first)
    console.add_exception_handler(StoreBusy, _busy)
    console.include_router(signing.router)
    console.include_router(devices.router)
    console.include_router(exceptions.router)
    console.include_router(lots.router)
    console.include_router(stock.router)
    console.include_router(exports.router)
    return console


def mount_console(app: FastAPI, sessions: sessionmaker[Session], clock: Clock = utc_now) -> None:
    """Serves the console under `/console` of the central service `app`; its changes take
    turns with the service's writers (`console.writes`)."""
    service = getattr(app.state, "store", None)
    app.mount(PREFIX, create_console(sessions, clock, service.turns if service else None))


async def _sign_in_first(request: Request, error: Exception) -> Response:
    """A page asked for without a session goes to the sign-in page (and back after); any
    other request is refused with 401."""
    if request.method == "GET":
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/sign-in?next={_quoted(wanted)}", status_code=303)
    return Response("Sign in to the console", status_code=401, media_type="text/plain")


async def _busy(request: Request, error: Exception) -> Response:
    """A change that did not get its turn in time (`console.writes`): nothing was changed,
    and the page says so. The way back is the page the form was on, when it is the
    console's."""
    assert isinstance(error, StoreBusy)
    referrer = urlsplit(request.headers.get("referer", ""))
    back = referrer.path if referrer.path.startswith(f"{PREFIX}/") else f"{PREFIX}/"
    page = render(
        request,
        "busy.html",
        getattr(request.state, "console_who", None),
        status_code=503,
        message=error.message,
        back=back,
    )
    page.headers["Retry-After"] = "5"
    return page


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")

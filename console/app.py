"""The console as a web app mounted on the central service under `/console`
(docs/architecture.md, "Office console"): `lotscan serve` runs both in one process.

Its own FastAPI app, mounted: its pages stay out of the sync API's OpenAPI schema (which the
handhelds and the schema tests read), and its errors are pages, not the API's JSON.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import devices, exceptions, exports, lots, signing, stock
from console.guard import NotSignedIn
from console.templating import HERE, back_to, error_page, render
from scanner.clock import Clock, utc_now
from scanner.plain_text import shown
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
    console.add_middleware(NoStore)
    console.add_middleware(NoNul)
    console.add_exception_handler(NotSignedIn, _sign_in_first)
    console.add_exception_handler(StarletteHTTPException, _refused)
    console.add_exception_handler(RequestValidationError, _invalid)
    console.add_exception_handler(StoreBusy, _busy)
    console.include_router(signing.router)
    console.include_router(devices.router)
    console.include_router(exceptions.router)
    console.include_router(lots.router)
    console.include_router(stock.router)
    console.include_router(exports.router)
    return console


class NoStore:
    """Marks every answer of the console but its static files `Cache-Control: no-store`:
    a page shows what a signed-in person may see, and once they sign out, the browser's
    Back must not show it again from its cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if scope["type"] != "http" or path.removeprefix(root).startswith("/static/"):
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, marked)


class NoNul:
    """Refuses, with a page that names the field, a request whose address, query or form
    holds a NUL character: PostgreSQL takes none in text, so such a value reached the
    database and answered a bare 500 (`?part=%00`, a badge `B1001%00` at sign-in), where
    SQLite answered a page. Nothing is read or written for it, on either database."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        if _is_form(scope):
            messages, body = await _read_body(receive)
            fields += parse_qsl(body.decode("latin-1"), True)
            receive = _replay(messages, receive)
        named = "the address" if "\0" in scope.get("path", "") else None
        named = named or next((name for name, value in fields if "\0" in name + value), None)
        if named is None:
            await self.app(scope, receive, send)
            return
        page = error_page(
            Request(scope),
            422,
            "Not done",
            f"{shown(named)}: holds a NUL character, which no field of the console takes:"
            " nothing was done",
        )
        await page(scope, receive, send)


def _is_form(scope: Scope) -> bool:
    headers: dict[bytes, bytes] = dict(scope.get("headers", []))
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind == b"application/x-www-form-urlencoded"


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """Every message of the request's body, and the body (the service's `BodyLimit` has
    bounded its size)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[Message], then: Receive) -> Receive:
    """A `receive` that gives `messages` again, then what the server sends next (a
    disconnect, which a streamed download listens for)."""
    waiting = list(messages)

    async def receive() -> Message:
        return waiting.pop(0) if waiting else await then()

    return receive


def mount_console(app: FastAPI, sessions: sessionmaker[Session], clock: Clock = utc_now) -> None:
    """Serves the console under `/console` of the central service `app`; its changes take
    turns with the service's writers (`console.writes`)."""
    service = getattr(app.state, "store", None)
    app.mount(PREFIX, create_console(sessions, clock, service.turns if service else None))


async def _sign_in_first(request: Request, error: Exception) -> Response:
    """A page asked for without a session goes to the sign-in page (and back after); a
    form sent without one (the session ended while it was open) gets a page saying that
    nothing was done, and the way to sign in and back to the page it came from."""
    if request.method == "GET":
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/sign-in?next={_quoted(wanted)}", status_code=303)
    return error_page(
        request,
        401,
        "Signed out",
        "Your console session has ended (you signed out, or it went unused for too long):"
        " nothing was done. Sign in again, then send the form once more.",
        sign_in=f"{PREFIX}/sign-in?next={_quoted(back_to(request))}",
    )


_TITLES = {400: "Not done", 403: "Not allowed", 404: "Not found", 405: "Not found"}


async def _refused(request: Request, error: Exception) -> Response:
    """Any other refusal (a form out of date, a page that is not there) as a page of the
    console, not the API's JSON."""
    assert isinstance(error, StarletteHTTPException)
    status = 404 if error.status_code == 405 else error.status_code
    message = error.detail if isinstance(error.detail, str) else "The request was refused"
    if status == 404:
        message = "There is no such page in the console"
    return error_page(request, status, _TITLES.get(status, "Refused"), message)


async def _invalid(request: Request, error: Exception) -> Response:
    """A request whose values are not what the page takes (`?page=abc`): each named with
    what is wrong with it, never repeating what was sent (a password, say)."""
    assert isinstance(error, RequestValidationError)
    said = [
        f"{problem['loc'][-1]}: {problem['msg']}" if problem.get("loc") else problem["msg"]
        for problem in error.errors()
    ]
    return error_page(request, 422, "Not done", "; ".join(said))


async def _busy(request: Request, error: Exception) -> Response:
    """A change that did not get its turn in time (`console.writes`): nothing was changed,
    and the page says so. The way back is the page the form was on, when it is the
    console's."""
    assert isinstance(error, StoreBusy)
    page = render(
        request,
        "busy.html",
        getattr(request.state, "console_who", None),
        status_code=503,
        message=error.message,
        back=back_to(request),
    )
    page.headers["Retry-After"] = "5"
    return page


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")

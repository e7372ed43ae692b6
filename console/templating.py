"""The console's pages: Jinja2 templates from `console/templates`, escaped everywhere
(autoescape is on for every template: a lot named `<script>` shows as text), each given who
is signed in and the CSRF token its forms carry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from console.guard import CSRF_FIELD, SignedIn
from scanner.clock import aware

HERE = FilePath(__file__).parent
TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,  # a name a page forgot is an error, not an empty string
    )
)


def moment(value: object) -> str:
    """A stored time as people read it on a page: "2026-12-06 20:37:35 UTC"; nothing for
    none, and text that is no ISO time as it is (and escaped, as everything is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        found: datetime | None = value
    else:
        try:
            found = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    assert found is not None
    return f"{aware(found):%Y-%m-%d %H:%M:%S} UTC"


TEMPLATES.env.filters["moment"] = moment


def render(
    request: Request,
    template: str,
    who: SignedIn | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """`template` filled with `context`, who is signed in (None on the sign-in page) and
    the names its forms need."""
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"who": who, "csrf_field": CSRF_FIELD, **context},
        status_code=status_code,
    )


def error_page(
    request: Request,
    status_code: int,
    title: str,
    message: str,
    *,
    sign_in: str | None = None,
) -> HTMLResponse:
    """A page saying what went wrong, with the way back to the console page the request
    came from (its referrer, when that is one of the console's) and, when the session has
    ended, the way to sign in again."""
    return render(
        request,
        "error.html",
        getattr(request.state, "console_who", None),
        status_code=status_code,
        title=title,
        message=message,
        back=back_to(request),
        sign_in=sign_in,
    )


def back_to(request: Request) -> str:
    """The console page `request` came from (its referrer, when that is one of the
    console's), else the console's first page."""
    referrer = urlsplit(request.headers.get("referer", ""))
    if not referrer.path.startswith("/console/"):
        return "/console/"
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
"""A page of a list: one of the first million (SQLite counts rows in 64 bits, and a page
number past that is refused by name, not by the database)."""
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""A row's id in a page's address: what the store's ids hold (INTEGER, 32 bits on
PostgreSQL, where a larger one answered a bare 500)."""

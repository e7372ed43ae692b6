"""The console's pages: Jinja2 templates from `console/templates`, escaped everywhere
(autoescape is on for every template: a lot named `<script>` shows as text), each given who
is signed in and the CSRF token its forms carry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from console.guard import CSRF_FIELD, SignedIn
from scanner.clock import aware

HERE = Path(__file__).parent
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

"""The console's pages: Jinja2 templates from `console/templates`, escaped everywhere
(autoescape is on for every template: a lot named `<script>` shows as text), each given who
is signed in and the CSRF token its forms carry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from console.guard import CSRF_FIELD, SignedIn

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,  # a name a page forgot is an error, not an empty string
    )
)


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

"""Who is signed in to the console, and the form check every change goes through
(docs/architecture.md, "Office console").

`signed_in` is the dependency of every console page and action: the operator whose session
cookie is valid, or no page at all. `checked_form` is the dependency of every POST: the
form's fields, once its CSRF token matches the session's; without it nothing changes (403).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.datastructures import FormData

CSRF_FIELD = "csrf"
"""The hidden field of every console form that carries the session's CSRF token."""


@dataclass(frozen=True)
class SignedIn:
    """The operator behind a console request: badge, name and role (`supervisor` or
    `quality`), and the session's CSRF token that its forms carry."""

    badge: str
    name: str
    role: str
    session_id: str
    csrf_token: str

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"


class NotSignedIn(HTTPException):
    """No valid console session: a page answers with the sign-in page, an action with 401."""

    def __init__(self) -> None:
        super().__init__(401, "Sign in to the console")


def signed_in(request: Request) -> SignedIn:
    """The signed-in operator of `request`, from its session cookie
    (`console.sessions`); `NotSignedIn` otherwise."""
    from console.sessions import session_of

    found = session_of(request)
    if found is None:
        raise NotSignedIn()
    return found


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is the signed-in session's; 403 otherwise."""
    who = signed_in(request)
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not hmac.compare_digest(token, who.csrf_token):
        raise HTTPException(
            403,
            "This form is out of date (you signed in again since the page was opened, or it"
            " was not sent from the console): nothing was done. Open the page again and send"
            " it from there.",
        )
    return form

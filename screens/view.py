"""What the handheld's screens show, folded from the engine's outcomes one scan at a time.

Plain data, no Textual: the app keeps one `HandheldView` and every screen renders it, so a
screen that appears later (after sign-in, after help) shows the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from scanner.workflows.display import Level

if TYPE_CHECKING:
    from scanner.workflows.engine import Outcome

# The compact log keeps this many recorded lines of the running workflow.
LOG_LINES = 50


@dataclass(frozen=True)
class HandheldView:
    prompt: str
    operator: str | None = None
    workflow: str | None = None
    message: str = ""
    level: Level = Level.INFO
    details: tuple[str, ...] = ()
    log: tuple[str, ...] = ()  # what this workflow recorded and decided, oldest first
    awaiting_confirmation: bool = False
    handled: int = 0  # scans answered so far
    supervisor: bool = False  # the operator signed in has the supervisor's role
    quality: bool = False  # the operator signed in holds, releases and recalls
    offers: tuple[str, ...] = ()  # commands the step offers besides the usual (HOLD's)

    def after(self, outcome: Outcome) -> HandheldView:
        """The view once the engine handled a scan: a workflow started afresh (even the
        one running) begins with an empty log."""
        response = outcome.response
        same_workflow = (
            not outcome.started
            and response.workflow is not None
            and response.workflow == self.workflow
        )
        log = self.log if same_workflow else ()
        log = (log + tuple(each.text for each in response.recorded) + response.decided)[-LOG_LINES:]
        details = response.details
        if not details and same_workflow and not (response.recorded or response.decided):
            # A pick list or a lookup stays up while the operator works from it; once a
            # line is recorded it may be out of date, so it goes.
            details = self.details
        return replace(
            self,
            prompt=response.prompt,
            operator=outcome.operator,
            workflow=response.workflow,
            message=response.message,
            level=response.level,
            details=details,
            log=log,
            awaiting_confirmation=response.awaiting_confirmation,
            handled=self.handled + 1,
            supervisor=outcome.supervisor,
            quality=outcome.quality,
            offers=response.offers,
        )

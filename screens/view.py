"""What the handheld's screens show, folded from the engine's responses one scan at a time.

Plain data, no Textual: the app keeps one `HandheldView` and every screen renders it, so a
screen that appears later (after sign-in, after help) shows the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scanner.workflows.base import Level, Response

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
    log: tuple[str, ...] = ()  # what this workflow recorded, oldest first
    awaiting_confirmation: bool = False
    handled: int = 0  # scans answered so far
    supervisor: bool = False  # the operator signed in has the supervisor's role

    def after(
        self,
        response: Response,
        operator: str | None,
        *,
        started: bool = False,
        supervisor: bool = False,
    ) -> HandheldView:
        """The view once the engine answered `response`; `operator` is who is signed in
        (`supervisor`, whether with that role); `started`, whether the scan started a
        workflow afresh (even the one running)."""
        same_workflow = (
            not started and response.workflow is not None and response.workflow == self.workflow
        )
        log = self.log if same_workflow else ()
        log = (log + tuple(each.text for each in response.recorded))[-LOG_LINES:]
        details = response.details
        if not details and same_workflow and not response.recorded:
            # A pick list or a lookup stays up while the operator works from it; once a
            # line is recorded it may be out of date, so it goes.
            details = self.details
        return replace(
            self,
            prompt=response.prompt,
            operator=operator,
            workflow=response.workflow,
            message=response.message,
            level=response.level,
            details=details,
            log=log,
            awaiting_confirmation=response.awaiting_confirmation,
            handled=self.handled + 1,
            supervisor=supervisor,
        )

"""How many exceptions one device may open a minute (docs/architecture.md, "Supervisors'
resolutions").

One enrolled device pushed 90,000 movements the store had to hold in 15 s, and the
supervisors' list became 90,000 lines (104 MB; 6.8 s to read, past a handheld's 10 s
timeout under load). Every movement is still recorded with its outcome and every exception
is still opened, so nothing is lost and each can still be resolved alone; but past
`PER_MINUTE` in the last minute a device's exceptions are grouped under one summary
exception of that device (`TOO_MANY_EXCEPTIONS`), which the list shows in their place while
it is open. Dismissing the summary puts what it still groups back in the list; it clears
itself when nothing it groups is open.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.plain_text import shown
from sync.central.evaluate import fit
from sync.central.models import Device, ExceptionStatus, SyncException
from sync.central.pending import NewException, Pending
from sync.exception_codes import ExceptionCode

PER_MINUTE = 100
"""A handheld scanning as fast as a person can records a few movements a minute, and a
day's backlog pushed after an outage rarely has more than a few dozen exceptions; past a
hundred a minute a list line each helps nobody."""
WINDOW = timedelta(minutes=1)
SUMMARY = ExceptionCode.TOO_MANY_EXCEPTIONS.value


class ExceptionCap:
    """The cap for one operation: each device's exceptions opened in the last minute, read
    once and counted on as the operation opens more."""

    def __init__(self, session: Session, now: datetime, pending: Pending) -> None:
        self.session = session
        self.now = now
        self.pending = pending
        self._opened: dict[str, int] = {}
        self._summaries: dict[str, int | NewException] = {}

    def place(self, exception: NewException) -> None:
        """Leaves an exception in the list of its own (and counts it), or groups it under
        its device's summary when the device is past its cap: the open one stored, or one
        this operation opens now, just before it."""
        device_id = exception.device_id
        if device_id is None:
            return
        opened = self._opened.get(device_id)
        if opened is None:
            opened = self._opened_lately(device_id)
        if opened < PER_MINUTE:
            self._opened[device_id] = opened + 1
            return
        self._opened[device_id] = opened
        summary = self._summaries.get(device_id)
        if summary is None:
            summary = self._summaries[device_id] = self._summary(device_id)
        if isinstance(summary, int):
            exception.summary_id = summary
        else:
            exception.grouped_under = summary

    def _opened_lately(self, device_id: str) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(SyncException)
                .where(
                    SyncException.device_id == device_id,
                    SyncException.opened_at > self.now - WINDOW,
                    SyncException.summary_id.is_(None),
                    SyncException.code != SUMMARY,
                )
            )
            or 0
        )

    def _summary(self, device_id: str) -> int | NewException:
        """The device's open summary (its id), or one opened now."""
        found = self.session.scalar(
            select(SyncException.id).where(
                SyncException.device_id == device_id,
                SyncException.code == SUMMARY,
                SyncException.status == ExceptionStatus.OPEN.value,
            )
        )
        if found is not None:
            return found
        device = self.session.get(Device, device_id)
        name = f"{shown(device.name)} ({device_id})" if device is not None else device_id
        summary = NewException(
            device_id=device_id,
            device_seq=None,
            code=SUMMARY,
            message=fit(
                f"{name} opened more than {PER_MINUTE} exceptions in a minute: the rest are"
                " grouped here (GET /v1/exceptions?summary= this id). Void its held"
                f" movements at once with lotscan exceptions void --device {device_id}, or"
                " dismiss this to list them one by one"
            ),
            part=None,
            lot=None,
            serial=None,
            location=None,
            status=ExceptionStatus.OPEN.value,
            opened_at=self.now,
        )
        self.pending.add_exception(summary)
        return summary

"""The durable print queue (docs/architecture.md, "Labels and the print queue"): every label
due is a row in the device database, rendered when it fell due, and stays `waiting` until a
printer takes it.

Enqueueing never talks to a printer, so a printer that is off or unreachable never holds up
a scan. `deliver_waiting` sends the waiting jobs oldest first, each outside any transaction
(a printer that takes seconds to time out holds no lock a scan needs), and records each
outcome in a short transaction of its own. A job is claimed before it is sent, so two
deliverers running at once (the handheld's worker and `lotscan print-queue deliver`) never
both send it. The queue survives a restart because it is just rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, defer, sessionmaker

from labels import printers
from labels.content import Label, LabelKind
from labels.layout import Layout
from labels.output import LabelFormat, render
from labels.printers import PrinterError, printer_at
from scanner.clock import aware, iso, utc_now
from scanner.db import reading, unit_of_work
from scanner.errors import NotFound, RuleViolation
from scanner.models import PrintJob, PrintJobStatus
from scanner.plain_text import shown
from scanner.settings import DEVICE_ID, read_setting

Send = Callable[[str, bytes, str], None]
"""How a job reaches its printer: (printer URL, payload, job file name)."""

SENDING_LEASE = timedelta(minutes=5)
"""Longer than any send takes (a printer's timeouts are seconds): a job claimed this long
ago with no outcome recorded was left by a deliverer that stopped mid-send."""

_DESCRIPTION = 200  # the column's length
_ERROR = 300


def enqueue(
    session: Session,
    labels: Sequence[Label],
    printer: str,
    layout: Layout,
    format: LabelFormat,
    *,
    now: datetime | None = None,
) -> list[PrintJob]:
    """One waiting job a label, rendered now for `printer` in `format` on `layout`. The
    printer's URL is checked, never contacted."""
    target = printer_at(printer)
    if format not in target.accepts:
        raise PrinterError(f"Printer {printer} does not take {format.value.upper()} labels")
    created = now or utc_now()
    jobs = [
        PrintJob(
            created_at=created,
            printer=target.url,
            format=format.value,
            layout=layout.name[:200],
            description=describe(label)[:_DESCRIPTION],
            payload=render([label], layout, format),
            status=PrintJobStatus.WAITING.value,
            attempts=0,
        )
        for label in labels
    ]
    session.add_all(jobs)
    session.flush()
    return jobs


def describe(label: Label) -> str:
    """The label as a person names it: "lot CH-0301 of CAST-GP10, 25 kg"."""
    if label.kind == LabelKind.LOCATION:
        return f"location {label.location}"
    if label.kind == LabelKind.SERIAL:
        return f"serial {label.serial} of {label.part}"
    text = f"lot {label.lot} of {label.part}"
    if label.kind == LabelKind.ASSEMBLY:
        return f"{text} for job {label.job}"
    quantity = label.quantity_text
    return f"{text}, {quantity}" if quantity else text


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass over the queue did: the jobs printed, the jobs still waiting, the first
    error of each printer that failed (its other jobs were not tried again), and the jobs
    left alone because another deliverer is sending them."""

    printed: tuple[int, ...] = ()
    waiting: tuple[int, ...] = ()
    problems: dict[str, str] = field(default_factory=dict)
    busy: tuple[int, ...] = ()
    files: tuple[Path, ...] = ()
    """The files the printed jobs became, for a printer that writes files (`file://`)."""

    @property
    def ok(self) -> bool:
        return not self.waiting

    def summary(self) -> str:
        """One line for people: `2 labels printed, 1 still waiting: Printer ... did not
        answer: connection refused`."""
        if not self.printed and not self.waiting and not self.busy:
            return "Nothing waiting to print"
        text = f"{_labels(len(self.printed))} printed{self.where()}"
        if self.busy:
            text += f", {len(self.busy)} being sent by another lotscan"
        if self.waiting:
            text += f", {len(self.waiting)} still waiting: {self.reason()}"
        return text

    def where(self) -> str:
        """Where the labels written as files are: ": FILE" for one, " into FOLDER" for
        several in one folder; nothing for labels printed on paper."""
        if not self.files:
            return ""
        if len(self.files) == 1:
            return f": {self.files[0]}"
        folders = sorted({str(file.parent) for file in self.files})
        return f" into {', '.join(folders)}"

    def reason(self) -> str:
        """Why jobs still wait: each failing printer's error."""
        return "; ".join(self.problems.values()) or "not tried"


def deliver_waiting(
    sessions: sessionmaker[Session],
    send: Send = printers.send,
    clock: Callable[[], datetime] = utc_now,
) -> DeliveryReport:
    """Tries every waiting job once, oldest first. A job its printer took is `printed`; one
    it did not take stays `waiting` with the error, and that printer's later jobs wait for
    the next pass, so an unreachable printer costs one timeout, not one per label."""
    with reading(sessions) as session:
        queue = session.execute(
            select(PrintJob.id, PrintJob.printer, PrintJob.format, PrintJob.attempts)
            .where(PrintJob.status == PrintJobStatus.WAITING.value)
            .order_by(PrintJob.id)
        ).all()
        device = read_setting(session, DEVICE_ID) or "lotscan"
    printed: list[int] = []
    waiting: list[int] = []
    busy: list[int] = []
    problems: dict[str, str] = {}
    files: list[Path] = []
    for job_id, printer, format, attempts in queue:
        if printer in problems:
            waiting.append(job_id)
            continue
        payload = _claim(sessions, job_id, attempts, clock())
        if payload is _Skipped.BUSY:
            busy.append(job_id)
        if isinstance(payload, _Skipped):
            continue
        name = f"{device}-{job_id:06d}.{format}"
        try:
            send(printer, payload, name)
        except PrinterError as error:
            problems[printer] = str(error)
            _record(sessions, job_id, last_error=str(error)[:_ERROR])
            waiting.append(job_id)
        else:
            _record(
                sessions,
                job_id,
                status=PrintJobStatus.PRINTED.value,
                printed_at=clock(),
                last_error=None,
            )
            printed.append(job_id)
            file = printers.file_of(printer, name)
            if file is not None:
                files.append(file)
    return DeliveryReport(tuple(printed), tuple(waiting), problems, tuple(busy), tuple(files))


class _Skipped(Enum):
    GONE = "printed or dropped meanwhile"
    BUSY = "another deliverer is sending it, or just tried it"


def _claim(
    sessions: sessionmaker[Session], job_id: int, attempts: int, now: datetime
) -> bytes | _Skipped:
    """Marks the job as being sent, counts the attempt and returns its payload, unless it
    is no longer waiting, another deliverer tried it since it was listed, or one is sending
    it now. A mark older than `SENDING_LEASE` was left by a deliverer that stopped mid-send,
    and is taken over."""
    with unit_of_work(sessions) as session:
        claimed = session.execute(
            update(PrintJob)
            .where(
                PrintJob.id == job_id,
                PrintJob.status == PrintJobStatus.WAITING.value,
                PrintJob.attempts == attempts,
                or_(
                    PrintJob.sending_since.is_(None),
                    PrintJob.sending_since < now - SENDING_LEASE,
                ),
            )
            .values(attempts=attempts + 1, last_attempt_at=now, sending_since=now)
        )
        if cast(CursorResult[Any], claimed).rowcount == 1:
            payload = session.scalar(select(PrintJob.payload).where(PrintJob.id == job_id))
            assert payload is not None
            return payload
        status = session.scalar(select(PrintJob.status).where(PrintJob.id == job_id))
        return _Skipped.BUSY if status == PrintJobStatus.WAITING else _Skipped.GONE


def _record(sessions: sessionmaker[Session], job_id: int, **values: Any) -> None:
    """The outcome of an attempt; the job is no longer being sent."""
    with unit_of_work(sessions) as session:
        session.execute(
            update(PrintJob).where(PrintJob.id == job_id).values(sending_since=None, **values)
        )


def list_jobs(session: Session, status: PrintJobStatus | str | None = None) -> list[PrintJob]:
    """The jobs, oldest first, with or without one status; their payloads are not loaded."""
    query = select(PrintJob).options(defer(PrintJob.payload)).order_by(PrintJob.id)
    if status is not None:
        query = query.where(PrintJob.status == _status(status).value)
    return list(session.scalars(query))


def waiting_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PrintJob)
            .where(PrintJob.status == PrintJobStatus.WAITING.value)
        )
        or 0
    )


def retry(session: Session, job_id: int) -> PrintJob:
    """A dropped job back in the queue, or a printed one to print again (a label that
    jammed or got torn). A waiting job is tried on the next pass even if a deliverer that
    stopped mid-send left it marked as being sent."""
    job = _job(session, job_id)
    if job.status != PrintJobStatus.WAITING:
        job.status = PrintJobStatus.WAITING.value
        job.printed_at = None
    job.sending_since = None  # whoever was sending it stopped, or the next pass tries it anyway
    session.flush()
    return job


def drop(session: Session, job_id: int) -> PrintJob:
    """A waiting job out of the queue, kept in the list as dropped (`retry` brings it back)."""
    job = _job(session, job_id)
    if job.status == PrintJobStatus.PRINTED:
        raise RuleViolation(f"Print job {job_id} ({job.description}) was printed already")
    job.status = PrintJobStatus.DROPPED.value
    session.flush()
    return job


def job_json(job: PrintJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "created_at": iso(job.created_at),
        "printer": job.printer,
        "format": job.format,
        "layout": job.layout,
        "description": job.description,
        "attempts": job.attempts,
        "last_error": job.last_error,
        "last_attempt_at": iso(job.last_attempt_at),
        "printed_at": iso(job.printed_at),
    }


_HEADINGS = ("ID", "STATUS", "CREATED", "TRIES", "PRINTER", "LABEL", "LAST ERROR")


def format_jobs(jobs: Sequence[PrintJob]) -> str:
    """An aligned table for a terminal, one job a line."""
    if not jobs:
        return "No print jobs"
    table = [_HEADINGS] + [
        (
            str(job.id),
            job.status,
            aware(job.created_at).strftime("%Y-%m-%d %H:%M"),
            str(job.attempts),
            shown(job.printer),
            shown(job.description),
            shown(job.last_error or "-"),
        )
        for job in jobs
    ]
    widths = [max(len(row[column]) for row in table) for column in range(len(_HEADINGS))]
    right = {0, 3}  # numbers
    return "\n".join(
        "  ".join(
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    )


def _job(session: Session, job_id: int) -> PrintJob:
    job = session.get(PrintJob, job_id)
    if job is None:
        raise NotFound(f"There is no print job {job_id}")
    return job


def _status(status: PrintJobStatus | str) -> PrintJobStatus:
    try:
        return PrintJobStatus(status)
    except ValueError:
        allowed = ", ".join(each.value for each in PrintJobStatus)
        raise RuleViolation(f"A print job's status is one of {allowed}, not {status}") from None


def _labels(count: int) -> str:
    return f"{count} label{'s' if count != 1 else ''}"

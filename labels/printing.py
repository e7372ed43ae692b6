"""This device's printer, kept in its settings table, and the labels a workflow made due
put in the print queue for it.

`printer.url` names the printer (labels.printers), `printer.layout` the stock it holds
(default 4x2-203), `printer.enabled` whether labels are queued at all (`on`/`off`); they
are defined with every other setting in `scanner.settings`. The format follows the
printer: ZPL for a raw TCP port, PDF for a system queue, PNG (or the URL's `?format=`) for
a folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from labels.content import label_for_due
from labels.layout import DEFAULT_LAYOUT, layout_named
from labels.printers import MAX_URL, Printer, printer_at
from labels.queue import enqueue
from scanner.errors import RuleViolation
from scanner.models import PrintJob
from scanner.settings import (
    PRINTER_ENABLED,
    PRINTER_LAYOUT,
    PRINTER_URL,
    SettingKey,
    read_setting,
    write_setting,
)

if TYPE_CHECKING:
    from scanner.workflows.base import LabelDue


@dataclass(frozen=True)
class PrinterSettings:
    url: str | None
    layout: str
    enabled: bool

    @property
    def printing(self) -> bool:
        """Whether labels due are queued: printing is on and a printer is set."""
        return self.enabled and self.url is not None

    def printer(self) -> Printer | None:
        return printer_at(self.url) if self.url else None


def printer_settings(session: Session) -> PrinterSettings:
    return PrinterSettings(
        url=read_setting(session, PRINTER_URL) or None,
        layout=read_setting(session, PRINTER_LAYOUT) or DEFAULT_LAYOUT,
        enabled=read_setting(session, PRINTER_ENABLED),
    )


def set_printer(session: Session, url: str, layout: str | None = None) -> PrinterSettings:
    """Points this device at a printer and turns printing on. The URL and the layout are
    checked; the printer is not contacted."""
    printer = printer_at(url)
    if layout is not None:
        _check_layout(layout)
        write_setting(session, PRINTER_LAYOUT, layout)
    write_setting(session, PRINTER_URL, printer.url)
    write_setting(session, PRINTER_ENABLED, True)
    return printer_settings(session)


def set_printing(session: Session, on: bool) -> PrinterSettings:
    """Printing on or off; labels due while it is off are not queued."""
    if on and read_setting(session, PRINTER_URL) is None:
        raise RuleViolation(_NO_PRINTER)
    write_setting(session, PRINTER_ENABLED, on)
    return printer_settings(session)


def check_printer_setting(session: Session, setting: SettingKey[Any]) -> None:
    """Refuses the value just written for `setting` (`lotscan settings set`) when lotscan
    could not print with it, as `lotscan printer` would: a URL it cannot use, a layout it
    cannot find, printing turned on with no printer. The printer is not contacted."""
    settings = printer_settings(session)
    if setting is PRINTER_URL and settings.url is not None:
        printer_at(settings.url)
    elif setting is PRINTER_LAYOUT:
        _check_layout(settings.layout)
    elif setting is PRINTER_ENABLED and settings.enabled and settings.url is None:
        raise RuleViolation(_NO_PRINTER)


_NO_PRINTER = "No printer is set: name one with lotscan printer set URL"


def _check_layout(layout: str) -> None:
    if len(layout) > MAX_URL:
        raise RuleViolation(f"A layout name or path is at most {MAX_URL} characters")
    layout_named(layout)


def queue_labels_due(session: Session, due: Sequence[LabelDue]) -> list[PrintJob]:
    """The labels a workflow made due, queued for this device's printer; nothing when
    printing is off or no printer is set. Never contacts the printer."""
    if not due:
        return []
    settings = printer_settings(session)
    printer = settings.printer() if settings.enabled else None
    if printer is None:
        return []
    labels = [label_for_due(session, each) for each in due]
    return enqueue(session, labels, printer.url, layout_named(settings.layout), printer.format)

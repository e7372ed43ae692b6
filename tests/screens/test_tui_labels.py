"""Labels a receipt makes, on the handheld screen: queued once each, with the scan that made
them due; with a file printer (as the demo has), the screen says where each label was
written. A scan whose labels cannot be queued is refused, and records nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from labels.printing import set_printer
from scanner.db import reading, unit_of_work
from scanner.models import Movement, PrintJob
from scanner.settings import PRINTER_LAYOUT, write_setting
from scanner.workflows.base import Level
from screens.app import LotscanApp
from screens.scan_field import ScanField
from tests.support.tui_input import (
    HANDHELD,
    answered,
    feed,
    make_app,
    plant_database,
    run,
    shown,
    until,
)

RECEIVE_THREE_LOTS = "OP:B1001\rCMD:RECEIVE\r(240)RESIN(30)75\rCMD:GEN\rR-001\rR-003\r"


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        yield sessions


def toasts(app: LotscanApp) -> list[str]:
    """The notifications on the screen, as they read."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def test_a_receipt_says_where_its_label_was_written(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    with unit_of_work(plant) as session:
        set_printer(session, folder.as_uri())
    app = make_app(plant)

    async def scenario() -> None:
        # Notifications on, as on a handheld (run_test turns them off by default).
        async with app.run_test(size=HANDHELD, notifications=True) as pilot:
            await until(pilot, lambda: isinstance(app.focused, ScanField))
            feed(app, "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-1(30)25\r")
            await answered(app, pilot, 3)
            await until(pilot, lambda: any("label printed" in each for each in toasts(app)))
            (written,) = folder.iterdir()
            assert toasts(app) == [f"1 label printed: {written}"]
            assert written.read_bytes().startswith(b"\x89PNG")

    asyncio.run(scenario())


def recorded(sessions: sessionmaker[Session]) -> tuple[int, list[str]]:
    """How many movements, and each print job's status."""
    with reading(sessions) as session:
        movements = session.scalar(select(func.count()).select_from(Movement)) or 0
        jobs = list(session.scalars(select(PrintJob.status).order_by(PrintJob.id)))
    return movements, jobs


def test_a_receipt_of_three_lots_queues_and_prints_each_label_once(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    with unit_of_work(plant) as session:
        set_printer(session, folder.as_uri())
    app = make_app(plant)

    async def scenario() -> None:
        async with app.run_test(size=HANDHELD, notifications=True) as pilot:
            await until(pilot, lambda: isinstance(app.focused, ScanField))
            feed(app, RECEIVE_THREE_LOTS)
            await answered(app, pilot, 6)
            await until(pilot, lambda: any("labels printed" in each for each in toasts(app)))
            assert toasts(app) == [f"3 labels printed into {folder}"]

    asyncio.run(scenario())
    assert len(list(folder.iterdir())) == 3
    assert recorded(plant) == (3, ["printed"] * 3)


def test_a_receipt_whose_labels_cannot_be_queued_is_refused_and_records_nothing(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    with unit_of_work(plant) as session:
        set_printer(session, tmp_path.as_uri())
        write_setting(session, PRINTER_LAYOUT, str(tmp_path / "gone.toml"))  # a layout file deleted
    bells: list[None] = []

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, RECEIVE_THREE_LOTS)
        await answered(app, pilot, 6)
        assert app.view.level == Level.ERROR and len(bells) == 1
        assert shown(app, "#feedback").startswith("Not recorded: its labels cannot be queued")
        assert shown(app, "#prompt") == "Last lot (first is R-001)"

    run(make_app(plant), scenario)
    assert recorded(plant) == (0, [])

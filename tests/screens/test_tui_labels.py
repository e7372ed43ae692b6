"""Labels a receipt makes, on the handheld screen: with a file printer (as the demo has), the
screen says where each label was written."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from labels.printing import set_printer
from scanner.db import unit_of_work
from screens.app import LotscanApp
from screens.scan_field import ScanField
from tests.support.tui_input import HANDHELD, answered, feed, make_app, plant_database, until


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

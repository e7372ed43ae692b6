"""Text from the database on the handheld's screen (docs/architecture.md, "Text at the
doors"): an operator's name an older lotscan stored with markup and ESC shows literally,
spelled out, and drives neither Textual's markup nor the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from scanner.db import unit_of_work
from screens.app import LotscanApp
from tests.support.tui_input import answered, feed, make_app, plant_database, run, shown

NAME = "Ana [bold]Ruiz[/bold]\x1b]0;owned\x07\x1b[2J"
SPELLED = "Ana [bold]Ruiz[/bold]\\u001b]0;owned\\u0007\\u001b[2J"


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        with unit_of_work(sessions) as session:  # past the door, as old data would be
            session.execute(text("UPDATE operators SET name = :name WHERE badge = 'B1001'"),
                            {"name": NAME})  # fmt: skip
        yield sessions


def test_an_operators_name_with_markup_and_escapes_shows_literally_at_40x16(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        words = shown(app, "#feedback")
        assert SPELLED in words
        assert "\x1b" not in words and "\x07" not in words

    run(make_app(plant), scenario)

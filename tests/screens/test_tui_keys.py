"""The function keys: each sends the command a scan would, help on F1, a keymap moves them,
and the footer shows the keys that matter at each step, never a key cut in half."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Static

from scanner.workflows.base import Level
from screens.app import LotscanApp
from screens.key_bar import Key, fit
from screens.keymap import KEYMAP_FILE, load_keymap
from screens.keys import footer_rank
from tests.support.tui_input import (
    HANDHELD,
    answered,
    feed,
    footer,
    make_app,
    panel,
    plant_database,
    recording,
    run,
    settled,
    shown,
    until,
)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        yield sessions


def test_function_keys_send_the_commands_a_scan_would(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        await pilot.press("f2")
        await answered(app, pilot, 2)
        started = app.view
        assert started.workflow == "RECEIVE"
        feed(app, "(240)BOLT(30)5\r")
        await answered(app, pilot, 3)
        await pilot.press("f9")
        await answered(app, pilot, 4)
        assert app.view.message == "Last line reversed"
        await pilot.press("escape")
        await answered(app, pilot, 5)
        await pilot.press("f10")
        await answered(app, pilot, 6)
        assert app.view.workflow is None
        assert "F2 RECEIVE" in shown(app, "#details")  # the menu

    run(make_app(plant), scenario)
    assert seen[1:] == ["CMD:RECEIVE", "(240)BOLT(30)5", "CMD:UNDO", "CMD:CANCEL", "CMD:DONE"]


def test_shift_f5_as_a_terminal_sends_it_starts_return(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """F1 to F12 are taken: RETURN is Shift+F5, which an xterm-style terminal sends as
    ESC [15;2~ (fed through Textual's own terminal parser, as a handheld's would be)."""
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        assert "S-F5 RETURN" in shown(app, "#details")  # the menu
        feed(app, "\x1b[15;2~")
        await answered(app, pilot, 2)
        assert app.view.workflow == "RETURN"
        assert "S-F5" not in footer(app)  # inside a workflow, its controls

    run(make_app(plant), scenario)
    assert seen == ["OP:B1001", "CMD:RETURN"]


def test_f1_opens_help_with_the_scan_language_and_esc_closes_it(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await pilot.press("f1")
        assert panel(app) == "help"
        text = str(app.screen.query_one("#help Static", Static).render())
        assert "LOC:<code>" in text and "F10: CMD:DONE" in text
        assert "S-F5: CMD:RETURN" in text
        assert footer(app) == "F1 Help Esc Close ^P Queue"
        await pilot.press("escape")
        assert panel(app) == "sign-in"

    run(make_app(plant), scenario)


def test_a_remapped_key_starts_receive_and_the_footer_shows_it(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        assert "^R Receive" in footer(app)
        await pilot.press("ctrl+r")
        await answered(app, pilot, 2)
        assert app.view.workflow == "RECEIVE"
        assert shown(app, "#prompt") == "Scan item to RCV"

    run(make_app(plant, keymap={"receive": "ctrl+r"}), scenario)


def test_a_device_keymap_file_moves_return_and_the_menu_and_help_show_where(
    plant: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A VT220-style terminal sends Shift+F5 as F15, which Textual does not read: the
    device's keymap.toml moves RETURN to Ctrl+R (0x12, as the terminal sends it)."""
    (tmp_path / KEYMAP_FILE).write_text('return = "ctrl+r"\n', encoding="utf-8")
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        assert "^R RETURN" in shown(app, "#details")  # the menu
        feed(app, "\x1b[15;2~")  # Shift+F5 no longer starts it
        await pilot.press("f1")
        help_text = str(app.screen.query_one("#help Static", Static).render())
        assert "^R: CMD:RETURN" in help_text and "S-F5" not in help_text
        await pilot.press("escape")
        await settled(app)
        assert seen == ["OP:B1001"]
        feed(app, "\x12")
        await answered(app, pilot, 2)
        assert app.view.workflow == "RETURN"
        assert seen == ["OP:B1001", "CMD:RETURN"]

    run(make_app(plant, keymap=load_keymap(tmp_path)), scenario)


def test_the_footer_at_40_columns_shows_whole_keys_and_ok_while_a_warning_waits(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: footer(app) != "")
        assert footer(app) == "F1 Help ^P Queue"
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        assert footer(app) == "F1 Help F2 Receive F3 Issue F4 Complete"
        feed(
            app,
            "CMD:RECEIVE\r(240)RESIN(10)R-OLD(17)261001(30)10\rCMD:OK\rCMD:DONE\r"
            "CMD:ISSUE\rJOB:J-HOUSING\r",
        )
        await answered(app, pilot, 7)
        assert footer(app) == "F1 Help Esc Cancel F9 Undo F10 Done"
        feed(app, "(240)RESIN(10)R-OLD(30)10\r")
        await answered(app, pilot, 8)
        assert app.view.awaiting_confirmation
        # OK matters most now; help gives way, nothing is cut short.
        assert footer(app) == "Esc Cancel F9 Undo F10 Done F11 OK"
        assert len(footer(app)) <= HANDHELD[0]

    run(make_app(plant), scenario)


def test_the_footer_on_a_full_terminal_shows_more_keys(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r")
        await answered(app, pilot, 2)
        assert footer(app) == "F1 Help Esc Cancel F9 Undo F10 Done F12 Gen ^P Queue"

    async def wide(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await scenario(app, pilot)

    run(make_app(plant), wide, size=(80, 24))


def key(key_id: str, shown: str, description: str) -> Key:
    return Key(Binding("x", "x", description, id=key_id), shown, True, "")


def test_fit_keeps_the_best_ranked_keys_that_fit_whole_in_their_order() -> None:
    keys = [
        key("help", "F1", "Help"),
        key("cancel", "Esc", "Cancel"),
        key("undo", "F9", "Undo"),
        key("done", "F10", "Done"),
        key("ok", "F11", "OK"),
    ]
    shown = [each.shown for each in fit(keys, 40, footer_rank)]
    assert shown == ["Esc", "F9", "F10", "F11"]
    assert [each.shown for each in fit(keys, 80, footer_rank)] == ["F1", "Esc", "F9", "F10", "F11"]
    # A narrower key further down the ranking still takes room a wider one left.
    assert [each.shown for each in fit(keys, 16, footer_rank)] == ["F10", "F11"]
    assert fit(keys, 3, footer_rank) == []


def test_a_function_key_right_behind_a_badge_scan_waits_its_turn(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """F2 pressed before the screen has even shown the sign-in: it is the scan of
    CMD:RECEIVE, queued behind the badge, not a key dropped for being early."""
    seen = recording(monkeypatch)
    f2, f11 = "\x1bOQ", "\x1b[23~"

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, f"OP:B1001\r{f2}(240)BOLT(30)5\r{f11}")
        await answered(app, pilot, 4)
        assert app.view.log == ("Received 5 ea",)
        # F11 with no warning waiting: the engine says so, as it would to the scan.
        assert app.view.level == Level.ERROR and len(bells) == 1

    run(make_app(plant), scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE", "(240)BOLT(30)5", "CMD:OK"]

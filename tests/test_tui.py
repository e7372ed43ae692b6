"""The handheld TUI at 40x16, driven as a scanner drives it: bursts of raw terminal input
through Textual's parser (tests/tui_input.py), answers awaited, never slept for."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot
from textual.widgets import ContentSwitcher, Static

from labels.printing import queue_labels_due, set_printer
from scanner.db import open_database, unit_of_work
from scanner.workflows.base import LabelDue, Level, Response
from scanner.workflows.engine import Handheld
from scanner.workspace import sqlite_url
from screens.app import LotscanApp
from screens.feedback import Feedback
from screens.queue import NOT_SYNCED, READING, queue_lines
from screens.scan_field import GS_SHOWN, ScanField
from tests.conftest import fixed_clock
from tests.plant import add_plant
from tests.transcripts import Floor
from tests.tui_input import feed, pasted, until

HANDHELD = (40, 16)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The test plant in a SQLite file of its own."""
    sessions = open_database(sqlite_url(tmp_path / "lotscan.db"))
    with unit_of_work(sessions) as session:
        add_plant(session)
    yield sessions
    sessions.kw["bind"].dispose()


def make_app(sessions: sessionmaker[Session]) -> LotscanApp:
    app = LotscanApp(sessions, clock=fixed_clock, device="H7KQ", cursor_blink=False)
    app.animation_level = "none"
    return app


Scenario = Callable[[LotscanApp, Pilot[Any]], Awaitable[None]]


def run(sessions: sessionmaker[Session], scenario: Scenario) -> LotscanApp:
    """Runs `scenario` against a fresh app on the plant at the handheld's size."""
    app = make_app(sessions)

    async def main() -> None:
        async with app.run_test(size=HANDHELD) as pilot:
            await until(pilot, lambda: isinstance(app.focused, ScanField))
            await scenario(app, pilot)

    asyncio.run(main())
    return app


async def answered(app: LotscanApp, pilot: Pilot[Any], count: int) -> None:
    """Waits until the engine has answered `count` scans and the screens show it."""
    await until(pilot, lambda: app.view.handled >= count and app.idle)
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown(app: LotscanApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def panel(app: LotscanApp) -> str | None:
    """Which panel is up: sign-in, work or help."""
    return app.screen.query_one(ContentSwitcher).current


def test_sign_in_then_receive_a_burst_of_labels(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await pilot.pause()
        assert panel(app) == "sign-in"
        assert shown(app, "#prompt") == "Scan your badge (OP:...)"
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        assert panel(app) == "work"
        assert app.view.message == "Hello, Ana Ruiz"
        feed(app, "CMD:RECEIVE\r(240)RESIN(10)R-1(30)25\r(240)PIGMENT(10)PG-1(30)5\r")
        await answered(app, pilot, 4)
        assert shown(app, "#prompt") == "Scan item to RCV"
        assert (app.view.level, app.view.message) == (Level.OK, "Received PIGMENT")
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Received 25 kg lot R-1", "Received 5 kg lot PG-1")
        assert "RECEIVE" in shown(app, "#where")

    run(plant, scenario)
    floor = Floor(plant, fixed_clock)
    assert floor.stock("RESIN") == {("R-1", "RCV"): 25}
    assert floor.stock("PIGMENT") == {("PG-1", "RCV"): 5}


def test_a_raw_gs_reaches_the_engine_intact_and_shows_while_typed(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)
    gs1 = "]C1240RESIN\x1d10R-7\x1d3012"

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r")
        await answered(app, pilot, 2)
        feed(app, gs1)  # no Enter yet: the field shows what it holds
        await until(pilot, lambda: app.screen.query_one(ScanField).value.endswith("12"))
        field = app.screen.query_one(ScanField)
        assert field.value == gs1.replace("\x1d", GS_SHOWN)
        assert field.raw == gs1
        feed(app, "\r")
        await answered(app, pilot, 3)
        assert app.view.message == "Received RESIN"

    run(plant, scenario)
    assert seen[-1] == gs1
    assert Floor(plant, fixed_clock).stock("RESIN") == {("R-7", "RCV"): 12}


def test_gs_under_the_kitty_keyboard_protocol_and_a_line_feed_end_a_scan(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        # Ctrl+] as CSI u with modifiers (character None), then GS as its own code point.
        feed(app, "OP:B1001\nCMD:RECEIVE\n]C1240RESIN\x1b[93;5u10R-8\x1b[29u3004\n")
        await answered(app, pilot, 3)

    run(plant, scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE", "]C1240RESIN\x1d10R-8\x1d3004"]


def test_a_paste_of_several_scans_is_split_on_line_ends(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, pasted("OP:B1001\r\nCMD:RECEIVE\n(240)RESIN(10)R-9\x1d(30)3\rR-"))
        await answered(app, pilot, 3)
        assert app.screen.query_one(ScanField).value == "R-"  # waits for its Enter
        feed(app, "1\r")  # the rest of it, after sign-in changed the panel
        await answered(app, pilot, 4)

    run(plant, scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE", "(240)RESIN(10)R-9\x1d(30)3", "R-1"]


def test_two_hundred_scans_back_to_back_arrive_in_order_none_lost_or_merged(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)
    scans = ["OP:B1001", "CMD:RECEIVE"]
    scans += [f"]C1240BOLT\x1d30{n + 1}" for n in range(198)]

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "".join(f"{scan}\r" for scan in scans))
        await answered(app, pilot, len(scans))
        assert app.view.level == Level.OK
        assert len(app.view.log) == 50  # the compact log keeps the latest lines

    run(plant, scenario)
    assert seen == scans
    assert Floor(plant, fixed_clock).stock("BOLT") == {("", "RCV"): sum(range(1, 199))}


def test_an_error_rings_the_bell_and_shows_in_red(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)NOSUCH(30)1\r")
        await answered(app, pilot, 3)
        assert (app.view.level, app.view.message) == (Level.ERROR, "Unknown part NOSUCH")
        assert app.screen.query_one(Feedback).has_class("-error")
        assert len(bells) == 1

    run(plant, scenario)


def test_a_warning_rings_the_bell_and_cmd_ok_confirms_it(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(
            app,
            "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-OLD(17)261001(30)10\r"
            "(240)RESIN(10)R-LATE(17)270301(30)30\rCMD:DONE\rCMD:ISSUE\rJOB:J-HOUSING\r",
        )
        await answered(app, pilot, 7)
        assert "RESIN: need 20" in shown(app, "#details")  # the pick list
        assert bells == []
        feed(app, "(240)RESIN(10)R-OLD(30)10\r")
        await answered(app, pilot, 8)
        warned = app.view
        assert warned.level == Level.WARNING and warned.awaiting_confirmation
        assert app.screen.query_one(Feedback).has_class("-warning")
        assert len(bells) == 1
        await pilot.press("f11")  # the OK key, live only while a warning waits
        await answered(app, pilot, 9)
        assert app.view.level == Level.OK
        assert app.view.message.startswith("Issued 10 kg of lot R-OLD")

    run(plant, scenario)


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

    run(plant, scenario)
    assert seen[1:] == ["CMD:RECEIVE", "(240)BOLT(30)5", "CMD:UNDO", "CMD:CANCEL", "CMD:DONE"]


def test_f1_opens_help_with_the_scan_language_and_esc_closes_it(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await pilot.press("f1")
        assert panel(app) == "help"
        text = str(app.screen.query_one("#help Static", Static).render())
        assert "LOC:<code>" in text and "F10: CMD:DONE" in text
        await pilot.press("escape")
        assert panel(app) == "sign-in"

    run(plant, scenario)


def test_scans_fired_while_help_is_up_are_not_lost(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B10")
        await pilot.press("f1")
        feed(app, "01\rCMD:RECEIVE\r")
        await answered(app, pilot, 2)
        assert panel(app) == "help"
        assert app.focused is app.screen.query_one(ScanField)
        await pilot.press("f1")
        assert panel(app) == "work"

    run(plant, scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE"]


STOCKED = (
    "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-1(17)261231(30)25\r(240)PIGMENT(10)PG-1(30)2\r"
    "(240)BOLT(30)100\rCMD:DONE\r"
)
STOCKED_SCANS = 6


def recorded_kinds(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None, str]]:
    """(kind, part, lot or serial, where to) of each movement, in order."""
    return [
        (m.kind, m.part, m.lot or m.serial, m.to_location or "")
        for m in Floor(sessions, fixed_clock).movements()
    ]


def test_issue_shows_the_pick_list_then_issues_a_lot(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}CMD:ISSUE\rJOB:J-HOUSING\r")
        await answered(app, pilot, STOCKED_SCANS + 2)
        assert shown(app, "#prompt") == "Scan item for J-HOUSING"
        pick_list = shown(app, "#details")
        assert "RESIN: need 20" in pick_list and "R-1 @RCV 25 exp 2026-12-31" in pick_list
        assert "PIGMENT: need 2" in pick_list
        feed(app, "(240)RESIN(10)R-1(30)20\r")
        await answered(app, pilot, STOCKED_SCANS + 3)
        assert app.view.message == "Issued 20 kg of lot R-1 of RESIN to J-HOUSING"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Issued 20 kg of lot R-1 of RESIN",)
        assert "ISSUE" in shown(app, "#where")

    run(plant, scenario)
    floor = Floor(plant, fixed_clock)
    assert floor.stock("RESIN") == {("R-1", "RCV"): 5}
    assert recorded_kinds(plant)[-1][:3] == ("issue", "RESIN", "R-1")


def test_assign_a_lot_then_complete_into_it(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:ASSIGN\rJOB:J-HOUSING\rH-0001\r")
        await answered(app, pilot, 4)
        assert (app.view.level, app.view.message) == (
            Level.OK,
            "Lot H-0001 assigned to J-HOUSING",
        )
        assert app.screen.query_one(Feedback).has_class("-ok")
        feed(app, "CMD:COMPLETE\rJOB:J-HOUSING\r")
        await answered(app, pilot, 6)
        assert shown(app, "#prompt") == "Scan J-HOUSING's assembly to LINE"
        feed(app, "(240)HOUSING(30)4\r")
        await answered(app, pilot, 7)
        assert app.view.message == "Completed HOUSING into LINE"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Completed 4 ea lot H-0001",)
        assert "COMPLETE" in shown(app, "#where")

    run(plant, scenario)
    assert Floor(plant, fixed_clock).stock("HOUSING") == {("H-0001", "LINE"): 4}


def test_ship_a_serial_and_a_second_ship_of_it_is_refused_in_red(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, "OP:B1001\rCMD:COMPLETE\rJOB:J-PUMP\r(240)PUMP(21)P-1\rCMD:SHIP\rSO:SO-1\r")
        await answered(app, pilot, 6)
        assert app.view.message == "Shipping SO-1 to Hydro Systems"
        feed(app, "(240)PUMP(21)P-1\r")
        await answered(app, pilot, 7)
        assert app.view.message == "Shipped 1 ea of serial P-1 of PUMP on SO-1"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert bells == []
        feed(app, "(240)PUMP(21)P-1\r")
        await answered(app, pilot, 8)
        assert (app.view.level, app.view.message) == (
            Level.ERROR,
            "No serial P-1 of PUMP in stock: it was shipped",
        )
        assert app.screen.query_one(Feedback).has_class("-error")
        assert len(bells) == 1
        assert shown(app, "#prompt") == "Scan item for SO-1"
        assert app.view.log == ("Shipped 1 ea of serial P-1 of PUMP",)

    run(plant, scenario)
    ships = [each for each in recorded_kinds(plant) if each[0] == "ship"]
    assert ships == [("ship", "PUMP", "P-1", "")]
    assert Floor(plant, fixed_clock).stock("PUMP") == {}


def test_move_asks_where_to_then_moves(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}CMD:MOVE\r(240)BOLT(30)30\r")
        await answered(app, pilot, STOCKED_SCANS + 2)
        assert shown(app, "#prompt") == "Move 30 ea of BOLT to? (LOC:)"
        assert app.screen.query_one(Feedback).has_class("-info")
        feed(app, "LOC:A-01\r")
        await answered(app, pilot, STOCKED_SCANS + 3)
        assert app.view.message == "Moved 30 ea of BOLT RCV>A-01"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Moved 30 ea of BOLT to A-01",)

    run(plant, scenario)
    assert Floor(plant, fixed_clock).stock("BOLT") == {("", "RCV"): 70, ("", "A-01"): 30}


def test_lookup_of_a_lot_shows_its_stock_and_trace(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}CMD:LOOKUP\r(240)RESIN(10)R-1\r")
        await answered(app, pilot, STOCKED_SCANS + 2)
        assert app.view.message == "Lot R-1 of RESIN"
        assert app.screen.query_one(Feedback).has_class("-ok")
        details = shown(app, "#details")
        assert "active, expires 2026-12-31" in details and "R-1 @RCV: 25" in details
        assert "Made from 0, into 0" in details

    run(plant, scenario)
    assert len(recorded_kinds(plant)) == 3  # a lookup records nothing


def test_a_remapped_key_starts_receive(plant: sessionmaker[Session]) -> None:
    app = LotscanApp(
        plant, clock=fixed_clock, device="H7KQ", cursor_blink=False, keymap={"receive": "ctrl+r"}
    )

    async def main() -> None:
        async with app.run_test(size=HANDHELD) as pilot:
            await until(pilot, lambda: isinstance(app.focused, ScanField))
            feed(app, "OP:B1001\r")
            await answered(app, pilot, 1)
            await pilot.press("ctrl+r")
            await answered(app, pilot, 2)
            assert app.view.workflow == "RECEIVE"
            assert shown(app, "#prompt") == "Scan item to RCV"

    asyncio.run(main())


def labels_waiting(sessions: sessionmaker[Session], folder: Path) -> None:
    """Two lots received and their labels queued for a printer nobody has sent them to."""
    assert not Floor(sessions, fixed_clock).run(STOCKED.replace("\r", "\n")).errors()
    with unit_of_work(sessions) as session:
        set_printer(session, folder.as_uri())
        queue_labels_due(
            session,
            [
                LabelDue("lot", "RESIN", lot="R-1", qty=Decimal(25)),
                LabelDue("lot", "PIGMENT", lot="PG-1"),
            ],
        )


def test_the_queue_panel_shows_labels_waiting_read_off_the_event_loop(
    plant: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels_waiting(plant, tmp_path / "labels")
    threads: list[threading.Thread] = []

    def reading(session: Session) -> tuple[str, ...]:
        threads.append(threading.current_thread())
        return queue_lines(session)

    monkeypatch.setattr("screens.handheld.queue_lines", reading)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        await pilot.press("ctrl+p")
        assert panel(app) == "queue"
        await until(pilot, lambda: shown(app, "#queue-text") != READING)
        text = shown(app, "#queue-text")
        assert text.startswith("PRINT: 2 labels waiting")
        assert "lot R-1 of RESIN, 25 kg" in text and "lot PG-1 of PIGMENT" in text
        assert NOT_SYNCED in text
        assert app.focused is app.screen.query_one(ScanField)
        await pilot.press("escape")
        assert panel(app) == "work"

    run(plant, scenario)
    assert threads and threading.main_thread() not in threads


def recording(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every raw scan the engine is handed, in order."""
    seen: list[str] = []
    handle = Handheld.handle

    def recorded(self: Handheld, raw: str) -> Response:
        seen.append(raw)
        return handle(self, raw)

    monkeypatch.setattr(Handheld, "handle", recorded)
    return seen

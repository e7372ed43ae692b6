"""The supervisor panel (Ctrl+O): only for an operator whose role is supervisor; lists the
central store's devices and open exceptions, resolves the chosen one with the store's
actions (a count or a reason typed in the scan field), and says plainly when this
handheld's token is not a supervisor's or the store cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from screens.app import LotscanApp
from screens.supervisor import ASKING_STORE
from screens.supervisor_lines import ACTIONS, actions_for, exception_lines
from sync.device.credentials import NOT_ENROLLED
from tests.support.sync_in_process import MovableClock
from tests.support.tui_input import (
    STORE_URL,
    FakeStore,
    answered,
    device_row,
    enroll,
    exception_row,
    feed,
    footer,
    make_app,
    panel,
    plant_database,
    run,
    shown,
    until,
)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        yield sessions


def a_store() -> FakeStore:
    """Two devices, a held serial shipped twice and a lot that went short."""
    store = FakeStore()
    store.devices = [
        device_row("H7KQ", "dock", queue_depth=3, held=1, clock_offset=2),
        device_row("M2PX", "line 2", flagged=1, last_seen="2026-11-01T16:05:00+00:00"),
    ]
    store.exceptions = [
        exception_row(
            7,
            "SERIAL_CONFLICT",
            held=True,
            seq=41,
            kind="ship",
            qty="1",
            part="PUMP",
            serial="P-1",
            from_location="SHIP",
            message="Serial P-1 of PUMP was already shipped",
        ),
        exception_row(
            8,
            "NEGATIVE_BALANCE",
            seq=12,
            kind="issue",
            qty="10.000",
            part="RESIN",
            lot="R-1",
            from_location="RCV",
            message="Lot R-1 of RESIN at RCV is -4 kg",
        ),
    ]
    return store


def supervisor_app(
    sessions: sessionmaker[Session], folder: Path, store: FakeStore, *, enrolled: bool = True
) -> LotscanApp:
    if enrolled:
        enroll(sessions, folder)
    return make_app(
        sessions, sync_folder=folder, sync_transport=store.transport, sync_interval=3600
    )


def text(app: LotscanApp) -> str:
    return shown(app, "#supervisor-text")


async def open_panel(app: LotscanApp, pilot: Pilot[Any], badge: str = "B9001") -> None:
    feed(app, f"OP:{badge}\r")
    await answered(app, pilot, 1)
    await pilot.press("ctrl+o")
    await until(pilot, lambda: panel(app) == "supervisor" and text(app) != ASKING_STORE)


def test_a_floor_operator_has_no_supervisor_panel(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        await pilot.press("ctrl+o")
        assert panel(app) == "work"
        assert "Supervisor" not in footer(app)

    run(supervisor_app(plant, tmp_path, a_store()), scenario, size=(80, 24))


def test_a_supervisor_sees_the_open_exceptions_and_the_devices(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        assert text(app).splitlines() == [
            "OPEN: 2 (Up/Down to choose)",
            ">7 SERIAL_CONFLICT H7KQ#41 (held)",
            "  ship 1 serial P-1 of PUMP from SHIP",
            "  Serial P-1 of PUMP was already shipped",
            " 8 NEGATIVE_BALANCE H7KQ#12",
            "DEVICES: 2",
            "H7KQ dock, seen 08:30",
            " synced 08:30 \u21913 flag 0 held 1 rej 0 clock +2s",
            "M2PX line 2, seen 11-01",
            " synced 08:30 \u21910 flag 1 held 0 rej 0 clock +0s",
        ]
        assert footer(app) == "F2 Apply F3 Void F6 Refresh Esc Close"
        await pilot.press("down")
        assert text(app).splitlines()[1:4] == [
            " 7 SERIAL_CONFLICT H7KQ#41 (held)",
            ">8 NEGATIVE_BALANCE H7KQ#12",
            "  issue 10 lot R-1 of RESIN from RCV",
        ]
        assert footer(app) == "F4 Count F5 Dismiss F6 Refresh Esc Close"
        await pilot.press("escape")
        assert panel(app) == "work"

    run(supervisor_app(plant, tmp_path, a_store()), scenario)


def test_apply_resolves_the_held_movement_and_the_panel_reads_the_store_again(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    store = a_store()

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        await pilot.press("f2")
        await until(pilot, lambda: text(app).startswith("Resolved 7"))
        assert text(app).splitlines()[:3] == [
            "Resolved 7: apply done",
            "OPEN: 1",
            ">8 NEGATIVE_BALANCE H7KQ#12",
        ]
        assert app.view.workflow is None  # F2 resolved; it did not start RECEIVE

    run(supervisor_app(plant, tmp_path, store), scenario)
    assert store.resolved == [(7, {"action": "apply", "operator": "B9001"})]


def app_on_a_clock(
    sessions: sessionmaker[Session], folder: Path, store: FakeStore, clock: MovableClock
) -> LotscanApp:
    """A supervisor's handheld on `clock`, which makes no look of its own for an idle
    sign-in: the test looks when it means to (`look_for_idle_sign_in`)."""
    enroll(sessions, folder)
    return make_app(
        sessions, sync_folder=folder, sync_transport=store.transport, sync_interval=3600,
        clock=clock, idle_check=3600,
    )  # fmt: skip


def test_a_supervisor_gone_idle_resolves_nothing_and_is_signed_out(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    """The panel's decisions are the signed-in supervisor's only while the sign-in holds."""
    store, clock = a_store(), MovableClock()
    app = app_on_a_clock(plant, tmp_path, store, clock)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        clock.advance(minutes=31)
        await pilot.press("f2")
        await until(pilot, lambda: app.view.operator is None)
        await pilot.pause()
        assert panel(app) == "sign-in"
        assert app.view.message.startswith("Signed out after 30 minutes without a scan")

    run(app, scenario)
    assert store.resolved == []


def test_the_panels_decisions_keep_a_supervisor_signed_in(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    store, clock = a_store(), MovableClock()
    app = app_on_a_clock(plant, tmp_path, store, clock)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        clock.advance(minutes=20)
        await pilot.press("f2")
        await until(pilot, lambda: text(app).startswith("Resolved 7"))
        clock.advance(minutes=20)  # 40 since the badge, 20 since the decision
        handled = app.view.handled
        app.look_for_idle_sign_in()
        await until(pilot, lambda: app.idle)
        await pilot.pause()
        assert (app.view.operator, app.view.handled) == ("B9001", handled)
        clock.advance(minutes=10)  # 30 since the decision
        app.look_for_idle_sign_in()
        await until(pilot, lambda: app.view.operator is None)

    run(app, scenario)
    assert store.resolved == [(7, {"action": "apply", "operator": "B9001"})]


def test_f2_still_applies_when_a_device_keymap_moved_receive_off_it(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    """F2 is RECEIVE and, over the panel, apply: moving RECEIVE leaves F2 to apply."""
    store = a_store()
    enroll(plant, tmp_path)
    app = make_app(
        plant,
        sync_folder=tmp_path,
        sync_transport=store.transport,
        sync_interval=3600,
        keymap={"receive": "ctrl+r"},
    )

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        assert footer(app) == "F2 Apply F3 Void F6 Refresh Esc Close"
        await pilot.press("f2")
        await until(pilot, lambda: text(app).startswith("Resolved 7"))

    run(app, scenario)
    assert store.resolved == [(7, {"action": "apply", "operator": "B9001"})]


def test_a_count_is_typed_in_the_scan_field_and_a_bad_one_asked_again(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    store = a_store()

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        await open_panel(app, pilot)
        await pilot.press("down", "f4")
        # What is counted, and where the store adjusts it (probe: "Quantity counted?" alone)
        assert shown(app, "#prompt") == "Count of RESIN R-1 at RCV? Enter"
        assert footer(app) == "F1 Help Esc Back ^P Queue ^O Supervisor"
        feed(app, "a dozen\r")
        await until(pilot, lambda: "is not a count" in text(app))
        assert len(bells) == 1 and store.resolved == []
        feed(app, "6\r")
        await until(pilot, lambda: text(app).startswith("Resolved 8"))
        assert shown(app, "#prompt") == app.view.prompt

    run(supervisor_app(plant, tmp_path, store), scenario)
    assert store.resolved == [(8, {"action": "adjust", "qty": "6", "operator": "B9001"})]


def test_dismiss_asks_why_and_esc_drops_the_question_first(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    store = a_store()

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        await pilot.press("down", "f5")
        assert shown(app, "#prompt") == ACTIONS["dismiss"].question
        await pilot.press("escape")  # not now
        assert panel(app) == "supervisor" and shown(app, "#prompt") == app.view.prompt
        await pilot.press("f5")
        feed(app, "Recounted: the drum was on the wrong shelf\r")
        await until(pilot, lambda: text(app).startswith("Resolved 8"))

    run(supervisor_app(plant, tmp_path, store), scenario)
    assert store.resolved == [
        (
            8,
            {
                "action": "dismiss",
                "reason": "Recounted: the drum was on the wrong shelf",
                "operator": "B9001",
            },
        )
    ]


@pytest.mark.parametrize(
    ("keys", "number", "action"), [(("f3",), 7, "void"), (("down", "f5"), 8, "dismiss")]
)
def test_a_badge_or_a_command_scanned_for_a_reason_is_not_taken_as_one(
    plant: sessionmaker[Session], tmp_path: Path, keys: tuple[str, ...], number: int, action: str
) -> None:
    """A badge scanned at "Why void it?" (the device handed over) voided the held movement
    with "OP:B1001" as its reason, for good; a command scanned there did the same."""
    store = a_store()

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        await open_panel(app, pilot)
        await pilot.press(*keys)
        for scanned in ("OP:B1001", "CMD:RECEIVE", "(240)BOLT(30)5"):
            feed(app, f"{scanned}\r")
            await until(pilot, lambda scanned=scanned: f"{scanned}: Type the reason" in text(app))
        assert len(bells) == 3 and store.resolved == []
        assert panel(app) == "supervisor" and app.view.operator == "B9001"
        feed(app, "LOC:A-01 flooded\r")  # a code that reads as a place is taken as typed
        await until(pilot, lambda: text(app).startswith(f"Resolved {number}"))

    run(supervisor_app(plant, tmp_path, store), scenario)
    assert store.resolved == [
        (number, {"action": action, "reason": "LOC:A-01 flooded", "operator": "B9001"})
    ]


@pytest.mark.parametrize(
    ("trouble", "words"),
    [
        pytest.param(
            "not_supervisor",
            "The central store refused: Device H7KQ (dock) is a handheld; this needs a"
            " supervisor's device (lotscan devices enroll NAME --supervisor)",
            id="floor-token",
        ),
        pytest.param(
            "offline",
            f"Cannot reach the central store at {STORE_URL} (connection refused)",
            id="offline",
        ),
        pytest.param("not_enrolled", NOT_ENROLLED, id="not-enrolled"),
    ],
)
def test_the_panel_says_plainly_why_it_cannot_show_the_store(
    plant: sessionmaker[Session], tmp_path: Path, trouble: str, words: str
) -> None:
    store = a_store()
    store.supervisor = trouble != "not_supervisor"
    store.online = trouble != "offline"

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        assert text(app) == f"Cannot show the supervisor's view: {words}"
        assert footer(app) == "F1 Help F6 Refresh Esc Close ^P Queue"

    app = supervisor_app(plant, tmp_path, store, enrolled=trouble != "not_enrolled")
    run(app, scenario)


def test_the_panel_reads_the_next_page_of_exceptions_when_the_choice_goes_past_the_last(
    plant: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("screens.supervisor.PAGE", 2)
    store = a_store()
    store.exceptions = [
        exception_row(number, "NEGATIVE_BALANCE", seq=number, kind="issue", qty="1", part="RESIN")
        for number in range(1, 6)
    ]

    def chosen(app: LotscanApp) -> str:
        (line,) = [line for line in text(app).splitlines() if line.startswith(">")]
        return line.split()[0]

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await open_panel(app, pilot)
        assert text(app).splitlines()[0] == "OPEN: 2+ (Up/Down to choose)"
        assert store.pages_read == [0]
        await pilot.press("down")
        assert chosen(app) == ">2"
        await pilot.press("down")
        await until(pilot, lambda: chosen(app) == ">3")
        assert store.pages_read == [0, 2]
        assert text(app).splitlines()[0] == "OPEN: 4+ (Up/Down to choose)"
        await pilot.press("down", "down")
        await until(pilot, lambda: chosen(app) == ">5")
        assert text(app).splitlines()[0] == "OPEN: 5 (Up/Down to choose)"
        await pilot.press("down")
        assert chosen(app) == ">1"  # the last page read: round to the first again
        assert store.pages_read == [0, 2, 4]

    run(supervisor_app(plant, tmp_path, store), scenario)


def test_a_rejected_rule_violation_reads_as_rejected_and_is_only_dismissed() -> None:
    """A movement the store rejected for a rule of the ledger is listed like every other
    exception: marked rejected, with the store's words naming the field, to be dismissed."""
    row = {
        "id": 7, "code": "RULE_VIOLATION", "device": "H7KQ", "device_seq": 3,
        "entry_status": "rejected",
        "message": "Rejected, qty breaks rule serial-one-unit: A serial is one unit",
        "movement": {"kind": "receive", "qty": "5", "part": "MOTOR", "serial": "M-1",
                     "to_location": "RCV"},
    }  # fmt: skip
    head, movement, words = exception_lines(row, chosen=True)
    assert head.endswith("7 RULE_VIOLATION H7KQ#3 (rejected)")
    assert movement == "  receive 5 serial M-1 of MOTOR to RCV"
    assert words == "  Rejected, qty breaks rule serial-one-unit: A serial is one unit"
    assert actions_for(row) == ("dismiss",)


def test_a_status_conflict_about_no_movement_names_its_lot_and_is_only_dismissed() -> None:
    """An alert about a status change (STATUS_CONFLICT, a refused hold) has no movement: the
    panel names the device, the lot and both decisions, to be dismissed."""
    message = (
        "The hold of lot PG-1 of PIGMENT by Quinn Lee on device H7KQ at 2026-11-02 08:32 UTC"
        " reached the store after the release by Sam Okafor at 2026-11-02 08:35: the release"
        " stands; both are in the history"
    )
    row = {
        "id": 9, "code": "STATUS_CONFLICT", "device": "H7KQ", "device_seq": None,
        "entry_status": None, "movement": None, "part": "PIGMENT", "lot": "PG-1",
        "serial": None, "location": None, "message": message,
    }  # fmt: skip
    head, what, words = exception_lines(row, chosen=True)
    assert head.endswith("9 STATUS_CONFLICT H7KQ")
    assert what == "  lot PG-1 of PIGMENT"
    assert words == f"  {message}"
    assert actions_for(row) == ("dismiss",)

"""What the handheld screen looks like, at a handheld's 40x16 and a full 80x24 terminal.

Stable by construction: a fixed clock, device and operator, no cursor blink, no
animations, and every scan answered before the picture is taken. After a deliberate change
of the screens: `pytest tests/screens/test_tui_snapshots.py --snapshot-update`, then look at the
SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from labels.printing import queue_labels_due, set_printer
from scanner.db import unit_of_work
from scanner.workflows.base import LabelDue
from screens.app import LotscanApp
from screens.scan_field import ScanField
from sync.device.backoff import Backoff
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor
from tests.support.tui_input import (
    FakeStore,
    device_row,
    enroll,
    exception_row,
    feed,
    make_app,
    plant_database,
    settled,
    until,
)

SIZES = [pytest.param((40, 16), id="40x16"), pytest.param((80, 24), id="80x24")]
SnapCompare = Callable[..., bool]
MID_RECEIVE = (
    "CMD:RECEIVE\rPO:PO-1\r(240)RESIN(10)SUP-77(17)261231(30)50\r"
    "]C1240RESIN\x1d10SUP-78\x1d3025\r(240)MOTOR(30)2\r"
)
# Two lots of resin, the older one expired by the fixed clock's day, and a job that needs it.
TO_ISSUE = (
    "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-OLD(17)261001(30)10\rCMD:OK\r"
    "(240)RESIN(10)R-LATE(17)270301(30)30\r(240)PIGMENT(10)PG-1(30)2\rCMD:DONE\r"
    "CMD:ISSUE\rJOB:J-HOUSING\r"
)
TO_ISSUE_SCANS = 9


@pytest.fixture
def app(tmp_path: Path) -> Iterator[LotscanApp]:
    with plant_database(tmp_path) as sessions:
        yield make_app(sessions)


def scans(text: str, count: int, then: tuple[str, ...] = ()) -> Callable[[Pilot[Any]], Any]:
    """A run_before that feeds `text` as a scanner would, waits for `count` answers, then
    presses the keys `then`."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, LotscanApp)
        await until(pilot, lambda: isinstance(app.focused, ScanField))
        feed(app, text)
        await until(pilot, lambda: app.view.handled >= count and app.idle)
        await settled(app)
        for key in then:
            await pilot.press(key)
        await settled(app)  # what a key started, such as reading the queue
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_sign_in(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=scans("", 0))


@pytest.mark.parametrize("size", SIZES)
def test_menu_after_sign_in(
    snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]
) -> None:
    assert snap_compare(app, terminal_size=size, run_before=scans("OP:B1001\r", 1))


@pytest.mark.parametrize("size", SIZES)
def test_mid_receive(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    """Two lots received on a purchase order, the serials of two motors asked for."""
    run_before = scans(f"OP:B1001\r{MID_RECEIVE}", 6)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_error_in_red(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    run_before = scans("OP:B1001\rCMD:RECEIVE\r(240)NOSUCH(30)1\r", 3)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=scans("", 0, then=("f1",)))


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_issue_pick_list(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    """The job's components, each with the lots in stock, first to expire first."""
    assert snap_compare(app, terminal_size=size, run_before=scans(TO_ISSUE, TO_ISSUE_SCANS))


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_warning_awaiting_ok(
    snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]
) -> None:
    """An expired lot scanned for issue: amber, and F11 OK in the footer until confirmed."""
    run_before = scans(f"{TO_ISSUE}(240)RESIN(10)R-OLD(30)10\r", TO_ISSUE_SCANS + 1)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_queue(
    snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int], tmp_path: Path
) -> None:
    """Ctrl+P: two labels waiting for the printer, and movements kept on the device."""
    received = Floor(app.sessions, fixed_clock).run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(10)R-1(30)25
        (240)PIGMENT(10)PG-1(30)2
    """)
    assert not received.errors()
    with unit_of_work(app.sessions) as session:
        set_printer(session, (tmp_path / "labels").as_uri())
        due = [
            LabelDue("lot", "RESIN", lot="R-1", qty=Decimal(25)),
            LabelDue("lot", "PIGMENT", lot="PG-1"),
        ]
        queue_labels_due(session, due)
    run_before = scans("OP:B1001\r", 1, then=("ctrl+p",))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


# ---- sync and the supervisor ------------------------------------------------------------------


def enrolled_app(tmp_path: Path, store: FakeStore) -> Iterator[LotscanApp]:
    with plant_database(tmp_path) as sessions:
        enroll(sessions, tmp_path)
        yield make_app(
            sessions,
            sync_folder=tmp_path,
            sync_transport=store.transport,
            sync_interval=3600,
            sync_soon=0,
            sync_backoff=Backoff(base=3600, cap=3600, rng=lambda: 1.0),
        )


@pytest.fixture
def online(tmp_path: Path) -> Iterator[LotscanApp]:
    """Enrolled with a store that answers, and lists two devices and two exceptions."""
    store = FakeStore()
    store.devices = [
        device_row("H7KQ", "dock", queue_depth=2, held=1, clock_offset=2),
        device_row("M2PX", "line 2", flagged=1, last_seen="2026-11-01T16:05:00+00:00"),
    ]
    store.exceptions = [
        exception_row(
            7, "SERIAL_CONFLICT", held=True, seq=41, kind="ship", qty="1", part="PUMP",
            serial="P-1", from_location="SHIP", message="Serial P-1 of PUMP was already shipped",
        ),
        exception_row(
            8, "NEGATIVE_BALANCE", seq=12, kind="issue", qty="10", part="RESIN", lot="R-1",
            from_location="RCV", message="Lot R-1 of RESIN at RCV is -4 kg",
        ),
    ]  # fmt: skip
    yield from enrolled_app(tmp_path, store)


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[LotscanApp]:
    """Enrolled with a store out of reach (it is not tried again while the test runs)."""
    store = FakeStore()
    store.online = False
    yield from enrolled_app(tmp_path, store)


def until_sync_reads(words: str, then: Callable[[Pilot[Any]], Any]) -> Callable[..., Any]:
    """A run_before: `then`, then waits until the status line's sync reads `words`."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await then(pilot)
        app = pilot.app
        await until(pilot, lambda: str(app.screen.query_one("#sync").render()) == words, 20000)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_synced_menu(snap_compare: SnapCompare, online: LotscanApp, size: tuple[int, int]) -> None:
    """Online, the queue empty, synced at the fixed clock's time."""
    run_before = until_sync_reads("\u21910 online 08:30", scans("OP:B1001\r", 1))
    assert snap_compare(online, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_offline_queue(
    snap_compare: SnapCompare, offline: LotscanApp, size: tuple[int, int]
) -> None:
    """Ctrl+P while the store is out of reach: two movements waiting, and why."""
    burst = "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r(240)RESIN(10)R-1(30)20\r"
    run_before = until_sync_reads("offline \u21912", scans(burst, 4))

    async def then_queue(pilot: Pilot[Any]) -> None:
        await run_before(pilot)
        await pilot.press("ctrl+p")
        await settled(pilot.app)  # type: ignore[arg-type]
        await pilot.pause()

    assert snap_compare(offline, terminal_size=size, run_before=then_queue)


@pytest.mark.parametrize("size", SIZES)
def test_supervisor_panel(
    snap_compare: SnapCompare, online: LotscanApp, size: tuple[int, int]
) -> None:
    """Ctrl+O for a supervisor: the open exceptions (the first chosen), then the devices."""
    run_before = until_sync_reads("\u21910 online 08:30", scans("OP:B9001\r", 1, ("ctrl+o",)))
    assert snap_compare(online, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_supervisor_asks_for_a_count(
    snap_compare: SnapCompare, online: LotscanApp, size: tuple[int, int]
) -> None:
    """The shortfall chosen and F4 pressed: the prompt asks for the quantity counted."""
    keys = ("ctrl+o", "down", "f4")
    run_before = until_sync_reads("\u21910 online 08:30", scans("OP:B9001\r", 1, keys))
    assert snap_compare(online, terminal_size=size, run_before=run_before)

"""`lotscan lot hold|release|recall|show` as scripts and people run them, on SQLite and
PostgreSQL: who may decide, what each decision leaves in the history, and what held or
recalled stock may still do on the floor afterwards (`lotscan replay`), each refusal naming
who decided, when and why. Also `lotscan stock`'s expiry and status, and `lotscan job`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Location, Operator, StatusChange
from scanner.workspace import sqlite_url
from sync.central.enrollment import ensure_central
from sync.central.models import Change
from tests.conftest import fixed_clock
from tests.scanner.test_cli import lotscan
from tests.support import cli_in_process
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

QUALITY, SUPERVISOR, FLOOR = "B7001", "B9001", "B1001"


def stock_the_plant(url: str) -> None:
    """The test plant with a quarantine cage (QA) and a quality operator (Quinn Lee); 10
    housings of lot H-1 and resin lot R-OLD (expired on 2026-01-01) at A-01, and motors M-1
    and M-2 of lot VM-1."""
    sessions = open_migrated(url)
    with unit_of_work(sessions) as session:
        add_plant(session)
        session.add_all(
            [
                Location(code="QA", name="Quarantine cage", kind="quarantine"),
                Operator(badge=QUALITY, name="Quinn Lee", role="quality"),
            ]
        )
        session.flush()
        ledger = Ledger(session, fixed_clock)
        ledger.receive("HOUSING", 10, "A-01", lot="H-1")
        ledger.receive("RESIN", 20, "A-01", lot="R-OLD", expiry=date(2026, 1, 1))
        for serial in ("M-1", "M-2"):
            ledger.receive("MOTOR", 1, "A-01", serial=serial, lot="VM-1")
    sessions.kw["bind"].dispose()


@pytest.fixture
def plant(db_url: str) -> str:
    stock_the_plant(db_url)
    return db_url


class Cli:
    """`lotscan` run on one database, in the test's process (tests/support/cli_in_process.py);
    `test_a_hold_on_the_central_store_is_published_for_the_handhelds` runs it as a
    subprocess."""

    def __init__(self, home: Path, url: str) -> None:
        self.home, self.url = home, url

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = cli_in_process.lotscan(*args, "--db", self.url, home=self.home)
        return result.returncode, result.stdout, result.stderr

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert (code, err) == (0, ""), err
        return json.loads(out)

    def decide(self, action: str, what: tuple[str, ...], reason: str, by: str) -> dict[str, Any]:
        decided: dict[str, Any] = self.json("lot", action, *what, "--reason", reason, "--by", by)
        return decided

    def replay(self, transcript: str) -> list[dict[str, Any]]:
        """Each line's outcome (line, input, level, message, ...) of a transcript replayed
        on the floor, signed in as Ana Ruiz."""
        path = self.home / "shift.txt"
        path.write_text(f"OP:{FLOOR}\n{transcript}\n")
        _code, out, _err = self("replay", str(path), "--keep-going", "--json", "--restart")
        lines: list[dict[str, Any]] = json.loads(out)["lines"]
        return lines

    def history(self, *what: str) -> list[tuple[str, str | None, str | None, bool]]:
        shown = self.json("lot", "show", *what)
        return [(e["status"], e["operator"], e["reason"], e["current"]) for e in shown["history"]]


@pytest.fixture
def cli(tmp_path: Path, plant: str) -> Cli:
    return Cli(tmp_path, plant)


H1 = ("--part", "HOUSING", "--lot", "H-1")
VM1 = ("--part", "MOTOR", "--lot", "VM-1")
M1 = ("--part", "MOTOR", "--serial", "M-1")


def when(decided: dict[str, Any]) -> str:
    """A decision's time as a refusal words it: "2026-12-06 19:22"."""
    return str(decided["happened_at"])[:16].replace("T", " ")


def messages(lines: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(line["level"], line["message"]) for line in lines[1:]]


# ---- who decides ----------------------------------------------------------------------------


@pytest.mark.parametrize(("badge", "name"), [(SUPERVISOR, "Sam Okafor"), (QUALITY, "Quinn Lee")])
def test_a_supervisor_or_quality_operator_holds_releases_and_recalls_a_lot(
    cli: Cli, badge: str, name: str
) -> None:
    held = cli.decide("hold", H1, "Cracked bosses", badge)
    assert {k: v for k, v in held.items() if k not in ("happened_at", "device")} == {
        "part": "HOUSING",
        "lot": "H-1",
        "serial": None,
        "action": "hold",
        "status": "hold",
        "operator": badge,
        "name": name,
        "reason": "Cracked bosses",
        "published": False,
    }
    code, out, err = cli("lot", "release", *H1, "--reason", "Bosses within spec", "--by", badge)
    assert (code, err) == (0, "")
    assert out.startswith(f"Lot H-1 of HOUSING released by {name} on ")
    assert out.endswith(" (Bosses within spec)\n")
    recalled = cli.decide("recall", H1, "Customer complaint", badge)
    assert recalled["status"] == "recalled"
    assert cli.history(*H1) == [
        ("hold", badge, "Cracked bosses", False),
        ("released", badge, "Bosses within spec", False),
        ("recalled", badge, "Customer complaint", True),
    ]
    assert cli.json("lot", "show", *H1)["status"] == "recalled"


@pytest.mark.parametrize(
    ("badge", "refusal"),
    [
        (FLOOR, "Only a supervisor or quality staff can hold lot H-1 of HOUSING; Ana Ruiz"
                " (B1001) is floor"),
        ("B0000", "Unknown operator B0000"),
    ],
)  # fmt: skip
def test_a_floor_operator_or_an_unknown_badge_may_not_decide(
    cli: Cli, badge: str, refusal: str
) -> None:
    assert cli("lot", "hold", *H1, "--reason", "Looks odd", "--by", badge) == (
        1,
        "",
        f"lotscan: {refusal}\n",
    )
    assert cli.history(*H1) == []
    assert cli.json("lot", "show", *H1)["status"] == "released"


def test_a_decision_needs_a_plain_reason(cli: Cli) -> None:
    blank = cli("lot", "hold", *H1, "--reason", "  ", "--by", QUALITY)
    assert blank == (1, "", "lotscan: Say why: a reason is needed to hold lot H-1 of HOUSING\n")
    code, _out, err = cli("lot", "hold", *H1, "--by", QUALITY)
    assert code == 2 and "--reason" in err
    code, out, err = cli("lot", "hold", *H1, "--reason", "bad\x1b[2Jnews", "--by", QUALITY)
    assert (code, out) == (1, "")
    assert err.startswith("lotscan: The reason holds ") and "control character" in err
    assert "\x1b" not in err
    assert cli.history(*H1) == []


@pytest.mark.parametrize(
    ("what", "refusal"),
    [
        (("--part", "HOUSING", "--lot", "H-9"), "No lot H-9 of HOUSING"),
        (("--part", "MOTOR", "--serial", "M-9"), "No serial M-9 of MOTOR"),
        (("--part", "NOPE", "--lot", "H-1"), "Unknown part NOPE"),
    ],
)
def test_an_unknown_lot_serial_or_part_is_refused(
    cli: Cli, what: tuple[str, ...], refusal: str
) -> None:
    assert cli("lot", "hold", *what, "--reason", "x", "--by", QUALITY) == (
        1,
        "",
        f"lotscan: {refusal}\n",
    )
    assert cli("lot", "show", *what) == (1, "", f"lotscan: {refusal}\n")


def test_a_held_lot_is_not_held_again_and_the_refusal_says_who_held_it(cli: Cli) -> None:
    held = cli.decide("hold", H1, "Cracked bosses", QUALITY)
    again = cli("lot", "hold", *H1, "--reason", "Also scratched", "--by", SUPERVISOR)
    assert again == (
        1,
        "",
        "lotscan: Lot H-1 of HOUSING is already on hold: put on hold by Quinn Lee on"
        f" {when(held)} (Cracked bosses)\n",
    )
    assert cli.history(*H1) == [("hold", QUALITY, "Cracked bosses", True)]


# ---- what held and recalled stock may do ----------------------------------------------------


@pytest.mark.parametrize(("action", "words"), [("hold", "on hold"), ("recall", "recalled")])
def test_held_or_recalled_stock_is_neither_issued_nor_shipped_and_moves_only_into_quarantine(
    cli: Cli, action: str, words: str
) -> None:
    decided = cli.decide(action, H1, "Cracked bosses", QUALITY)
    why = f"Lot H-1 of HOUSING is {words} by Quinn Lee on {when(decided)} (Cracked bosses)"
    lines = cli.replay(
        "CMD:ISSUE\nJOB:J-PUMP\n(240)HOUSING(10)H-1(30)2\n"
        "CMD:SHIP\nSO:SO-2\n(240)HOUSING(10)H-1(30)2\n"
        "CMD:MOVE\n(240)HOUSING(10)H-1(30)2\nLOC:A-02\nLOC:QA"
    )
    outcomes = messages(lines)
    assert outcomes[2] == ("error", why)
    assert outcomes[5] == ("error", why)
    assert outcomes[7] == ("info", f"2 ea of lot H-1 of HOUSING from A-01: {words}, into"
                                   " quarantine only (QA)")  # fmt: skip
    assert outcomes[8] == ("error", f"{why}: it may move only into quarantine (QA)")
    assert outcomes[9] == ("ok", "Moved 2 ea of lot H-1 of HOUSING A-01>QA")
    status = "hold" if action == "hold" else "recalled"
    stock = {(row["location"], row["qty"], row["status"]) for row in cli.json("stock", *H1)}
    assert stock == {("A-01", 8, status), ("QA", 2, status)}


def test_released_stock_moves_again_where_it_likes(cli: Cli) -> None:
    cli.decide("hold", H1, "Cracked bosses", QUALITY)
    cli.decide("release", H1, "Within spec", SUPERVISOR)
    lines = cli.replay("CMD:MOVE\n(240)HOUSING(10)H-1(30)2\nLOC:A-02")
    assert messages(lines)[-1] == ("ok", "Moved 2 ea of lot H-1 of HOUSING A-01>A-02")


def test_a_held_serial_stops_alone_while_the_rest_of_its_lot_moves(cli: Cli) -> None:
    held = cli.decide("hold", M1, "Noisy bearing", SUPERVISOR)
    assert (held["lot"], held["serial"]) == ("VM-1", "M-1")
    lines = cli.replay("CMD:ISSUE\nJOB:J-PUMP\n(240)MOTOR(21)M-1\n(240)MOTOR(21)M-2")
    assert messages(lines)[2:] == [
        ("error", f"Serial M-1 of MOTOR is on hold by Sam Okafor on {when(held)} (Noisy bearing)"),
        ("ok", "Issued 1 ea of serial M-2 of MOTOR to J-PUMP"),
    ]
    shown = cli.json("lot", "show", *M1)
    assert (shown["status"], shown["serial_status"], shown["lot_status"]) == (
        "hold",
        "hold",
        "released",
    )


def test_a_held_lot_stops_each_of_its_serials_naming_the_lot(cli: Cli) -> None:
    held = cli.decide("hold", VM1, "Supplier recall notice", QUALITY)
    lines = cli.replay("CMD:ISSUE\nJOB:J-PUMP\n(240)MOTOR(21)M-2")
    assert messages(lines)[-1] == (
        "error",
        f"Serial M-2 of MOTOR is in lot VM-1, on hold by Quinn Lee on {when(held)}"
        " (Supplier recall notice)",
    )
    shown = cli.json("lot", "show", *VM1)
    assert shown["serials"] == [
        {"serial": "M-1", "status": "hold", "state": "in_stock", "location": "A-01"},
        {"serial": "M-2", "status": "hold", "state": "in_stock", "location": "A-01"},
    ]
    assert shown["on_hand"] == [{"location": "A-01", "qty": 2}]
    serial = cli.json("lot", "show", "--part", "MOTOR", "--serial", "M-2")
    assert (serial["status"], serial["serial_status"], serial["lot_status"]) == (
        "hold",
        "released",
        "hold",
    )


@pytest.mark.parametrize("policy", ["block", "warn"])
def test_the_expiry_policy_still_governs_an_expired_lot(cli: Cli, policy: str) -> None:
    code, _out, err = cli("settings", "set", "expiry_policy", policy)
    assert (code, err) == (0, "")
    lines = cli.replay("CMD:ISSUE\nJOB:J-HOUSING\n(240)RESIN(10)R-OLD(30)2\nCMD:OK")
    outcomes = messages(lines)
    if policy == "block":
        assert outcomes[2] == ("error", "Lot R-OLD of RESIN expired on 2026-01-01")
    else:
        assert outcomes[2][0] == "warning" and "expired" in outcomes[2][1]
        assert outcomes[3] == ("ok", "Issued 2 kg of lot R-OLD of RESIN to J-HOUSING")
    shown = cli.json("lot", "show", "--part", "RESIN", "--lot", "R-OLD")
    assert (shown["status"], shown["expiry"]) == ("expired", "2026-01-01")


# ---- what people and scripts read ----------------------------------------------------------


def test_lot_show_gives_the_whole_history_who_when_why_where_and_which_is_in_force(
    cli: Cli,
) -> None:
    held = cli.decide("hold", H1, "Cracked bosses", QUALITY)
    released = cli.decide("release", H1, "Within spec", SUPERVISOR)
    shown = cli.json("lot", "show", *H1)
    device = held["device"]
    assert shown == {
        "part": "HOUSING",
        "lot": "H-1",
        "serial": None,
        "status": "released",
        "lot_status": "released",
        "serial_status": None,
        "expiry": None,
        "history": [
            {"subject": "lot", "status": "hold", "operator": QUALITY, "name": "Quinn Lee",
             "happened_at": held["happened_at"], "reason": "Cracked bosses", "device": device,
             "current": False},
            {"subject": "lot", "status": "released", "operator": SUPERVISOR,
             "name": "Sam Okafor", "happened_at": released["happened_at"],
             "reason": "Within spec", "device": device, "current": True},
        ],
        "on_hand": [{"location": "A-01", "qty": 10}],
        "serials": [],
    }  # fmt: skip
    code, out, err = cli("lot", "show", *H1)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Lot H-1 of HOUSING: released",
        "  expiry: none",
        "Status changes:",
        f"  {when(held)}  lot on hold  Quinn Lee ({QUALITY}) on {device}: Cracked bosses",
        f"  {when(released)}  lot released  Sam Okafor ({SUPERVISOR}) on {device}: Within spec"
        "  (in force)",
        "On hand:",
        "  A-01  10 ea",
    ]


def test_stock_shows_each_lots_expiry_and_status(cli: Cli) -> None:
    cli.decide("hold", M1, "Noisy bearing", SUPERVISOR)
    rows = cli.json("stock", "--location", "A-01")
    assert [(r["part"], r["lot"], r["serial"], r["expiry"], r["status"]) for r in rows] == [
        ("HOUSING", "H-1", None, None, "released"),
        ("MOTOR", None, "M-1", None, "hold"),
        ("MOTOR", None, "M-2", None, "released"),
        ("RESIN", "R-OLD", None, "2026-01-01", "expired"),
    ]
    assert list(rows[0]) == ["part", "lot", "serial", "location", "qty", "expiry", "status"]
    _code, out, _err = cli("stock", "--part", "RESIN")
    assert out.splitlines() == [
        "PART   LOT    SERIAL  LOCATION  QTY  EXPIRY      STATUS",
        "RESIN  R-OLD  -       A-01       20  2026-01-01  expired",
    ]


def test_job_lists_the_lots_and_serials_it_consumed_and_produced(cli: Cli) -> None:
    lines = cli.replay("CMD:ISSUE\nJOB:J-PUMP\n(240)HOUSING(10)H-1(30)2\n(240)MOTOR(21)M-1")
    assert [level for level, _ in messages(lines)] == ["info", "ok", "ok", "ok"]
    short = cli.json("job", "J-PUMP")
    assert short == cli.json("jobs", "show", "J-PUMP")
    assert (short["consumed"], short["produced"]) == (
        [
            {"part": "HOUSING", "lot": "H-1", "serial": None, "qty": 2},
            {"part": "MOTOR", "lot": None, "serial": "M-1", "qty": 1},
        ],
        [],
    )
    code, out, err = cli("job", "J-PUMP")
    assert (code, err) == (0, "")
    assert "Consumed:\n  2 ea of lot H-1 of HOUSING\n  1 ea of serial M-1 of MOTOR\n" in out
    assert "Produced: nothing\n" in out


def test_a_hold_on_the_central_store_is_published_for_the_handhelds(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "central.db")
    stock_the_plant(url)
    sessions = open_migrated(url)
    with unit_of_work(sessions) as session:
        ensure_central(session)
    result = lotscan(
        "lot", "hold", *H1, "--reason", "Cracked bosses", "--by", QUALITY, "--db", url,
        home=tmp_path,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.endswith(": every handheld learns of it on its next sync\n")
    with sessions() as session:
        kinds = [(c.kind, c.key) for c in session.scalars(select(Change).order_by(Change.seq))]
        change = session.scalars(select(StatusChange)).one()
    assert kinds[-2:] == [("status_change", str(change.id)), ("lot", "HOUSING|H-1")]
    assert change.sync_state == "applied"
    sessions.kw["bind"].dispose()


# ---- the quality role ----------------------------------------------------------------------


def test_a_quality_operator_added_or_imported_holds_lots_but_reopens_no_job(cli: Cli) -> None:
    assert cli("operators", "add", "B7002", "Kim Ode", "--role", "quality")[:2] == (
        0,
        "Added Kim Ode, badge B7002 (quality): sign in by scanning OP:B7002\n",
    )
    roles = cli.home / "operators.csv"
    roles.write_text("badge,name,role\nB7003,Lee Park,quality\n")
    assert cli("import", "operators", str(roles))[0] == 0
    listed = {row["badge"]: row["role"] for row in cli.json("operators", "list")}
    assert (listed["B7002"], listed["B7003"], listed[QUALITY]) == ("quality",) * 3
    assert cli.decide("hold", H1, "Cracked bosses", "B7003")["name"] == "Lee Park"
    assert cli("jobs", "close", "J-PUMP", "--by", SUPERVISOR)[0] == 0
    assert cli("jobs", "reopen", "J-PUMP", "--by", "B7002") == (
        1,
        "",
        "lotscan: Only a supervisor can reopen job J-PUMP; Kim Ode (B7002) is not one\n",
    )
    both = cli("operators", "add", "B7004", "Al Bo", "--role", "quality", "--supervisor")
    assert both[0] == 2 and "not allowed with argument" in both[2]

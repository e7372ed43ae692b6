"""`lotscan export epcis` (docs/architecture.md, "EPCIS"): the demo's ledger and random
histories, on SQLite and PostgreSQL, as EPCIS 2.0 documents that GS1's JSON Schema accepts
with no error; each completion's inputs are the trace's direct parents; two exports of one
ledger are the same bytes; the flags select what they say and refuse what they cannot take.

The schema is GS1's `EPCIS-JSON-Schema.json`, read from `$LOTSCAN_EPCIS_SCHEMA` when that is
set, else from `../shared/data/epcis/` beside the repository (or beside the one it was cloned
from, when that is a folder on this machine); without any, the tests that
need it are skipped and say where they looked. jsonschema checks no `uri` or `date-time`
format without optional packages, so this module checks both itself (RFC 3986, RFC 3339).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scanner.db import reading, unit_of_work
from scanner.errors import LotscanError
from scanner.export_epcis import Naming, Selection, write_document
from scanner.ledger import Ledger
from scanner.models import NOT_EFFECTIVE, Movement, Part, PurchaseOrder, SyncState
from scanner.progress import Progress
from scanner.settings import SITE_GLN, SITE_URI, write_setting
from scanner.trace import trace
from scanner.workspace import sqlite_url
from tests.support import cli_in_process
from tests.support.databases import open_migrated
from tests.support.demo_workspace import build_demo, demo_copy, lotscan
from tests.support.plant import add_plant

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = "EPCIS-JSON-Schema.json"
SITE = "https://pumps.example/lotscan"
GLN = "4012345000009"
SUPPLIER_GLN = "4012345000016"


def _schema_path() -> Path | None:
    configured = os.environ.get("LOTSCAN_EPCIS_SCHEMA")
    if configured:
        return Path(configured)
    for repository in (ROOT, _origin()):
        if repository is not None and _beside(repository).exists():
            return _beside(repository)
    return None


def _beside(repository: Path) -> Path:
    return repository.parent / "shared" / "data" / "epcis" / SCHEMA_FILE


def _origin() -> Path | None:
    """The repository this one was cloned from, when that is a folder on this machine: a
    clean clone made elsewhere for CI still finds the schema beside the original."""
    found = subprocess.run(
        ["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not found or ("://" in found and not found.startswith("file://")):
        return None
    path = Path(found.removeprefix("file://"))
    return path if path.is_dir() else None


@cache
def _validator() -> jsonschema.Draft7Validator:
    path = _schema_path()
    if path is None:
        pytest.skip(
            f"GS1's EPCIS JSON Schema is not here: set LOTSCAN_EPCIS_SCHEMA to its file, or put "
            f"it at {_beside(ROOT)} (or beside the repository this one was cloned from)"
        )
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    checker = jsonschema.FormatChecker()
    checker.checks("uri")(_is_uri)
    checker.checks("date-time")(_is_date_time)
    return jsonschema.Draft7Validator(schema, format_checker=checker)


_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)
_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)", re.IGNORECASE
)


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if _DATE_TIME.fullmatch(value) is None:
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _validator().iter_errors(document)
    ]


def test_the_format_checks_catch_what_they_check() -> None:
    """The controls: a document broken in each way the schema checks is refused."""
    good = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-02T10:15:00.000Z",
        "epcisBody": {"eventList": [{
            "type": "ObjectEvent", "eventTime": "2026-03-02T09:58:12.000Z",
            "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
            "quantityList": [{"epcClass": f"{SITE}/part/X/lot/L%201", "quantity": 2}],
        }]},
    }  # fmt: skip
    assert schema_errors(good) == []
    event = good["epcisBody"]["eventList"][0]  # type: ignore[index]
    for key, bad in [
        ("quantityList", [{"epcClass": "not a uri", "quantity": 2}]),
        ("quantityList", [{"epcClass": f"{SITE}/part/X/lot/L 1"}]),
        ("eventTime", "2026-03-02 09:58"),
        ("action", "MOVE"),
    ]:
        broken = json.loads(json.dumps(good))
        broken["epcisBody"]["eventList"][0][key] = bad
        assert schema_errors(broken), (key, bad)
    assert event["action"] == "OBSERVE"


# ---- the demo, through the command line -------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("epcis-demo"))


@pytest.fixture
def demo_db(demo: Path, tmp_path: Path) -> str:
    url = demo_copy(demo, tmp_path)
    _set(url, "site.uri", SITE, home=tmp_path)
    return url


def _set(url: str, name: str, value: str, *, home: Path) -> None:
    done = cli_in_process.lotscan("--db", url, "settings", "set", name, value, home=home)
    assert done.returncode == 0, done.stderr


def export(url: str, output: Path, *flags: str, home: Path) -> dict[str, Any]:
    """The document `lotscan export epcis` writes, the command run in the test's process
    (tests/support/cli_in_process.py); the refusals below run it as a subprocess."""
    done = cli_in_process.lotscan(
        "--db", url, "export", "epcis", *flags, "-o", str(output), home=home
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress line when standard error is not a terminal
    document: dict[str, Any] = json.loads(output.read_text(encoding="ascii"))
    assert done.stdout.startswith(f"Wrote {len(events(document)):,} EPCIS events to {output}")
    return document


def events(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = document["epcisBody"]["eventList"]
    return found


def test_the_demo_exports_as_a_valid_document_of_every_movement(
    demo_db: str, tmp_path: Path
) -> None:
    document = export(demo_db, tmp_path / "demo.jsonld", home=tmp_path)
    assert schema_errors(document) == []
    sessions = open_migrated(demo_db)
    with reading(sessions) as session:
        check_every_movement(session, document)
        compared = check_inputs_are_direct_parents(session, document, Naming(SITE))
    assert compared >= 3
    kinds = {(e["type"], e.get("bizStep")) for e in events(document)}
    assert {("ObjectEvent", "receiving"), ("ObjectEvent", "shipping"),
            ("ObjectEvent", "storing"), ("TransformationEvent", "commissioning"),
            ("TransformationEvent", None)} <= kinds  # fmt: skip
    assert any("errorDeclaration" in e for e in events(document))
    sessions.kw["bind"].dispose()


def test_exporting_twice_gives_the_same_bytes(demo_db: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonld", tmp_path / "second.jsonld"
    export(demo_db, first, home=tmp_path)
    export(demo_db, second, home=tmp_path)
    assert first.read_bytes() == second.read_bytes()
    document = json.loads(first.read_bytes())
    times = [e["eventTime"] for e in events(document)]
    times += [e["recordTime"] for e in events(document) if "recordTime" in e]
    times += [e["errorDeclaration"]["declarationTime"] for e in events(document)
              if "errorDeclaration" in e]  # fmt: skip
    assert document["creationDate"] == max(times)


def test_since_and_until_take_the_days_between_them(demo_db: str, tmp_path: Path) -> None:
    whole = events(export(demo_db, tmp_path / "all.jsonld", home=tmp_path))
    days = sorted({e["eventTime"][:10] for e in whole})
    assert len(days) >= 4
    since, until = days[1], days[-2]
    window = export(
        demo_db, tmp_path / "window.jsonld", "--since", since, "--until", until, home=tmp_path
    )
    assert schema_errors(window) == []
    expected = [e for e in whole if since <= _day_of(e) <= until]
    assert events(window) == expected
    assert 0 < len(expected) < len(whole)


def _day_of(event: dict[str, Any]) -> str:
    """The UTC day of the movement the event is of: a reversal's is when it was declared."""
    declared = event.get("errorDeclaration")
    return str(declared["declarationTime"] if declared else event["eventTime"])[:10]


def test_part_and_lot_take_that_part_or_lot_only(demo_db: str, tmp_path: Path) -> None:
    sessions = open_migrated(demo_db)
    with reading(sessions) as session:
        part, lot = session.execute(
            select(Movement.part, Movement.lot).where(Movement.kind == "issue",
                                                      Movement.lot.is_not(None)).limit(1)
        ).one()  # fmt: skip
        of_part = {
            str(i) for i in session.scalars(select(Movement.id).where(Movement.part == part))
        }
        of_lot = {
            str(i)
            for i in session.scalars(
                select(Movement.id).where(Movement.part == part, Movement.lot == lot)
            )
        }
    sessions.kw["bind"].dispose()
    by_part = export(demo_db, tmp_path / "part.jsonld", "--part", part, home=tmp_path)
    by_lot = export(
        demo_db, tmp_path / "lot.jsonld", "--part", part, "--lot", lot.lower(), home=tmp_path
    )
    assert schema_errors(by_part) == [] and schema_errors(by_lot) == []
    assert {_movement_of(e) for e in events(by_part)} == of_part
    assert {_movement_of(e) for e in events(by_lot)} == of_lot
    assert len(of_lot) < len(of_part)


def _movement_of(event: dict[str, Any]) -> str:
    """The id of the movement an event is of (the original's for a declaration is not)."""
    return str(event["eventID"]).removeprefix("urn:uuid:")


@pytest.mark.parametrize(
    ("flags", "words", "status"),
    [
        (["--part", "NO-SUCH"], "Unknown part NO-SUCH", 1),
        (["--part", "GP-10", "--lot", "NO-SUCH"], "No lot NO-SUCH of GP-10", 1),
        (["--lot", "GP10-0415"], "--lot needs --part", 1),
        (["--since", "2026-11-20", "--until", "2026-11-10"], "is after --until", 1),
        (["--since", "2026-13-01"], "'2026-13-01' is not a date (YYYY-MM-DD)", 2),
        (["--until", "yesterday"], "'yesterday' is not a date (YYYY-MM-DD)", 2),
        # Python reads these as days too; a person meant YYYY-MM-DD (probe)
        (["--since", "20261101"], "'20261101' is not a date (YYYY-MM-DD)", 2),
        (["--until", "2026-W44-1"], "'2026-W44-1' is not a date (YYYY-MM-DD)", 2),
        (
            ["--until", "9999-12-31"],
            "9999-12-31 is not a day lotscan keeps (it keeps 1900-01-01 to 2999-12-31)",
            2,
        ),
    ],
)
def test_flags_it_cannot_take_are_refused(
    demo_db: str, tmp_path: Path, flags: list[str], words: str, status: int
) -> None:
    output = tmp_path / "out.jsonld"
    done = lotscan("--db", demo_db, "export", "epcis", *flags, "-o", str(output), home=tmp_path)
    assert done.returncode == status
    assert words in done.stderr
    assert not output.exists()


def test_standard_output_is_no_place_for_an_export(demo_db: str, tmp_path: Path) -> None:
    done = lotscan("--db", demo_db, "export", "epcis", "-o", "-", home=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "lotscan: An export is written to a file, whole or not at all: name it"
        " (-o FILE.jsonld), not - (standard output)\n"
    )
    assert not Path("-").exists()


def test_an_output_in_a_missing_folder_is_refused(demo_db: str, tmp_path: Path) -> None:
    output = tmp_path / "no-such-folder" / "out.jsonld"
    done = lotscan("--db", demo_db, "export", "epcis", "-o", str(output), home=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (f"lotscan: Cannot write {output}: there is no folder {output.parent}\n")
    assert not output.parent.exists()


def test_without_a_site_uri_it_says_how_to_set_one(demo: Path, tmp_path: Path) -> None:
    url = demo_copy(demo, tmp_path)
    reset = lotscan("--db", url, "settings", "reset", "site.uri", home=tmp_path)
    assert reset.returncode == 0, reset.stderr
    output = tmp_path / "out.jsonld"
    done = lotscan("--db", url, "export", "epcis", "-o", str(output), home=tmp_path)
    assert done.returncode == 1
    assert "lotscan settings set site.uri" in done.stderr
    assert not output.exists()


def test_a_failed_export_leaves_no_half_file(demo_db: str, tmp_path: Path) -> None:
    """A unit of measure without a UN/ECE code is found midway: the file that was there
    stays as it was, and nothing else is left in the folder."""
    output = tmp_path / "out.jsonld"
    output.write_text("before", encoding="ascii")
    sessions = open_migrated(demo_db)
    with unit_of_work(sessions) as session:
        session.execute(update(Part).where(Part.number == "OIL-HM46").values(uom="drum"))
    sessions.kw["bind"].dispose()
    before = sorted(p.name for p in tmp_path.iterdir())
    done = lotscan("--db", demo_db, "export", "epcis", "-o", str(output), home=tmp_path)
    assert done.returncode == 1
    assert 'OIL-HM46\'s unit of measure "drum" has no UN/ECE code' in done.stderr
    assert output.read_text(encoding="ascii") == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ---- a history on SQLite and PostgreSQL, through the command line ----------------------


class Ticking:
    """A clock a minute further on at each reading, from 2026-11-02 08:00 UTC."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def _plant_with_keys(session: Session) -> None:
    """The test plant, with GTINs on the finished parts and GLNs on the site and a supplier."""
    add_plant(session)
    session.execute(update(Part).where(Part.number == "PUMP").values(gtin="04012345000207"))
    session.execute(update(Part).where(Part.number == "HOUSING").values(gtin="04012345000108"))
    session.execute(
        update(PurchaseOrder)
        .where(PurchaseOrder.number == "PO-1")
        .values(supplier_gln=SUPPLIER_GLN)
    )
    write_setting(session, SITE_URI, SITE)
    write_setting(session, SITE_GLN, GLN)


def _every_kind(ledger: Ledger) -> dict[str, Movement]:
    done: dict[str, Movement] = {}
    done["resin"] = ledger.receive(
        "RESIN", "40.5", "RCV", lot="R-1", po="PO-1", expiry=date(2027, 5, 1)
    )
    done["pigment"] = ledger.receive("PIGMENT", 3, "RCV", lot="PG/1%2?")
    done["motor"] = ledger.receive("MOTOR", 1, "RCV", serial="M-1", po="PO-1")
    done["bolts"] = ledger.receive("BOLT", 100, "A-01")
    done["move"] = ledger.move("RESIN", 30, "A-01", lot="R-1", from_location="RCV")
    done["issue resin"] = ledger.issue_to_job(
        "J-HOUSING", "RESIN", 20, lot="R-1", from_location="A-01"
    )
    done["issue pigment"] = ledger.issue_to_job("J-HOUSING", "PIGMENT", 2, lot="PG/1%2?")
    done["housings"] = ledger.produce("J-HOUSING", 8, "A-02", lot="H-1", expiry=date(2027, 1, 31))
    done["wrong"] = ledger.produce("J-HOUSING", 1, "A-02", lot="H-1")
    ledger.reverse(done["wrong"].id, reason="counted twice")
    done["issue housing"] = ledger.issue_to_job("J-PUMP", "HOUSING", 1, lot="H-1")
    done["issue motor"] = ledger.issue_to_job("J-PUMP", "MOTOR", 1, serial="M-1")
    done["issue bolts"] = ledger.issue_to_job("J-PUMP", "BOLT", 4, from_location="A-01")
    done["pump"] = ledger.produce("J-PUMP", 1, "LINE", serial="P-1")
    done["ship pump"] = ledger.ship("SO-1", "PUMP", 1, serial="P-1")
    done["ship housings"] = ledger.ship("SO-2", "HOUSING", 4, lot="H-1")
    done["ship bolts"] = ledger.ship("SO-1", "BOLT", 10, line=2, lot="SHIP-1")
    done["back"] = ledger.return_from_customer("HOUSING", 1, "A-01", lot="H-1", so="SO-2")
    done["to supplier"] = ledger.return_to_supplier(
        "RESIN", 2, lot="R-1", po="PO-1", from_location="A-01"
    )
    done["found"] = ledger.adjust("BOLT", 5, "A-01", reason="count")
    done["missing"] = ledger.adjust("RESIN", "-0.5", "A-01", lot="R-1", reason="spilt")
    return done


def test_every_kind_of_movement_on_sqlite_and_postgresql(db_url: str, tmp_path: Path) -> None:
    sessions = open_migrated(db_url)
    with unit_of_work(sessions) as session:
        _plant_with_keys(session)
        done = _every_kind(Ledger(session, Ticking()))
        # A movement the store held is a record of a scan, not a fact: it is left out.
        session.execute(
            update(Movement).where(Movement.id == done["found"].id).values(sync_state="held")
        )
    document = export(db_url, tmp_path / "plant.jsonld", home=tmp_path)
    assert schema_errors(document) == []
    with reading(sessions) as session:
        check_every_movement(session, document)
        assert check_inputs_are_direct_parents(session, document, Naming(SITE, GLN)) == 3
    sessions.kw["bind"].dispose()
    by_id = {e["eventID"]: e for e in events(document) if "errorDeclaration" not in e}

    def event(name: str) -> dict[str, Any]:
        return by_id[f"urn:uuid:{done[name].id}"]

    assert f"urn:uuid:{done['found'].id}" not in by_id
    resin = event("resin")
    assert resin["quantityList"] == [
        {"epcClass": f"{SITE}/part/RESIN/lot/R-1", "quantity": 40.5, "uom": "KGM"}
    ]
    assert resin["readPoint"] == {"id": f"https://id.gs1.org/414/{GLN}/254/RCV"}
    assert resin["sourceList"][0] == {
        "type": "owning_party", "source": f"https://id.gs1.org/417/{SUPPLIER_GLN}"
    }  # fmt: skip
    assert resin["destinationList"][0]["destination"] == f"https://id.gs1.org/417/{GLN}"
    assert resin["bizTransactionList"] == [{"type": "po", "bizTransaction": f"{SITE}/po/PO-1"}]
    assert (
        event("pigment")["quantityList"][0]["epcClass"] == f"{SITE}/part/PIGMENT/lot/PG%2F1%252%3F"
    )
    assert event("motor")["epcList"] == [f"{SITE}/part/MOTOR/serial/M-1"]
    assert event("move")["sourceList"] == [
        {"type": "location", "source": f"https://id.gs1.org/414/{GLN}/254/RCV"}
    ]
    housings = event("housings")
    assert housings["outputQuantityList"] == [
        {"epcClass": "https://id.gs1.org/01/04012345000108/10/H-1", "quantity": 8}
    ]
    assert housings["inputQuantityList"] == [
        {"epcClass": f"{SITE}/part/PIGMENT/lot/PG%2F1%252%3F"},
        {"epcClass": f"{SITE}/part/RESIN/lot/R-1"},
    ]
    assert housings["ilmd"] == {"cbvmda:itemExpirationDate": "2027-01-31"}
    assert housings["transformationID"] == f"{SITE}/job/J-HOUSING"
    assert event("issue resin")["inputQuantityList"] == [
        {"epcClass": f"{SITE}/part/RESIN/lot/R-1", "quantity": 20, "uom": "KGM"}
    ]
    pump = event("pump")
    assert pump["outputEPCList"] == ["https://id.gs1.org/01/04012345000207/21/P-1"]
    assert pump["inputEPCList"] == [f"{SITE}/part/MOTOR/serial/M-1"]
    assert event("ship pump")["destinationList"][0] == {
        "type": "owning_party", "destination": f"{SITE}/customer/Hydro%20Systems"
    }  # fmt: skip
    assert event("ship bolts")["quantityList"][0]["epcClass"] == f"{SITE}/part/BOLT/lot/SHIP-1"
    assert event("back")["disposition"] == "returned"
    assert event("to supplier")["bizStep"] == "shipping"
    assert (event("missing")["action"], event("missing")["quantityList"][0]["quantity"]) == (
        "DELETE", 0.5
    )  # fmt: skip
    declared = [e for e in events(document) if "errorDeclaration" in e]
    assert len(declared) == 1
    original = event("wrong")
    assert {
        k: v for k, v in declared[0].items() if k not in ("errorDeclaration", "recordTime")
    } == {k: v for k, v in original.items() if k != "recordTime"}
    assert declared[0]["errorDeclaration"]["reason"] == "did_not_occur"
    assert declared[0]["errorDeclaration"]["declarationTime"] > original["eventTime"]


# ---- random histories, in the process ---------------------------------------------------

LOTS = st.sampled_from(["R-1", "R-2"])
HOUSINGS = st.sampled_from(["H-1", "H-2"])
MOTORS = st.sampled_from(["M-1", "M-2"])
PUMPS = st.sampled_from(["P-1", "P-2"])
PLACES = st.sampled_from(["RCV", "A-01", "A-02", "LINE"])
AMOUNTS = st.sampled_from([Decimal(1), Decimal(3), Decimal("2.5"), Decimal(12)])

Operation = Callable[[Ledger, list[uuid.UUID]], object]
OPERATIONS: st.SearchStrategy[Operation] = st.one_of(
    st.builds(lambda lot, q, at: lambda led, _: led.receive("RESIN", q, at, lot=lot, po="PO-1"),
              LOTS, AMOUNTS, PLACES),
    st.builds(lambda s, at: lambda led, _: led.receive("MOTOR", 1, at, serial=s), MOTORS, PLACES),
    st.builds(lambda q, at: lambda led, _: led.receive("BOLT", q, at), AMOUNTS, PLACES),
    st.builds(lambda lot, q, at: lambda led, _: led.issue_to_job("J-HOUSING", "RESIN", q, lot=lot,
                                                                 from_location=at),
              LOTS, AMOUNTS, PLACES),
    st.builds(lambda lot, q, at: lambda led, _: led.issue_to_job("J-PUMP", "HOUSING", q, lot=lot,
                                                                 from_location=at),
              HOUSINGS, AMOUNTS, PLACES),
    st.builds(lambda s: lambda led, _: led.issue_to_job("J-PUMP", "MOTOR", 1, serial=s), MOTORS),
    st.builds(lambda q, at: lambda led, _: led.issue_to_job("J-PUMP", "BOLT", q, from_location=at),
              AMOUNTS, PLACES),
    st.builds(lambda lot, q, at: lambda led, _: led.produce("J-HOUSING", q, at, lot=lot),
              HOUSINGS, AMOUNTS, PLACES),
    st.builds(lambda s, at: lambda led, _: led.produce("J-PUMP", 1, at, serial=s), PUMPS, PLACES),
    st.builds(lambda lot, q, at: lambda led, _: led.ship("SO-2", "HOUSING", q, lot=lot,
                                                         from_location=at),
              HOUSINGS, AMOUNTS, PLACES),
    st.builds(lambda s: lambda led, _: led.ship("SO-1", "PUMP", 1, serial=s), PUMPS),
    st.builds(lambda lot, q, at, source: lambda led, _: led.move("RESIN", q, at, lot=lot,
                                                                  from_location=source),
              LOTS, AMOUNTS, PLACES, PLACES),
    st.builds(lambda lot, q, at: lambda led, _: led.adjust("RESIN", q, at, lot=lot, reason="count"),
              LOTS, st.sampled_from([Decimal(2), Decimal(-1)]), PLACES),
    st.builds(lambda lot, q, at: lambda led, _: led.return_from_customer("HOUSING", q, at, lot=lot),
              HOUSINGS, AMOUNTS, PLACES),
    st.builds(lambda lot, q, at: lambda led, _: led.return_to_supplier("RESIN", q, lot=lot,
                                                                       po="PO-1", from_location=at),
              LOTS, AMOUNTS, PLACES),
    st.builds(lambda n: lambda led, done: led.reverse(done[n % len(done)], reason="oops")
              if done else None, st.integers(0, 50)),
)  # fmt: skip


START: list[Operation] = [
    lambda led, _: led.receive("RESIN", 20, "A-01", lot="R-1", po="PO-1"),
    lambda led, _: led.receive("MOTOR", 1, "RCV", serial="M-1"),
    lambda led, _: led.issue_to_job("J-HOUSING", "RESIN", 10, lot="R-1"),
    lambda led, _: led.issue_to_job("J-PUMP", "MOTOR", 1, serial="M-1"),
]
"""A start with components on both jobs, so that completions link inputs more often."""


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("epcis-random")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(history=st.lists(OPERATIONS, min_size=5, max_size=50), gln=st.booleans())
def test_random_histories_export_as_valid_documents(
    scratch: Path, history: list[Operation], gln: bool
) -> None:
    folder = scratch / uuid.uuid4().hex
    folder.mkdir()
    sessions = open_migrated(sqlite_url(folder / "lotscan.db"))
    clock = Ticking()
    try:
        with unit_of_work(sessions) as session:
            _plant_with_keys(session)
            if not gln:
                session.execute(update(PurchaseOrder).values(supplier_gln=None))
        recorded: list[uuid.UUID] = []
        for operation in [*START, *history]:
            try:
                with unit_of_work(sessions) as session:
                    made = operation(Ledger(session, clock), recorded)
            except LotscanError:
                continue
            if isinstance(made, Movement):
                recorded.append(made.id)
        naming = Naming(SITE, GLN if gln else None)
        with reading(sessions) as session:
            document = _document(session, naming)
            assert schema_errors(document) == []
            check_every_movement(session, document)
            check_inputs_are_direct_parents(session, document, naming)
            assert _document(session, naming) == document
    finally:
        sessions.kw["bind"].dispose()
        shutil.rmtree(folder)


def _document(session: Session, naming: Naming) -> dict[str, Any]:
    stream = io.StringIO()
    write_document(session, naming, Selection(), stream, Progress("events", io.StringIO()))
    document: dict[str, Any] = json.loads(stream.getvalue())
    return document


# ---- what every export must say ---------------------------------------------------------


def check_every_movement(session: Session, document: dict[str, Any]) -> None:
    """One event a movement that counts, named by its id, in ledger order; a reversal is
    the event it undoes (same id) with an error declaration, after it."""
    rows = session.execute(
        select(Movement.id, Movement.kind, Movement.reverses, Movement.sync_state).order_by(
            Movement.happened_at, Movement.id
        )
    ).all()
    counted = {row.id for row in rows if row.sync_state not in NOT_EFFECTIVE}
    expected = [
        f"urn:uuid:{row.reverses if row.kind == 'reverse' else row.id}"
        for row in rows
        if row.id in counted and (row.kind != "reverse" or row.reverses in counted)
    ]
    assert [e["eventID"] for e in events(document)] == expected
    seen: set[str] = set()
    for each in events(document):
        if "errorDeclaration" in each:
            assert each["eventID"] in seen
        else:
            assert each["eventID"] not in seen
            seen.add(each["eventID"])
    assert SyncState.HELD.value in NOT_EFFECTIVE


def check_inputs_are_direct_parents(
    session: Session, document: dict[str, Any], naming: Naming
) -> int:
    """Each completion's inputs are its output's direct parents by that job in the trace,
    wherever that job still made the output (an undone completion's may not be); returns
    how many were compared."""
    gtins = dict(session.execute(select(Part.number, Part.gtin)).tuples().all())
    compared = 0
    for each in events(document):
        if each["type"] != "TransformationEvent" or "errorDeclaration" in each:
            continue
        if "outputQuantityList" not in each and "outputEPCList" not in each:
            continue
        movement = session.get(Movement, uuid.UUID(_movement_of(each)))
        assert movement is not None and movement.kind == "produce"
        made = trace(session, movement.part, lot=None if movement.serial else movement.lot,
                     serial=movement.serial)  # fmt: skip
        if not any(j.job == movement.job and j.role == "produced" for j in made.jobs):
            continue
        parents = {
            naming.serial(p.part, gtins[p.part], p.serial)
            if p.serial
            else naming.item_class(p.part, gtins[p.part], p.lot)
            for p in made.backward
            if p.depth == 1 and p.job == movement.job
        }
        inputs = set(each.get("inputEPCList", [])) | {
            element["epcClass"] for element in each.get("inputQuantityList", [])
        }
        assert inputs == parents, movement.id
        compared += 1
    return compared

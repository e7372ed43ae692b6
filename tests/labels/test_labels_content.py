"""Labels built from the database and from what the workflows say is due, and layouts from
a site's own files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from labels.compose import compose
from labels.content import (
    LabelKind,
    label_for_assembly,
    label_for_due,
    label_for_location,
    label_for_lot,
    label_for_serial,
)
from labels.errors import LabelError, LayoutError
from labels.images import to_png
from labels.layout import LAYOUTS, TextRow, layout_named
from scanner.db import reading, unit_of_work
from scanner.decode import decode_image
from scanner.errors import NotFound, RuleViolation
from scanner.ledger import Ledger
from scanner.models import Part
from scanner.scan import scan_config
from scanner.settings import SCAN_PREFIX_LOCATION, write_setting
from tests.labels.test_labels import decode, merged_items
from tests.support.builders import add_job, add_location, add_part
from tests.support.transcripts import Floor

GTIN = "09506000134352"


@pytest.fixture
def plant(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> Iterator[sessionmaker[Session]]:
    """A GTIN part received in a lot with an expiry, a serial part received in a lot, a
    location, and a job making a lot-tracked assembly."""
    with unit_of_work(sessions) as session:
        hose = add_part(session, "HOSE-12", description="Hydraulic hose 1/2 in")
        hose.gtin = GTIN
        add_part(session, "MOTOR", "serial", description="0.75 kW motor")
        add_part(session, "HOUSING", description="Pump housing")
        add_location(session, "A-01")
        add_job(session, "J-1", "HOUSING", 10)
        add_job(session, "J-2", "HOUSING", 5)
        ledger = Ledger(session, clock)
        ledger.receive("HOSE-12", 40, "A-01", lot="HS-1", expiry=date(2027, 3, 31))
        ledger.receive("HOSE-12", 10, "A-01", lot="HS-2")
        ledger.receive("MOTOR", 1, "A-01", lot="ML-7", serial="M-0001", expiry=date(2030, 1, 1))
        ledger.assign_lot("J-1", "H-0001", expiry=date(2027, 6, 30))
    yield sessions


def test_a_lot_label_carries_the_lots_expiry_and_the_containers_count(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    with reading(plant) as session:
        label = label_for_lot(session, "HOSE-12", "HS-1", qty=20)
    assert (label.kind, label.gtin, label.expiry, label.qty) == (
        LabelKind.LOT,
        GTIN,
        date(2027, 3, 31),
        Decimal(20),
    )
    assert label.description == "Hydraulic hose 1/2 in" and label.uom == "ea"
    item = merged_items(decode(compose(label, LAYOUTS["4x2-203"]), tmp_path / "lot.png"))
    assert item["ai"] == {"01": GTIN, "17": "270331", "10": "HS-1", "30": "20"}


def test_an_expiry_may_fill_in_a_lot_that_has_none_but_never_contradict_one(
    plant: sessionmaker[Session],
) -> None:
    with reading(plant) as session:
        assert label_for_lot(session, "HOSE-12", "HS-2", expiry=date(2028, 1, 1)).expiry == date(
            2028, 1, 1
        )
        with pytest.raises(RuleViolation, match="Lot HS-1 of HOSE-12 expires 2027-03-31, not"):
            label_for_lot(session, "HOSE-12", "HS-1", expiry=date(2028, 1, 1))


@pytest.mark.parametrize(
    ("part", "lot", "qty", "error", "message"),
    [
        ("NOPE", "HS-1", None, NotFound, "Unknown part NOPE"),
        ("HOSE-12", "HS-9", None, NotFound, "Unknown lot HS-9 of HOSE-12"),
        ("HOSE-12", "HS-1", 0, RuleViolation, "must be more than zero"),
        ("HOSE-12", "HS-1", "2.0001", RuleViolation, "more than three decimal places"),
    ],
)
def test_a_lot_label_for_something_that_is_not_there_is_refused(
    plant: sessionmaker[Session],
    part: str,
    lot: str,
    qty: int | str | None,
    error: type[Exception],
    message: str,
) -> None:
    with reading(plant) as session, pytest.raises(error, match=message):
        label_for_lot(session, part, lot, qty=qty)


def test_a_serial_label_shows_its_lot_and_encodes_its_serial(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    with reading(plant) as session:
        label = label_for_serial(session, "MOTOR", "M-0001")
        with pytest.raises(NotFound, match="Unknown serial M-9 of MOTOR"):
            label_for_serial(session, "MOTOR", "M-9")
    drawing = compose(label, LAYOUTS["4x2-203"])
    assert {"S/N M-0001", "LOT ML-7", "EXP 2030-01-01"} <= {t.text for t in drawing.texts}
    item = merged_items(decode(drawing, tmp_path / "serial.png"))
    assert item["ai"] == {"240": "MOTOR", "17": "300101", "21": "M-0001"}


def test_a_location_label_carries_the_sites_own_prefix(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    with unit_of_work(plant) as session:
        write_setting(session, SCAN_PREFIX_LOCATION, "BIN:")
    with reading(plant) as session:
        label = label_for_location(session, "A-01")
        config = scan_config(session)
        with pytest.raises(NotFound, match="Unknown location Z-9"):
            label_for_location(session, "Z-9")
    path = tmp_path / "location.png"
    path.write_bytes(to_png(compose(label, LAYOUTS["4x2-203"])))
    (found,) = decode_image(path, config)
    assert found.data == "BIN:A-01"
    assert found.scan is not None and found.scan.as_json() == {"kind": "location", "value": "A-01"}


def test_an_assembly_label_is_the_jobs_pre_assigned_lot(
    plant: sessionmaker[Session], clock: Callable[[], datetime], tmp_path: Path
) -> None:
    with reading(plant) as session:
        label = label_for_assembly(session, "J-1")
        with pytest.raises(NotFound, match="Job J-2 has no lot assigned yet"):
            label_for_assembly(session, "J-2")
        with pytest.raises(NotFound, match="Unknown job J-9"):
            label_for_assembly(session, "J-9")
    assert (label.kind, label.part, label.lot, label.job, label.expiry) == (
        LabelKind.ASSEMBLY,
        "HOUSING",
        "H-0001",
        "J-1",
        date(2027, 6, 30),
    )
    drawing = compose(label, LAYOUTS["4x6-203"])
    assert "JOB J-1" in {t.text for t in drawing.texts}
    item = merged_items(decode(drawing, tmp_path / "assembly.png"))
    assert item["ai"] == {"240": "HOUSING", "17": "270630", "10": "H-0001"}
    with unit_of_work(plant) as session:
        Ledger(session, clock).assign_lot("J-1", "H-0002")
    with reading(plant) as session:
        with pytest.raises(RuleViolation, match="Job J-1 has lots H-0001, H-0002: say which"):
            label_for_assembly(session, "J-1")
        assert label_for_assembly(session, "J-1", lot="H-0002").lot == "H-0002"


def test_a_part_without_a_gtin_whose_number_a_label_cannot_carry_is_refused_when_asked(
    plant: sessionmaker[Session],
) -> None:
    with unit_of_work(plant) as session:
        part = session.get(Part, "HOSE-12")
        assert part is not None
        part.gtin = None
        add_part(session, "BAD PART")
        Ledger(session).receive("BAD PART", 1, "A-01", lot="L1")
    with reading(plant) as session, pytest.raises(LabelError, match="give BAD PART a GTIN"):
        label_for_lot(session, "BAD PART", "L1")


def test_the_labels_the_workflows_make_due_print_and_read_back(
    floor: Floor, tmp_path: Path
) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(10)R-1(30)20
        (240)MOTOR(21)M-1
        CMD:ASSIGN
        JOB:J-HOUSING
        H-0001
    """)
    due = [label for step in steps for label in step.response.labels]
    assert [label.kind for label in due] == ["lot", "serial", "assembly"]
    with floor.session() as session:
        labels = [label_for_due(session, label) for label in due]
    read = [
        merged_items(decode(compose(label, LAYOUTS["4x2-203"]), tmp_path / f"{n}.png"))
        for n, label in enumerate(labels)
    ]
    assert [item["ai"] for item in read] == [
        {"240": "RESIN", "17": "270501", "10": "R-1", "30": "20"},  # 180 days' shelf life
        {"240": "MOTOR", "21": "M-1"},
        {"240": "HOUSING", "10": "H-0001"},
    ]
    assert labels[2].job == "J-HOUSING"


# ---- layouts -------------------------------------------------------------------------------


def test_a_site_layout_file_changes_a_built_in_one(tmp_path: Path) -> None:
    path = tmp_path / "dock.json"
    path.write_text(
        json.dumps(
            {
                "based_on": "4x6-300",
                "margin": 0.2,
                "module": 5,
                "rows": [{"fields": ["part", "quantity"], "size": 0.4, "bold": True}],
            }
        )
    )
    layout = layout_named(str(path))
    assert (layout.name, layout.dpi, layout.height, layout.margin, layout.module) == (
        "dock",
        300,
        6.0,
        0.2,
        5,
    )
    assert layout.rows == (TextRow(("part", "quantity"), 0.4, bold=True),)


def test_a_toml_layout_starts_from_the_default_stock(tmp_path: Path) -> None:
    path = tmp_path / "bins.toml"
    path.write_text(
        'dpi = 300\nmodule = 4\nmin_module = 3\nrows = [{fields = ["location"], size = 1}]\n'
    )
    layout = layout_named(str(path))
    assert (layout.width, layout.height, layout.dpi, layout.rows[0].size) == (4.0, 2.0, 300, 1.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"colour": "red"}', "unknown setting colour"),
        ('{"dpi": "fine"}', "dpi should be a whole number, not 'fine'"),
        ('{"module": 1, "min_module": 2}', "min_module must be at least 1 and at most module"),
        ('{"based_on": "A4"}', "based_on 'A4' is not one of 4x2-203"),
        ('{"rows": [{"fields": ["price"], "size": 0.2}]}', "row 1: A row shows one or more of"),
        ('{"rows": [{"fields": "part"}]}', "row 1 should have fields"),
        ("[1, 2]", "should be a table of settings"),
        ("{nope", "is not valid JSON"),
    ],
)
def test_a_wrong_layout_file_says_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "site.json"
    path.write_text(content)
    with pytest.raises(LayoutError, match=message):
        layout_named(str(path))


def test_an_unknown_layout_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="Unknown layout 5x5: use one of 4x2-203, 4x2-300"):
        layout_named("5x5")
    with pytest.raises(LayoutError, match="Cannot read layout"):
        layout_named(str(tmp_path / "missing.toml"))

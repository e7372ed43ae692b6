"""Trace: backwards to the supplier receipts, forwards to the customer shipments
(docs/architecture.md, "Genealogy"), on SQLite and PostgreSQL. All history is recorded
through the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.errors import NotFound
from scanner.ledger import Ledger
from scanner.stock import StockRow
from scanner.trace import (
    GoodsReturn,
    Receipt,
    Relative,
    Shipment,
    Trace,
    format_trace,
    trace,
)
from tests.support.builders import add_job, add_location, add_part, add_po, add_so

ROOT = Path(__file__).resolve().parents[2]
Clock = Callable[[], datetime]


@dataclass
class Plant:
    """A factory's history, and the movements tests undo by name."""

    sessions: sessionmaker[Session]
    clock: Clock
    movements: dict[str, uuid.UUID]

    def trace(self, part: str, lot: str | None = None, serial: str | None = None) -> Trace:
        with self.sessions() as session:
            return trace(session, part, lot=lot, serial=serial)

    def reverse(self, name: str) -> None:
        with unit_of_work(self.sessions) as session:
            Ledger(session, self.clock).reverse(self.movements[name], reason="scanned in error")


@pytest.fixture
def plant(sessions: sessionmaker[Session], clock: Clock) -> Plant:
    """Resin lots R1, R2 and dye lot D1 (from suppliers) are mixed into compound lot C1 by job
    J-MIX; C1 and 4 untracked screws are moulded into housing lot H1 by J-MOLD; H1 ships 60 to
    Northwind and 30 to Contoso, 10 stay at FG. Unrelated: steel lot ST1 is made into screws
    (J-SCREW), and screws into housing lot H2 (J-OTHER).

    Serials: motors M1, M2 (supplier lot VM-1) go into pumps P1 (J-P1) and P2 (J-P2); P1 goes
    into skid K1 (J-SKID), which ships to Initech; P2 ships to Globex."""
    movements: dict[str, uuid.UUID] = {}
    with unit_of_work(sessions) as session:
        for code in ("DOCK", "STORE", "FG"):
            add_location(session, code)
        for number in ("RESIN", "DYE", "COMPOUND", "HOUSING", "STEEL"):
            add_part(session, number, "lot")
        for number in ("MOTOR", "PUMP", "SKID"):
            add_part(session, number, "serial")
        add_part(session, "SCREW", "none")
        add_po(session, "PO-1", "Acme Resins", ("RESIN", 500))
        add_po(session, "PO-2", "Hue Dyes", ("DYE", 100))
        add_po(session, "PO-3", "Steelco", ("STEEL", 100))
        add_po(session, "PO-4", "Volt Motors", ("MOTOR", 10))
        add_so(session, "SO-1", "Northwind", ("HOUSING", 60))
        add_so(session, "SO-2", "Contoso", ("HOUSING", 30))
        add_so(session, "SO-3", "Initech", ("SKID", 1))
        add_so(session, "SO-4", "Globex", ("PUMP", 1))
        add_job(session, "J-MIX", "COMPOUND", 150, {"RESIN": 200, "DYE": 10})
        add_job(session, "J-MOLD", "HOUSING", 100, {"COMPOUND": 150, "SCREW": 4})
        add_job(session, "J-SCREW", "SCREW", 40, {"STEEL": 5})
        add_job(session, "J-OTHER", "HOUSING", 10, {"SCREW": 8})
        for job in ("J-P1", "J-P2"):
            add_job(session, job, "PUMP", 1, {"MOTOR": 1})
        add_job(session, "J-SKID", "SKID", 1, {"PUMP": 1})

        ledger = Ledger(session, clock)
        ledger.receive("RESIN", 200, "DOCK", lot="R1", supplier_lot="ACM-881", po="PO-1")
        ledger.receive("RESIN", 200, "DOCK", lot="R2", supplier_lot="ACM-882", po="PO-1")
        ledger.receive("DYE", 50, "DOCK", lot="D1", supplier_lot="HUE-7", po="PO-2")
        ledger.receive("SCREW", 100, "STORE")
        ledger.issue_to_job("J-MIX", "RESIN", 100, lot="R1")
        movements["issue R2"] = ledger.issue_to_job("J-MIX", "RESIN", 100, lot="R2").id
        ledger.issue_to_job("J-MIX", "DYE", 10, lot="D1")
        ledger.produce("J-MIX", 150, "STORE", lot="C1")
        ledger.issue_to_job("J-MOLD", "COMPOUND", 150, lot="C1")
        ledger.issue_to_job("J-MOLD", "SCREW", 4)
        ledger.produce("J-MOLD", 100, "FG", lot="H1")
        ledger.ship("SO-1", "HOUSING", 60, lot="H1")
        movements["ship SO-2"] = ledger.ship("SO-2", "HOUSING", 30, lot="H1").id

        ledger.receive("STEEL", 50, "DOCK", lot="ST1", supplier_lot="SC-1", po="PO-3")
        ledger.issue_to_job("J-SCREW", "STEEL", 5, lot="ST1")
        ledger.produce("J-SCREW", 40, "STORE")
        ledger.issue_to_job("J-OTHER", "SCREW", 8)
        ledger.produce("J-OTHER", 10, "FG", lot="H2")

        for motor in ("M1", "M2"):
            ledger.receive(
                "MOTOR", 1, "DOCK", serial=motor, lot="VM-1", supplier_lot="VOLT-22", po="PO-4"
            )
        ledger.issue_to_job("J-P1", "MOTOR", 1, serial="M1")
        ledger.produce("J-P1", 1, "FG", serial="P1")
        ledger.issue_to_job("J-P2", "MOTOR", 1, serial="M2")
        ledger.produce("J-P2", 1, "FG", serial="P2")
        ledger.issue_to_job("J-SKID", "PUMP", 1, serial="P1")
        ledger.produce("J-SKID", 1, "FG", serial="K1")
        ledger.ship("SO-3", "SKID", 1, serial="K1")
        ledger.ship("SO-4", "PUMP", 1, serial="P2")
    return Plant(sessions, clock, movements)


def lots(relatives: tuple[Relative, ...]) -> list[tuple[str, str | None, str | None, str, int]]:
    return [(r.part, r.lot, r.serial, r.job, r.depth) for r in relatives]


def customers(shipments: tuple[Shipment, ...]) -> list[tuple[str, str | None, str, int]]:
    return [(s.part, s.lot or s.serial, s.customer, int(s.qty)) for s in shipments]


# ---- genealogy --------------------------------------------------------------------------


def test_a_job_that_consumed_two_lots_of_one_part_makes_both_parents(plant: Plant) -> None:
    compound = plant.trace("COMPOUND", lot="C1")

    assert lots(compound.backward) == [
        ("DYE", "D1", None, "J-MIX", 1),
        ("RESIN", "R1", None, "J-MIX", 1),
        ("RESIN", "R2", None, "J-MIX", 1),
    ]
    for lot in ("R1", "R2"):
        (used,) = plant.trace("RESIN", lot=lot).jobs
        assert (used.job, used.role, used.qty) == ("J-MIX", "consumed", Decimal(100))


def test_backward_trace_of_an_assembly_lot_reaches_the_raw_lots_two_levels_down(
    plant: Plant,
) -> None:
    housing = plant.trace("HOUSING", lot="H1")

    assert lots(housing.backward) == [
        ("COMPOUND", "C1", None, "J-MOLD", 1),
        ("SCREW", None, None, "J-MOLD", 1),
        ("DYE", "D1", None, "J-MIX", 2),
        ("RESIN", "R1", None, "J-MIX", 2),
        ("RESIN", "R2", None, "J-MIX", 2),
    ]


def test_receipts_name_supplier_po_and_supplier_lot_of_every_ancestor(plant: Plant) -> None:
    housing = plant.trace("HOUSING", lot="H1")

    assert housing.receipts == (
        Receipt("DYE", "D1", None, "PO-2", "Hue Dyes", "HUE-7", Decimal(50)),
        Receipt("RESIN", "R1", None, "PO-1", "Acme Resins", "ACM-881", Decimal(200)),
        Receipt("RESIN", "R2", None, "PO-1", "Acme Resins", "ACM-882", Decimal(200)),
    )


def test_forward_trace_of_a_raw_lot_reaches_every_customer_of_the_assembly(plant: Plant) -> None:
    resin = plant.trace("RESIN", lot="R1")

    assert lots(resin.forward) == [
        ("COMPOUND", "C1", None, "J-MIX", 1),
        ("HOUSING", "H1", None, "J-MOLD", 2),
    ]
    assert customers(resin.shipments) == [
        ("HOUSING", "H1", "Northwind", 60),
        ("HOUSING", "H1", "Contoso", 30),
    ]
    assert resin.receipts == (
        Receipt("RESIN", "R1", None, "PO-1", "Acme Resins", "ACM-881", Decimal(200)),
    )


def test_a_lot_shows_its_own_shipments_and_where_the_rest_is(plant: Plant) -> None:
    housing = plant.trace("HOUSING", lot="H1")

    assert customers(housing.shipments) == [
        ("HOUSING", "H1", "Northwind", 60),
        ("HOUSING", "H1", "Contoso", 30),
    ]
    assert housing.forward == ()
    assert housing.on_hand == (StockRow("HOUSING", "H1", None, "FG", Decimal(10)),)
    assert [(j.job, j.role, j.qty) for j in housing.jobs] == [("J-MOLD", "produced", Decimal(100))]


def test_on_hand_lists_every_location_holding_the_lot(plant: Plant) -> None:
    with unit_of_work(plant.sessions) as session:
        Ledger(session, plant.clock).move("RESIN", 40, "STORE", lot="R1")

    resin = plant.trace("RESIN", lot="R1")

    assert resin.on_hand == (
        StockRow("RESIN", "R1", None, "DOCK", Decimal(60)),
        StockRow("RESIN", "R1", None, "STORE", Decimal(40)),
    )


def test_serials_trace_back_through_pump_to_motor_and_its_supplier(plant: Plant) -> None:
    skid = plant.trace("SKID", serial="K1")

    assert lots(skid.backward) == [
        ("PUMP", None, "P1", "J-SKID", 1),
        ("MOTOR", None, "M1", "J-P1", 2),
    ]
    assert skid.receipts == (
        Receipt("MOTOR", "VM-1", "M1", "PO-4", "Volt Motors", "VOLT-22", Decimal(1)),
    )
    assert customers(skid.shipments) == [("SKID", "K1", "Initech", 1)]
    assert skid.on_hand == ()
    assert [(j.job, j.role) for j in skid.jobs] == [("J-SKID", "produced")]


def test_serials_trace_forward_from_motor_to_the_shipped_skid(plant: Plant) -> None:
    motor = plant.trace("MOTOR", serial="M1")

    assert motor.lot == "VM-1"
    assert lots(motor.forward) == [
        ("PUMP", None, "P1", "J-P1", 1),
        ("SKID", None, "K1", "J-SKID", 2),
    ]
    assert customers(motor.shipments) == [("SKID", "K1", "Initech", 1)]
    assert [(j.job, j.role, j.serial) for j in motor.jobs] == [("J-P1", "consumed", "M1")]


def test_a_supplier_lot_of_serials_traces_every_serial_in_it_to_two_customers(
    plant: Plant,
) -> None:
    motors = plant.trace("MOTOR", lot="VM-1")

    assert lots(motors.forward) == [
        ("PUMP", None, "P1", "J-P1", 1),
        ("PUMP", None, "P2", "J-P2", 1),
        ("SKID", None, "K1", "J-SKID", 2),
    ]
    assert customers(motors.shipments) == [
        ("PUMP", "P2", "Globex", 1),
        ("SKID", "K1", "Initech", 1),
    ]
    assert [r.serial for r in motors.receipts] == ["M1", "M2"]


def test_a_diamond_lists_the_job_that_joins_it_once_and_counts_its_shipments_once(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    """Resin lot R1 is split into pellet lots PA (J-A) and PB (J-B); J-PANEL makes panel lot
    X1 from both, so the walk meets J-PANEL through two of its inputs."""
    with unit_of_work(sessions) as session:
        add_location(session, "STORE")
        for number in ("RESIN", "PELLET", "PANEL"):
            add_part(session, number, "lot")
        add_po(session, "PO-1", "Acme Resins", ("RESIN", 100))
        add_so(session, "SO-1", "Northwind", ("PANEL", 5))
        add_job(session, "J-A", "PELLET", 40, {"RESIN": 40})
        add_job(session, "J-B", "PELLET", 40, {"RESIN": 40})
        add_job(session, "J-PANEL", "PANEL", 8, {"PELLET": 80})
        ledger = Ledger(session, clock)
        ledger.receive("RESIN", 100, "STORE", lot="R1", supplier_lot="ACM-1", po="PO-1")
        for job, pellet in (("J-A", "PA"), ("J-B", "PB")):
            ledger.issue_to_job(job, "RESIN", 40, lot="R1")
            ledger.produce(job, 40, "STORE", lot=pellet)
            ledger.issue_to_job("J-PANEL", "PELLET", 40, lot=pellet)
        ledger.produce("J-PANEL", 8, "STORE", lot="X1")
        ledger.ship("SO-1", "PANEL", 5, lot="X1")

    with sessions() as session:
        resin = trace(session, "RESIN", lot="R1")
        panel = trace(session, "PANEL", lot="X1")

    assert lots(resin.forward) == [
        ("PELLET", "PA", None, "J-A", 1),
        ("PELLET", "PB", None, "J-B", 1),
        ("PANEL", "X1", None, "J-PANEL", 2),
    ]
    assert customers(resin.shipments) == [("PANEL", "X1", "Northwind", 5)]
    assert lots(panel.backward) == [
        ("PELLET", "PA", None, "J-PANEL", 1),
        ("PELLET", "PB", None, "J-PANEL", 1),
        ("RESIN", "R1", None, "J-A", 2),
        ("RESIN", "R1", None, "J-B", 2),
    ]
    assert panel.receipts == (
        Receipt("RESIN", "R1", None, "PO-1", "Acme Resins", "ACM-1", Decimal(100)),
    )


def test_a_lot_reached_at_two_depths_is_listed_at_the_nearest_and_counted_once(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    """Flour lot F1 is made into dough lot D1 (J-DOUGH); J-BAKE makes bread lot B1 from F1
    and D1, so B1 is both F1's child and its grandchild."""
    with unit_of_work(sessions) as session:
        add_location(session, "STORE")
        for number in ("FLOUR", "DOUGH", "BREAD"):
            add_part(session, number, "lot")
        add_po(session, "PO-1", "Millers", ("FLOUR", 100))
        add_so(session, "SO-1", "Northwind", ("BREAD", 30))
        add_so(session, "SO-2", "Contoso", ("BREAD", 20))
        add_job(session, "J-DOUGH", "DOUGH", 40, {"FLOUR": 40})
        add_job(session, "J-BAKE", "BREAD", 50, {"FLOUR": 10, "DOUGH": 40})
        ledger = Ledger(session, clock)
        ledger.receive("FLOUR", 100, "STORE", lot="F1", po="PO-1")
        ledger.issue_to_job("J-DOUGH", "FLOUR", 40, lot="F1")
        ledger.produce("J-DOUGH", 40, "STORE", lot="D1")
        ledger.issue_to_job("J-BAKE", "FLOUR", 10, lot="F1")
        ledger.issue_to_job("J-BAKE", "DOUGH", 40, lot="D1")
        ledger.produce("J-BAKE", 50, "STORE", lot="B1")
        ledger.ship("SO-1", "BREAD", 30, lot="B1")
        ledger.ship("SO-2", "BREAD", 20, lot="B1")

    with sessions() as session:
        flour = trace(session, "FLOUR", lot="F1")
        bread = trace(session, "BREAD", lot="B1")

    assert lots(flour.forward) == [
        ("BREAD", "B1", None, "J-BAKE", 1),
        ("DOUGH", "D1", None, "J-DOUGH", 1),
    ]
    assert customers(flour.shipments) == [
        ("BREAD", "B1", "Northwind", 30),
        ("BREAD", "B1", "Contoso", 20),
    ]
    assert lots(bread.backward) == [
        ("DOUGH", "D1", None, "J-BAKE", 1),
        ("FLOUR", "F1", None, "J-BAKE", 1),
        ("FLOUR", "F1", None, "J-DOUGH", 2),
    ]
    assert [(r.lot, r.qty) for r in bread.receipts] == [("F1", Decimal(100))]


# ---- reversals --------------------------------------------------------------------------


def test_a_reversed_issue_is_no_longer_a_parent(plant: Plant) -> None:
    plant.reverse("issue R2")

    housing = plant.trace("HOUSING", lot="H1")
    assert ("RESIN", "R2") not in [(r.part, r.lot) for r in housing.backward]
    assert [r.lot for r in housing.receipts] == ["D1", "R1"]
    resin = plant.trace("RESIN", lot="R2")
    assert (resin.forward, resin.shipments, resin.jobs) == ((), (), ())
    assert resin.on_hand == (StockRow("RESIN", "R2", None, "DOCK", Decimal(200)),)


def test_a_reversed_shipment_disappears_from_the_trace(plant: Plant) -> None:
    plant.reverse("ship SO-2")

    for traced in (plant.trace("HOUSING", lot="H1"), plant.trace("RESIN", lot="R1")):
        assert [(s.so, s.customer) for s in traced.shipments] == [("SO-1", "Northwind")]


def test_a_reversed_receipt_is_not_a_receipt(plant: Plant) -> None:
    with unit_of_work(plant.sessions) as session:
        ledger = Ledger(session, plant.clock)
        wrong = ledger.receive("RESIN", 5, "DOCK", lot="R1", po="PO-1")
        ledger.reverse(wrong.id, reason="wrong lot scanned")

    resin = plant.trace("RESIN", lot="R1")
    assert [r.qty for r in resin.receipts] == [200]


# ---- untracked parts and cycles -------------------------------------------------------


def record_returns(plant: Plant) -> dict[str, uuid.UUID]:
    """5 of H1 come back from Northwind, pump P2 from Globex; 20 of resin R1 go back to Acme."""
    with unit_of_work(plant.sessions) as session:
        ledger = Ledger(session, plant.clock)
        return {
            "H1": ledger.return_from_customer("HOUSING", 5, "FG", lot="H1", so="SO-1").id,
            "P2": ledger.return_from_customer("PUMP", 1, "FG", serial="P2").id,
            "R1": ledger.return_to_supplier("RESIN", 20, lot="R1", po="PO-1").id,
        }


def test_returns_of_a_lot_and_of_what_was_made_from_it_are_in_its_trace(plant: Plant) -> None:
    record_returns(plant)

    resin = plant.trace("RESIN", lot="R1")

    assert resin.returns == (
        GoodsReturn(
            "HOUSING", "H1", None, "SO-1", None, "Northwind", None, Decimal(5), "from_customer"
        ),
        GoodsReturn(
            "RESIN", "R1", None, None, "PO-1", None, "Acme Resins", Decimal(20), "to_supplier"
        ),
    )
    assert customers(resin.shipments) == [  # shipped stays shipped: the return is apart
        ("HOUSING", "H1", "Northwind", 60),
        ("HOUSING", "H1", "Contoso", 30),
    ]
    assert resin.returns[1].as_json() == {
        "part": "RESIN",
        "lot": "R1",
        "serial": None,
        "so": None,
        "po": "PO-1",
        "customer": None,
        "supplier": "Acme Resins",
        "qty": 20,
        "direction": "to_supplier",
    }
    # An ancestor's return is not the assembly's.
    housing = plant.trace("HOUSING", lot="H1")
    assert [(each.part, each.direction) for each in housing.returns] == [
        ("HOUSING", "from_customer")
    ]


def test_a_returned_serial_shows_in_its_trace_and_its_components(plant: Plant) -> None:
    record_returns(plant)

    for part, serial in (("PUMP", "P2"), ("MOTOR", "M2")):
        (back,) = plant.trace(part, serial=serial).returns
        assert (back.part, back.serial, back.so, back.customer, back.qty) == (
            "PUMP",
            "P2",
            "SO-4",
            "Globex",
            Decimal(1),
        )
    assert plant.trace("MOTOR", serial="M1").returns == ()


def test_a_reversed_return_is_not_in_the_trace(plant: Plant) -> None:
    recorded = record_returns(plant)
    with unit_of_work(plant.sessions) as session:
        Ledger(session, plant.clock).reverse(recorded["H1"], reason="scanned in error")

    assert [each.part for each in plant.trace("RESIN", lot="R1").returns] == ["RESIN"]


def test_the_text_trace_lists_what_came_back(plant: Plant) -> None:
    record_returns(plant)

    text = format_trace(plant.trace("RESIN", lot="R1"))

    assert (
        "Returned:\n"
        "  5 of lot H1 of HOUSING from Northwind on SO-1\n"
        "  20 of lot R1 of RESIN to Acme Resins on PO-1\n"
        "\nOn hand:"
    ) in text


def test_an_untracked_component_is_a_parent_but_brings_in_no_other_job(plant: Plant) -> None:
    housing = plant.trace("HOUSING", lot="H1")

    screws = [r for r in housing.backward if r.part == "SCREW"]
    assert screws == [Relative("SCREW", None, None, "J-MOLD", 1)]
    jobs = {r.job for r in housing.backward + housing.forward}
    assert jobs == {"J-MOLD", "J-MIX"}
    assert "STEEL" not in {r.part for r in housing.receipts}


def test_forward_trace_stops_at_an_untracked_product(plant: Plant) -> None:
    steel = plant.trace("STEEL", lot="ST1")

    assert lots(steel.forward) == [("SCREW", None, None, "J-SCREW", 1)]
    assert steel.shipments == ()


def test_a_lot_named_at_shipping_of_an_untracked_part_finds_its_shipment(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with unit_of_work(sessions) as session:
        add_location(session, "STORE")
        add_part(session, "BRACKET", "none")
        add_so(session, "SO-9", "Umbrella", ("BRACKET", 10), lot_control=True)
        ledger = Ledger(session, clock)
        ledger.receive("BRACKET", 10, "STORE")
        ledger.ship("SO-9", "BRACKET", 4, lot="SHIP-77")

    with sessions() as session:
        shipped = trace(session, "BRACKET", lot="SHIP-77")

    assert shipped.shipments == (
        Shipment("BRACKET", "SHIP-77", None, "SO-9", "Umbrella", Decimal(4)),
    )
    assert (shipped.backward, shipped.forward, shipped.on_hand, shipped.jobs) == ((), (), (), ())


def test_rework_into_the_same_lot_terminates(sessions: sessionmaker[Session], clock: Clock) -> None:
    with unit_of_work(sessions) as session:
        add_location(session, "STORE")
        add_part(session, "WIDGET", "lot")
        add_job(session, "J-RW", "WIDGET", 5, {"WIDGET": 5})
        ledger = Ledger(session, clock)
        ledger.receive("WIDGET", 20, "STORE", lot="W1")
        ledger.issue_to_job("J-RW", "WIDGET", 5, lot="W1")
        ledger.produce("J-RW", 5, "STORE", lot="W1")

    with sessions() as session:
        widget = trace(session, "WIDGET", lot="W1")

    assert lots(widget.backward) == [("WIDGET", "W1", None, "J-RW", 1)]
    assert lots(widget.forward) == [("WIDGET", "W1", None, "J-RW", 1)]
    assert [r.qty for r in widget.receipts] == [20]
    assert [(j.role, j.qty) for j in widget.jobs] == [
        ("consumed", Decimal(5)),
        ("produced", Decimal(5)),
    ]


def test_a_cycle_through_two_lots_terminates_with_smallest_depths(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with unit_of_work(sessions) as session:
        add_location(session, "STORE")
        add_part(session, "ALPHA", "lot")
        add_part(session, "BETA", "lot")
        add_job(session, "J-B", "BETA", 1, {"ALPHA": 1})
        add_job(session, "J-A", "ALPHA", 1, {"BETA": 1})
        ledger = Ledger(session, clock)
        ledger.receive("ALPHA", 5, "STORE", lot="A1")
        ledger.receive("BETA", 5, "STORE", lot="B1")
        ledger.issue_to_job("J-B", "ALPHA", 1, lot="A1")
        ledger.produce("J-B", 1, "STORE", lot="B1")
        ledger.issue_to_job("J-A", "BETA", 1, lot="B1")
        ledger.produce("J-A", 1, "STORE", lot="A1")

    with sessions() as session:
        alpha = trace(session, "ALPHA", lot="A1")

    assert lots(alpha.backward) == [("BETA", "B1", None, "J-A", 1), ("ALPHA", "A1", None, "J-B", 2)]
    assert lots(alpha.forward) == [("BETA", "B1", None, "J-B", 1), ("ALPHA", "A1", None, "J-A", 2)]


# ---- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "lot", "serial", "message"),
    [
        ("NOPE", "R1", None, "Unknown part NOPE"),
        ("RESIN", "R9", None, "No lot R9 of RESIN"),
        ("PUMP", None, "P9", "No serial P9 of PUMP"),
        ("RESIN", None, "R1", "RESIN is not serial-tracked: it has no serials"),
    ],
)
def test_tracing_something_that_does_not_exist_says_what(
    plant: Plant, part: str, lot: str | None, serial: str | None, message: str
) -> None:
    with pytest.raises(NotFound, match=f"^{message}$"):
        plant.trace(part, lot=lot, serial=serial)


# ---- cost -------------------------------------------------------------------------------


def build_chain(session: Session, clock: Clock, name: str, stages: int) -> None:
    """Lot <name>0 is received; job <name>-J<i> makes lot <name><i> from <name><i-1> and a
    received raw lot <name>-X<i>: 2 * stages + 1 lots in all."""
    add_part(session, name, "lot")
    add_part(session, f"{name}-RAW", "lot")
    ledger = Ledger(session, clock)
    ledger.receive(name, 1, "STORE", lot=f"{name}0")
    for i in range(1, stages + 1):
        job = f"{name}-J{i}"
        add_job(session, job, name, 1, {name: 1, f"{name}-RAW": 1})
        ledger.receive(f"{name}-RAW", 1, "STORE", lot=f"{name}-X{i}")
        ledger.issue_to_job(job, name, 1, lot=f"{name}{i - 1}")
        ledger.issue_to_job(job, f"{name}-RAW", 1, lot=f"{name}-X{i}")
        ledger.produce(job, 1, "STORE", lot=f"{name}{i}")


@contextmanager
def counting_statements(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = sessions.kw["bind"]

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_to_trace(sessions: sessionmaker[Session], part: str, lot: str) -> tuple[int, Trace]:
    with counting_statements(sessions) as statements, sessions() as session:
        result = trace(session, part, lot=lot)
    return len(statements), result


def test_a_trace_costs_the_same_statements_for_3_lots_as_for_61(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with unit_of_work(sessions) as session:
        add_location(session, "STORE")
        build_chain(session, clock, "SMALL", 1)
        build_chain(session, clock, "LARGE", 30)

    small_back, small = statements_to_trace(sessions, "SMALL", "SMALL1")
    large_back, large = statements_to_trace(sessions, "LARGE", "LARGE30")
    small_forth, _ = statements_to_trace(sessions, "SMALL", "SMALL0")
    large_forth, first = statements_to_trace(sessions, "LARGE", "LARGE0")

    assert (len(small.backward), len(large.backward), len(first.forward)) == (2, 60, 30)
    assert max(r.depth for r in large.backward) == 30
    assert len(large.receipts) == 31  # LARGE0 and the 30 raw lots were received
    assert small_back == large_back == small_forth == large_forth
    # Part, lot, backward with its receipts, forward with its shipments, on hand, jobs (and
    # BEGIN on SQLite).
    assert large_back <= 7


# ---- text and the command line --------------------------------------------------------


def test_the_text_trace_reads_as_a_family_tree(plant: Plant) -> None:
    text = format_trace(plant.trace("HOUSING", lot="H1"))

    assert text.startswith("Trace of lot H1 of HOUSING\n")
    assert "  level 1: lot C1 of COMPOUND, used in job J-MOLD" in text
    assert "  level 1: SCREW (untracked), used in job J-MOLD" in text
    assert "    level 2: lot R1 of RESIN, used in job J-MIX" in text
    assert "200 of lot R1 of RESIN on PO-1 from Acme Resins, supplier lot ACM-881" in text
    assert "60 of lot H1 of HOUSING on SO-1 to Northwind" in text
    assert "10 of lot H1 of HOUSING at FG" in text
    assert "Made into:\n  none" in text
    assert "Returned:\n  none" in text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_trace_json_on_the_command_line_is_the_documented_shape(plant: Plant, db_url: str) -> None:
    result = run_cli("trace", "--part", "HOUSING", "--lot", "H1", "--json", "--db", db_url)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == [
        "part",
        "lot",
        "serial",
        "backward",
        "receipts",
        "forward",
        "shipments",
        "on_hand",
        "jobs",
        "returns",
    ]
    assert document["returns"] == []
    assert (document["part"], document["lot"], document["serial"]) == ("HOUSING", "H1", None)
    assert document["backward"][0] == {
        "part": "COMPOUND",
        "lot": "C1",
        "serial": None,
        "job": "J-MOLD",
        "depth": 1,
    }
    assert document["receipts"][0] == {
        "part": "DYE",
        "lot": "D1",
        "serial": None,
        "po": "PO-2",
        "supplier": "Hue Dyes",
        "supplier_lot": "HUE-7",
        "qty": 50,
    }
    assert document["forward"] == []
    assert document["shipments"][0] == {
        "part": "HOUSING",
        "lot": "H1",
        "serial": None,
        "so": "SO-1",
        "customer": "Northwind",
        "qty": 60,
    }
    assert document["on_hand"] == [
        {"part": "HOUSING", "lot": "H1", "serial": None, "location": "FG", "qty": 10}
    ]
    assert document["jobs"] == [
        {
            "job": "J-MOLD",
            "part": "HOUSING",
            "lot": "H1",
            "serial": None,
            "qty": 100,
            "role": "produced",
        }
    ]


def test_trace_of_an_unknown_lot_exits_1_with_one_line_on_stderr(plant: Plant, db_url: str) -> None:
    result = run_cli("trace", "--part", "HOUSING", "--lot", "H404", "--db", db_url)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "lotscan: No lot H404 of HOUSING\n"


@pytest.mark.parametrize(
    ("which", "said"),
    [
        (("--lot", "S1"), "SCREW is not lot-tracked: no shipment of it was given lot S1"),
        (("--serial", "S1"), "SCREW is not serial-tracked: it has no serials"),
    ],
)
def test_trace_of_an_untracked_part_says_it_is_not_tracked(
    plant: Plant, db_url: str, which: tuple[str, str], said: str
) -> None:
    result = run_cli("trace", "--part", "SCREW", *which, "--db", db_url)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"lotscan: {said}\n"

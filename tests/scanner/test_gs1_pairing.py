"""GS1's pairing rules (the Barcode Syntax Dictionary's `req=` and `ex=`) as a site's choice:
off by default, so the site's own labels that name a part by (240) alone keep scanning;
`lotscan settings set gs1-pairing strict` refuses every label that breaks one, naming the
rule, in every form a scanner sends, on the command line and on the handheld."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from labels.content import label_for_lot, label_for_serial
from labels.symbols import gs1_symbol
from scanner.db import open_database, reading, unit_of_work
from scanner.demo import build_demo
from scanner.gs1 import GS1Error
from scanner.gs1_dictionary import entries
from scanner.gs1_pairing import check_pairs
from scanner.models import Lot, Part, Serial, Setting
from scanner.scan import ScanConfig, ScanError, read_scan, scan_config
from scanner.settings import (
    GS1_PAIRING,
    SITE_WIDE,
    Gs1Pairing,
    take_site_setting,
    write_setting,
)
from scanner.workflows.base import Level
from scanner.workspace import sqlite_url
from tests.support.databases import open_migrated
from tests.support.demo_workspace import lotscan
from tests.support.plant import add_plant
from tests.support.transcripts import Floor

GS = "\x1d"
GTIN = "09506000134352"
STRICT = ScanConfig(gs1_pairing=Gs1Pairing.STRICT)
OWN_LABEL = "(240)RESIN(10)R-100(30)25"
OWN_LABEL_REFUSED = (
    "GS1 says the part number (240) goes with a GTIN (01), (02), (8006) or (8026): "
    "this label has none"
)
GTIN_WITH_COUNT_REFUSED = (
    "GS1 says the GTIN (01) and the count (37) never appear together on one label"
)


@pytest.mark.parametrize(
    "ais",
    [
        pytest.param(["01"], id="a GTIN alone"),
        pytest.param(["00"], id="an SSCC alone"),
        pytest.param(["01", "17", "10", "21"], id="GTIN expiry lot serial"),
        pytest.param(["01", "240", "10", "30"], id="a part number beside a GTIN"),
        pytest.param(["00", "02", "37"], id="a logistic label: contents and their count"),
        pytest.param(["01", "3103"], id="an AI never excludes itself (3103 ex=310n)"),
        pytest.param(["01", "3103", "3203"], id="net weight in kg and in lb"),
        pytest.param(["01", "3920", "3103"], id="a pattern requirement (31nn) met"),
        pytest.param(["01", "21", "8030"], id="both of a + alternative (01+21)"),
        pytest.param(["8018", "7259", "7258"], id="8018+7259 both there"),
        pytest.param(["01", "422", "427"], id="two req= clauses both met"),
        pytest.param(["01", "10", "10"], id="the same AI twice"),
        pytest.param(["717"], id="an AI the dictionary lacks has no rules"),
    ],
)
def test_a_label_that_keeps_gs1s_pairing_rules_passes(ais: list[str]) -> None:
    check_pairs(ais)


@pytest.mark.parametrize(
    ("ais", "message"),
    [
        pytest.param(
            ["10"],
            "GS1 says the lot (10) goes with a GTIN (01), (02), (03), (8006) or (8026): "
            "this label has none",
            id="a lot without a GTIN",
        ),
        pytest.param(["240", "10", "30"], OWN_LABEL_REFUSED, id="the site's own label"),
        pytest.param(["01", "37"], GTIN_WITH_COUNT_REFUSED, id="a GTIN with a count (37)"),
        pytest.param(
            ["01", "3103", "3102"],
            "GS1 says (3103) NET WEIGHT (kg) and (3102) NET WEIGHT (kg) never appear together "
            "on one label",
            id="two of a range that excludes itself (310n)",
        ),
        pytest.param(
            ["02", "37"],
            "GS1 says the count (37) goes with (00): this label has none",
            id="the second of two req= clauses unmet",
        ),
        pytest.param(
            ["01", "3920"],
            "GS1 says (3920) PRICE goes with (30), (31nn), (32nn), (35nn) or (36nn): "
            "this label has none",
            id="a pattern requirement unmet",
        ),
        pytest.param(
            ["7258", "8018"],
            "GS1 says (7258) BIRTH SEQUENCE goes with both (8018) and (7259): this label has none",
            id="half of a + alternative",
        ),
        pytest.param(
            ["21", "8030"],
            "GS1 says the serial (21) goes with a GTIN (01), (03) or (8006): this label has none",
            id="the rules of the first field in scan order come first",
        ),
        pytest.param(
            ["8030"],
            "GS1 says (8030) DIGSIG goes with (00), both (01) and (21), (253), (255), (8003), "
            "(8004), both (8006) and (21), both (8010) and (8011), (8017) or (8018): "
            "this label has none",
            id="alternatives of single AIs and + groups",
        ),
        pytest.param(
            ["00", "4330", "4331"],
            "GS1 says (4330) MAX TEMP F and (4331) MAX TEMP C never appear together",
            id="an invalid pair is named before anything else",
        ),
    ],
)
def test_a_label_that_breaks_a_pairing_rule_is_refused_naming_the_rule(
    ais: list[str], message: str
) -> None:
    with pytest.raises(GS1Error) as refused:
        check_pairs(ais)
    assert str(refused.value).startswith(message)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(entries())), max_size=6))
def test_any_set_of_ais_passes_or_is_refused_in_one_sentence_naming_a_rule(ais: list[str]) -> None:
    try:
        check_pairs(ais)
    except GS1Error as refusal:
        message = str(refusal)
        assert message.startswith("GS1 says ") and "\n" not in message
        assert message.endswith(("this label has none", "never appear together on one label"))


# -- read_scan, with the setting off and strict ------------------------------------------------

BROKEN_FORMS = [
    pytest.param(f"]C101{GTIN}3724", id="GS1-128"),
    pytest.param(f"]d201{GTIN}3724{GS}", id="GS1 DataMatrix"),
    pytest.param(f"01{GTIN}37{'24'}", id="element string without AIM"),
    pytest.param(f"(01){GTIN}(37)24", id="human-readable"),
    pytest.param(f"https://id.gs1.org/01/{GTIN}?37=24", id="Digital Link"),
]


@pytest.mark.parametrize("scan", BROKEN_FORMS)
def test_off_reads_a_label_that_breaks_a_rule_and_strict_refuses_it(scan: str) -> None:
    assert read_scan(scan).as_json() == {
        "kind": "item",
        "ai": {"01": GTIN, "37": "24"},
        "gtin": GTIN,
        "count": 24,
    }
    with pytest.raises(ScanError, match=f"^{re.escape(GTIN_WITH_COUNT_REFUSED)}$"):
        read_scan(scan, STRICT)


@pytest.mark.parametrize(
    "scan",
    [
        pytest.param(f"]C101{GTIN}1726123110LOT123{GS}21SN0001", id="GS1-128"),
        pytest.param(f"]d201{GTIN}10LOT123{GS}3012", id="GS1 DataMatrix"),
        pytest.param(f"(01){GTIN}(240)RESIN(10)R-1", id="part number beside a GTIN"),
        pytest.param(f"https://id.gs1.org/01/{GTIN}/10/LOT123", id="Digital Link"),
        pytest.param("]C10010614141123456789702095060001343523724", id="logistic label"),
        pytest.param(GTIN, id="a bare GTIN"),
        pytest.param("]E05901234123457", id="EAN-13"),
        pytest.param("106141411234567897", id="a bare SSCC"),
    ],
)
def test_strict_reads_a_label_that_keeps_the_rules_as_off_does(scan: str) -> None:
    assert read_scan(scan, STRICT) == read_scan(scan)


def test_strict_leaves_our_own_codes_and_text_alone() -> None:
    for scan in ("LOC:A-01", "CMD:RECEIVE", "R-100", "25"):
        assert read_scan(scan, STRICT) == read_scan(scan)


def test_the_site_setting_reaches_the_scan_configuration(
    sessions: sessionmaker[Session],
) -> None:
    with unit_of_work(sessions) as session:
        assert scan_config(session).gs1_pairing is Gs1Pairing.OFF
        write_setting(session, GS1_PAIRING, Gs1Pairing.STRICT)
    with reading(sessions) as session:
        assert scan_config(session) == STRICT


def test_a_handheld_takes_the_choice_the_central_store_sends(
    sessions: sessionmaker[Session],
) -> None:
    assert GS1_PAIRING in SITE_WIDE
    with unit_of_work(sessions) as session:
        assert take_site_setting(session, GS1_PAIRING.key, "strict")
    with reading(sessions) as session:
        assert scan_config(session).gs1_pairing is Gs1Pairing.STRICT
    with unit_of_work(sessions) as session:
        assert take_site_setting(session, GS1_PAIRING.key, None)  # the store holds none
    with reading(sessions) as session:
        assert scan_config(session).gs1_pairing is Gs1Pairing.OFF


# -- the command line --------------------------------------------------------------------------


def test_a_site_that_sets_gs1_pairing_strict_has_lotscan_parse_refuse_by_the_rule(
    tmp_path: Path,
) -> None:
    db = sqlite_url(tmp_path / "device.db")
    open_migrated(db).kw["bind"].dispose()
    chosen = lotscan("settings", "set", "gs1-pairing", "strict", "--db", db, home=tmp_path)
    assert (chosen.returncode, chosen.stdout) == (0, "gs1_pairing: strict (default: off)\n")
    refused = lotscan("parse", OWN_LABEL, "--json", "--db", db, home=tmp_path)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == f"lotscan: {OWN_LABEL_REFUSED}\n"
    kept = lotscan("parse", f"(01){GTIN}(10)R-100(30)25", "--db", db, home=tmp_path)
    assert kept.returncode == 0, kept.stderr

    back = lotscan("settings", "set", "gs1-pairing", "off", "--db", db, home=tmp_path)
    assert back.stdout == "gs1_pairing: off\n"
    assert lotscan("parse", OWN_LABEL, "--db", db, home=tmp_path).returncode == 0


def test_an_enrolled_handheld_takes_gs1_pairing_from_the_central_store(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "device.db")
    with unit_of_work(open_migrated(db)) as session:
        session.add(Setting(key="sync.url", value="http://127.0.0.1:9"))
    refused = lotscan("settings", "set", "gs1-pairing", "strict", "--db", db, home=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "lotscan: Setting gs1_pairing is set for the whole site on the central store"
    )


# -- the demo's own labels ----------------------------------------------------------------------


def test_the_demos_own_labels_scan_with_the_setting_off_and_strict_would_refuse_them(
    tmp_path: Path,
) -> None:
    """Most of the demo's parts have no GTIN: their labels name them by (240), which GS1
    pairs only with a GTIN; that is why the setting is off unless a site chooses it."""
    url = sqlite_url(tmp_path / "lotscan.db")
    build_demo(url, date(2026, 11, 2))
    sessions = open_database(url)
    with reading(sessions) as session:
        config = scan_config(session)
        labels = [
            label_for_lot(session, lot.part, lot.number) for lot in session.scalars(select(Lot))
        ]
        labels += [
            label_for_serial(session, serial.part, serial.number)
            for serial in session.scalars(select(Serial))
        ]
    sessions.kw["bind"].dispose()
    assert config.gs1_pairing is Gs1Pairing.OFF
    own = [label for label in labels if label.gtin is None]
    assert 10 <= len(own) < len(labels)
    for label in labels:
        scanned = f"]C1{gs1_symbol(label.elements()).data}"
        item = read_scan(scanned, config).item
        assert item is not None
        assert (item.gtin, item.lot or item.serial) == (
            label.gtin and label.gtin.zfill(14),
            label.lot or label.serial,
        )
        if label in own:
            assert item.part == label.part
            with pytest.raises(ScanError, match=r"GS1 says the part number \(240\) goes with"):
                read_scan(scanned, STRICT)
        else:
            assert read_scan(scanned, STRICT) == read_scan(scanned, config)


# -- on the handheld -----------------------------------------------------------------------------


def test_a_receive_under_strict_refuses_the_label_on_the_handheld_and_takes_one_that_keeps_them(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with unit_of_work(sessions) as session:
        add_plant(session)
        session.get_one(Part, "RESIN").gtin = GTIN
        write_setting(session, GS1_PAIRING, Gs1Pairing.STRICT)
    with reading(sessions) as session:
        floor = Floor(sessions, clock, config=scan_config(session))
    steps = floor.run(f"""
        OP:B1001
        CMD:RECEIVE
        {OWN_LABEL}
        (01){GTIN}(10)R-100(30)25
    """)
    refused = steps.at(3).response
    assert (refused.level, refused.message) == (Level.ERROR, OWN_LABEL_REFUSED)
    assert refused.prompt == "Scan item to RCV"
    assert (steps.last.level, steps.last.message) == (Level.OK, "Received RESIN")
    assert floor.stock("RESIN") == {("R-100", "RCV"): 25}
    assert floor.agrees()


def strict_floor(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> Floor:
    """The test plant under `gs1_pairing` strict, RESIN with a GTIN."""
    with unit_of_work(sessions) as session:
        add_plant(session)
        session.get_one(Part, "RESIN").gtin = GTIN
        write_setting(session, GS1_PAIRING, Gs1Pairing.STRICT)
    with reading(sessions) as session:
        return Floor(sessions, clock, config=scan_config(session))


def test_under_strict_a_label_in_two_symbols_is_judged_whole_on_the_handheld(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    # A label too long for one symbol (labels.compose): the GTIN and expiry, then the lot
    # and count, which GS1 pairs with the GTIN of the symbol before it.
    floor = strict_floor(sessions, clock)
    lot = "ABCDEFGHIJKLMNOPQRST"
    steps = floor.run(f"""
        OP:B1001
        CMD:RECEIVE
        (10){lot}(30)25
        (01){GTIN}(17)270331
        (10){lot}(30)25
        (01){GTIN}(17)270331
        (37)25
    """)
    alone = steps.at(3).response  # the second symbol with no line to continue
    assert (alone.level, alone.message) == (
        Level.ERROR,
        "GS1 says the lot (10) goes with a GTIN (01), (02), (03), (8006) or (8026): this label"
        " has none",
    )
    assert (steps.at(5).level, steps.at(5).message) == (Level.OK, "Received RESIN")
    whole = steps.at(7).response  # a count (37) beside the GTIN breaks a rule of the label
    assert (whole.level, whole.message) == (
        Level.ERROR,
        "GS1 says the GTIN (01) and the count (37) never appear together on one label",
    )
    assert whole.prompt == "Quantity of RESIN (kg)?"
    assert floor.stock("RESIN") == {(lot, "RCV"): 25}
    assert floor.agrees()

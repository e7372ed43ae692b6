"""What a scan means (docs/architecture.md, "Scan language"): GS1 data in every form a
scanner sends it, our prefixed codes, text answers, and a clear refusal for anything that
cannot be read.

The GS1 vectors (check digits, dates, element strings and their refusals) were checked
against biip and against GS1's own Barcode Syntax Engine when they were written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import open_database, unit_of_work
from scanner.numbering import CSET82
from scanner.scan import (
    COMMANDS,
    DEFAULT,
    Scan,
    ScanConfig,
    ScanConfigError,
    ScanError,
    ScanKind,
    read_scan,
    scan_config,
)
from scanner.settings import SCAN_PREFIX_LOCATION, SCAN_SEPARATORS, write_setting
from scanner.workspace import sqlite_url

GS = "\x1d"
GTIN = "09506000134352"
FULL = {
    "kind": "item",
    "ai": {"01": GTIN, "17": "261231", "10": "LOT123", "21": "SN0001"},
    "gtin": GTIN,
    "lot": "LOT123",
    "serial": "SN0001",
    "expiry": "2026-12-31",
}
PIPE = ScanConfig(separators=("|",))


def item(ai: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {"kind": "item", "ai": ai, **fields}


def gtin_only(gtin: str) -> dict[str, Any]:
    return item({"01": gtin}, gtin=gtin)


@pytest.mark.parametrize(
    ("scan", "expected"),
    [
        # GS1 element strings: with and without an AIM identifier, each way GS arrives.
        (f"]C101{GTIN}1726123110LOT123{GS}21SN0001", FULL),
        (f"01{GTIN}1726123110LOT123{GS}21SN0001\r\n", FULL),
        (f"01{GTIN}1726123110LOT123<GS>21SN0001", FULL),
        (f"]d201{GTIN}1726123110LOT123{GS}21SN0001", FULL),
        (f"]Q301{GTIN}1726123110LOT123{GS}21SN0001", FULL),
        (f"]e001{GTIN}1726123110LOT123{GS}21SN0001\t", FULL),
        (f"]J101{GTIN}1726123110LOT123{GS}21SN0001", FULL),
        (f"{GS}01{GTIN}17261231{GS}{GS}10LOT123{GS}{GS}21SN0001{GS}", FULL),
        (f"  ]C101{GTIN}1726123110LOT123<GS>21SN0001  ", FULL),
        # Where a real GS separates the fields, the text <GS> is part of the lot.
        (
            f"]C101{GTIN}10A<GS>B{GS}21SN0001",
            item(
                {"01": GTIN, "10": "A<GS>B", "21": "SN0001"},
                gtin=GTIN,
                lot="A<GS>B",
                serial="SN0001",
            ),
        ),
        # The human-readable form, with or without spaces between fields.
        (f"(01){GTIN}(17)261231(10)LOT123(21)SN0001", FULL),
        (f"(01){GTIN} (17)261231 (10)LOT123 (21)SN0001", FULL),
        # GS1 Digital Link on any host, with or without the QR's AIM identifier.
        (
            f"https://id.gs1.org/01/{GTIN}/10/LOT123/21/SN0001?17=261231",
            item(
                {"01": GTIN, "10": "LOT123", "21": "SN0001", "17": "261231"},
                gtin=GTIN,
                lot="LOT123",
                serial="SN0001",
                expiry="2026-12-31",
            ),
        ),
        (
            f"]Q1https://example.com/shop/01/{GTIN}/10/LOT123",
            item({"01": GTIN, "10": "LOT123"}, gtin=GTIN, lot="LOT123"),
        ),
        (f"HTTPS://example.com/01/{GTIN}?utm_source=flyer", gtin_only(GTIN)),
        (
            "https://example.com/01/12312312312333?99=TEST",
            item({"01": "12312312312333", "99": "TEST"}, gtin="12312312312333"),
        ),
        # Bare GTINs of each length, and EAN/UPC with their AIM identifiers: always 14 digits.
        ("12345670", gtin_only("00000012345670")),
        ("012345678905", gtin_only("00012345678905")),
        ("5901234123457", gtin_only("05901234123457")),
        (GTIN, gtin_only(GTIN)),
        ("]E05901234123457", gtin_only("05901234123457")),
        ("]E00012345678905", gtin_only("00012345678905")),
        ("]E412345670", gtin_only("00000012345670")),
        ("]E3590123412345712", gtin_only("05901234123457")),
        ("]E3590123412345712345", gtin_only("05901234123457")),
        # Some scanners send an add-on as a packet of its own after the main one.
        ("]E00060992011187]E112", gtin_only("00060992011187")),
        ("]E412345670]E212345", gtin_only("00000012345670")),
        # ITF-14 carries a GTIN-14.
        (f"]I1{GTIN}", gtin_only(GTIN)),
        # Day 00 is the month's last day.
        (
            f"(01){GTIN}(17)261200",
            item({"01": GTIN, "17": "261200"}, gtin=GTIN, expiry="2026-12-31"),
        ),
        ("(17)280200", item({"17": "280200"}, expiry="2028-02-29")),
        ("(17)270200", item({"17": "270200"}, expiry="2027-02-28")),
        # Our own labels: the part by (240) when it has no GTIN; a count from (30).
        (
            f"240P-100{GS}10L0042{GS}3012",
            item({"240": "P-100", "10": "L0042", "30": "12"}, part="P-100", lot="L0042", count=12),
        ),
        (f"(01){GTIN}(3103)000125", item({"01": GTIN, "3103": "000125"}, gtin=GTIN)),
        # A logistic label: the contents by (02) and their number by (37).
        (
            f"]C100106141411234567897020950600013435237{'24'}",
            item({"00": "106141411234567897", "02": GTIN, "37": "24"}, gtin=GTIN, count=24),
        ),
        ("00106141411234567897", item({"00": "106141411234567897"})),
        ("106141411234567897", item({"00": "106141411234567897"})),
        # (422) is fixed-length but needs its separator, which is there.
        (
            f"01{GTIN}422276{GS}10ABC",
            item({"01": GTIN, "422": "276", "10": "ABC"}, gtin=GTIN, lot="ABC"),
        ),
    ],
)
def test_gs1_data_is_an_item_with_its_fields(scan: str, expected: dict[str, Any]) -> None:
    assert read_scan(scan).as_json() == expected


def test_a_configured_substitute_stands_for_gs() -> None:
    assert read_scan(f"01{GTIN}1726123110LOT123|21SN0001", PIPE).as_json() == FULL
    assert read_scan(f"|01{GTIN}1726123110LOT123|21SN0001|", PIPE).as_json() == FULL
    # Without the setting the same scan is not GS1 data a label could carry.
    with pytest.raises(ScanError, match="cannot carry: '\\|'"):
        read_scan(f"01{GTIN}1726123110LOT123|21SN0001")


def test_the_element_strings_keep_their_scan_order() -> None:
    scan = read_scan(f"]C110LOT123{GS}01{GTIN}")
    assert scan.item is not None
    assert list(scan.item.ai) == ["10", "01"]


@pytest.mark.parametrize(
    ("scan", "kind", "value"),
    [
        ("LOC:A-01", ScanKind.LOCATION, "A-01"),
        ("loc:a-01", ScanKind.LOCATION, "a-01"),
        ("LOC: A-01 \r\n", ScanKind.LOCATION, "A-01"),
        ("]C0LOC:A-01", ScanKind.LOCATION, "A-01"),
        ("JOB:J-100", ScanKind.JOB, "J-100"),
        ("Job:J-100", ScanKind.JOB, "J-100"),
        ("PO:4500012", ScanKind.PO, "4500012"),
        ("SO:SO-77", ScanKind.SO, "SO-77"),
        ("OP:1234", ScanKind.OPERATOR, "1234"),
        ("CMD:RECEIVE", ScanKind.COMMAND, "RECEIVE"),
        ("cmd:done", ScanKind.COMMAND, "DONE"),
        ("CMD:Ok", ScanKind.COMMAND, "OK"),
        ("]Q1CMD:GEN", ScanKind.COMMAND, "GEN"),
        # Answers to a prompt: quantities, typed lots, anything that is not GS1-shaped.
        ("12", ScanKind.TEXT, "12"),
        ("0", ScanKind.TEXT, "0"),
        ("123456789", ScanKind.TEXT, "123456789"),
        ("1234567890123456", ScanKind.TEXT, "1234567890123456"),
        ("106141411234567898", ScanKind.TEXT, "106141411234567898"),
        ("LOT 123", ScanKind.TEXT, "LOT 123"),
        ("L0042", ScanKind.TEXT, "L0042"),
        ("10LOT123", ScanKind.TEXT, "10LOT123"),
        ("2.5", ScanKind.TEXT, "2.5"),
        ("]", ScanKind.TEXT, "]"),
        # A plain Code 128 holding digits is somebody's number, not a GTIN.
        ("]C05901234123458", ScanKind.TEXT, "5901234123458"),
        ("]C0LOT-123/A", ScanKind.TEXT, "LOT-123/A"),
        # An EAN/UPC add-on alone names no item; an ITF of another length than 14 is no GTIN.
        ("]E112", ScanKind.TEXT, "12"),
        ("]E212345", ScanKind.TEXT, "12345"),
        ("]I1012345678905", ScanKind.TEXT, "012345678905"),
        ("]I112345678", ScanKind.TEXT, "12345678"),
    ],
)
def test_prefixed_codes_and_answers_carry_their_value(
    scan: str, kind: ScanKind, value: str
) -> None:
    result = read_scan(scan)
    assert (result.kind, result.value, result.item) == (kind, value, None)
    assert result.raw == scan
    assert result.as_json() == {"kind": kind.value, "value": value}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_known_command_is_read(command: str) -> None:
    assert read_scan(f"CMD:{command.lower()}").value == command


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        # Check digits, which biip reports without failing.
        ("(01)09506000134353", "The GTIN's check digit is wrong: 09506000134353 should end in 2"),
        ("]C10109506000134353", "The GTIN's check digit is wrong: 09506000134353 should end in 2"),
        ("0109506000134353", "The GTIN's check digit is wrong: 09506000134353 should end in 2"),
        ("5901234123458", "The GTIN's check digit is wrong: 5901234123458 should end in 7"),
        ("]E05901234123458", "The GTIN's check digit is wrong: 5901234123458 should end in 7"),
        (f"]I1{GTIN[:-1]}3", "The GTIN's check digit is wrong: 09506000134353 should end in 2"),
        # Data that does not fit its AIM identifier.
        ("]E0590123412345", "An EAN-13 barcode (]E0) carries 13 digits; this one sent 12"),
        (f"]E0{GTIN}", "An EAN-13 barcode (]E0) carries 13 digits; this one sent 14"),
        ("]E0LOC:A-01", 'An EAN-13 barcode (]E0) carries 13 digits; this one sent "LOC:A-01"'),
        ("]E41234567", "An EAN-8 barcode (]E4) carries 8 digits; this one sent 7"),
        (
            "]E3590123412345",
            "An EAN-13 barcode with an add-on (]E3) carries 15 or 18 digits; this one sent 12",
        ),
        (
            "]E35901234123457123",
            "An EAN-13 barcode with an add-on (]E3) carries 15 or 18 digits; this one sent 16",
        ),
        ("]E1123", "A 2-digit add-on (]E1) carries 2 digits; this one sent 3"),
        ("]E2123456", "A 5-digit add-on (]E2) carries 5 digits; this one sent 6"),
        ("]E00060992011187]E1123", "A 2-digit add-on (]E1) carries 2 digits; this one sent 3"),
        ("12345678", "The GTIN's check digit is wrong: 12345678 should end in 0"),
        ("https://id.gs1.org/01/09506000134353", "check digit is wrong"),
        (
            "]C100106141411234567898",
            "The SSCC's check digit is wrong: 106141411234567898 should end in 7",
        ),
        ("(410)9506000000009", "check digit is wrong: 9506000000009 should end in 8"),
        # Dates that do not exist; day 00 is fine, month 00 or 13 is not.
        ("(17)261332", "The expiry date 261332 is not a real date"),
        (f"]C101{GTIN}1726123210LOT1", "The expiry date 261232 is not a real date"),
        ("(17)260230", "The expiry date 260230 is not a real date"),
        ("(17)270229", "The expiry date 270229 is not a real date"),
        ("(17)260015", "The expiry date 260015 is not a real date"),
        ("(11)261300", "The production date 261300 is not a real date"),
        ("(7006)260200", "260200 is not a real date"),
        ("(7003)2612312560", "is not a real date and time"),
        # Over-long fields, and characters outside GS1's character set 82.
        (
            f"]C101{GTIN}10{'A' * 21}",
            f"Lot '{'A' * 21}' is too long: a GS1 label carries at most 20 characters there",
        ),
        (f"(21){'S' * 21}", "Serial '" + "S" * 21 + "' is too long"),
        # A value far too long is cut, so that the reason still fits a handheld's feedback.
        (
            f"(10){'A' * 300}",
            f"Lot '{'A' * 39}…' is too long: a GS1 label carries at most 20 characters there",
        ),
        (f"01{GTIN}42227610ABC", "(422) ORIGIN '27610ABC' is too long"),
        (f"]C101{GTIN}10LOT 123", "Lot 'LOT 123' has a character a GS1 label cannot carry: space"),
        (f"(01){GTIN}(10)LOT 123", "Lot 'LOT 123' has a character a GS1 label cannot carry"),
        (f"https://id.gs1.org/01/{GTIN}/10/LOT%20123", "Lot 'LOT 123' has a character"),
        ("(10)LOT#1", "Lot 'LOT#1' has a character a GS1 label cannot carry: '#'"),
        ("(21)SNé1", "cannot carry: 'é'"),
        ("(01)123", "GTIN 123 is not in GS1's form (14 digits)"),
        ("(01)0950600013435A", "GTIN '0950600013435A' should be digits only"),
        (f"]d201{GTIN}30", "The count (30) on the label is empty"),
        # Not GS1 at all, though it says or looks like it is.
        ("]C1", "The barcode holds no data"),
        ("]C1LOT123", "'LOT123' does not start with a GS1 application identifier"),
        (f"01{GTIN}17261231{GS}x", "After (17)261231 the label data"),
        ("(999)X", "(999) is not a GS1 application identifier"),
        ("(10)A(10)B", "The label has (10) twice, with different values: 'A' and 'B'"),
        ("https://example.com/products/42", "is not a GS1 Digital Link: no product in it"),
        ("]W1ABC", "unknown symbology identifier ']W1'"),
        ("]]C1", "not a symbology identifier"),
        # Our own codes.
        (
            "CMD:FOO",
            "Unknown command CMD:FOO (known: RECEIVE, ISSUE, COMPLETE, SHIP, MOVE, "
            "ASSIGN, LOOKUP, RETURN, HOLD, DONE, CANCEL, UNDO, GEN, OK, CLOSE, REOPEN, "
            "RELEASE, RECALL, SIGNOUT)",
        ),
        ("LOC:", "LOC: needs a location code after it"),
        ("job:   ", "JOB: needs a job number after it"),
        ("OP:", "OP: needs a badge after it"),
        ("OP:12\x07", "control character (U+0007)"),
        ("\x02hello\x03", "control character (U+0002)"),
        ("", "Nothing was scanned"),
        (" \r\n", "Nothing was scanned"),
    ],
)
def test_a_scan_that_cannot_be_read_is_refused_with_a_clear_message(
    scan: str, message: str
) -> None:
    with pytest.raises(ScanError) as refused:
        read_scan(scan)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_site_prefixes_replace_the_defaults() -> None:
    config = ScanConfig(location="BIN:", po="P:")
    assert read_scan("bin:A-01", config).kind is ScanKind.LOCATION
    assert read_scan("P:4500012", config).value == "4500012"
    assert read_scan("LOC:A-01", config).kind is ScanKind.TEXT


def test_the_longest_matching_prefix_wins() -> None:
    config = ScanConfig(job="J", operator="JOP:")
    assert (read_scan("JOP:12", config).kind, read_scan("J100", config).kind) == (
        ScanKind.OPERATOR,
        ScanKind.JOB,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"separators": ("-",)}, "'-' can be part of a lot or serial number"),
        ({"separators": ("]",)}, "']' cannot stand for GS"),
        ({"separators": (" ",)}, "' ' cannot stand for GS"),
        ({"separators": ("||",)}, "'||' cannot stand for GS"),
        ({"location": ""}, "scan.prefix.location: '' cannot be a prefix"),
        ({"location": "01"}, "would be taken for GS1 data"),
        ({"job": "loc:"}, "'loc:' is already another prefix"),
    ],
)
def test_a_scan_setting_that_would_make_scans_ambiguous_is_refused(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScanConfigError, match=None) as refused:
        ScanConfig(**overrides)
    assert message in str(refused.value)


def test_the_site_scan_configuration_comes_from_the_settings_table(
    sessions: sessionmaker[Session],
) -> None:
    with unit_of_work(sessions) as session:
        assert scan_config(session) == DEFAULT
        write_setting(session, SCAN_PREFIX_LOCATION, "BIN:")
        write_setting(session, SCAN_SEPARATORS, "| ~")
    with unit_of_work(sessions) as session:
        config = scan_config(session)
    assert config == ScanConfig(location="BIN:", separators=("|", "~"))
    assert read_scan(f"01{GTIN}10LOT123~21SN0001", config).as_json()["serial"] == "SN0001"


# -- no input of any kind escapes as anything but a ScanError ---------------------------------

FRAGMENTS = [
    *(
        [
            "]C1",
            "]d2",
            "]Q3",
            "]e0",
            "]J1",
            "]E0",
            "]E4",
            "]E3",
            "]E1",
            "]E2",
            "]I1",
            "]C0",
            "]Q1",
            "]d1",
            "]Y3",
            "]z",
            "]",
            "[",
        ]
    ),
    GS,
    "<GS>",
    "<gs>",
    "|",
    "~",
    "(",
    ")",
    "(01)",
    "(10)",
    "(17)",
    "(21)",
    "(30)",
    "(240)",
    "00",
    "01",
    "02",
    "10",
    "11",
    "17",
    "21",
    "30",
    "37",
    "240",
    "422",
    "7003",
    "8006",
    "3103",
    GTIN,
    "09506000134353",
    "106141411234567897",
    "5901234123457",
    "261200",
    "261332",
    "LOT123",
    "LOT 123",
    "SN0001",
    "P-100",
    "0",
    "9",
    "99999999",
    "https://",
    "http://",
    "id.gs1.org",
    "/01/",
    "/10/",
    "/21/",
    "?17=",
    "&",
    "=",
    "%",
    "%20",
    "%2F",
    "%ZZ",
    "[::",
    "LOC:",
    "CMD:",
    "cmd:",
    "OP:",
    "JOB:",
    "PO:",
    "SO:",
    " ",
    "\r\n",
    "\t",
    "\x00",
    "\x7f",
    "é",
    "ß",
    "€",
    "\u200b",
    "#",
]


def read_or_refuse(text: str, config: ScanConfig = DEFAULT) -> None:
    try:
        scan = read_scan(text, config)
    except ScanError as refusal:
        assert str(refusal) and "\n" not in str(refusal)
        return
    assert isinstance(scan, Scan)
    json.dumps(scan.as_json())


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_no_text_of_any_kind_escapes_as_anything_but_a_refusal(text: str) -> None:
    read_or_refuse(text)
    read_or_refuse(text, PIPE)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=10).map("".join))
def test_no_gs1_ish_scan_escapes_as_anything_but_a_refusal(text: str) -> None:
    read_or_refuse(text)
    read_or_refuse(text, PIPE)


lots = st.text(alphabet=sorted(CSET82), min_size=1, max_size=20)


@settings(max_examples=150, deadline=None)
@given(lot=lots, serial=lots)
def test_the_same_label_reads_the_same_in_every_form(lot: str, serial: str) -> None:
    element_string = f"]C101{GTIN}10{lot}{GS}21{serial}"
    transcript = f"01{GTIN}10{lot}<GS>21{serial}"
    link = f"https://id.gs1.org/01/{GTIN}/10/{quote(lot, safe='')}/21/{quote(serial, safe='')}"
    expected = item({"01": GTIN, "10": lot, "21": serial}, gtin=GTIN, lot=lot, serial=serial)
    assert read_scan(element_string).as_json() == expected
    if "<gs>" not in (lot + serial).lower():  # in a transcript that text is the separator
        assert read_scan(transcript).as_json() == expected
    assert read_scan(link).as_json() == expected
    if "(" not in lot + serial:  # the human-readable form cannot show a parenthesis
        assert read_scan(f"(01){GTIN}(10){lot}(21){serial}").as_json() == expected


# -- lotscan parse ----------------------------------------------------------------------------


def lotscan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        env={"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_parse_json_prints_the_design_shape_using_the_sites_scan_settings(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "site.db")
    with unit_of_work(open_database(url)) as session:
        write_setting(session, SCAN_SEPARATORS, "|")
    result = lotscan(
        "parse", f"01{GTIN}1726123110LOT123|21SN0001", "--json", "--db", url, home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == FULL


def test_parse_prints_one_line_per_field_and_refuses_on_one_line(tmp_path: Path) -> None:
    shown = lotscan("parse", f"]C101{GTIN}1726120010LOT123<GS>21SN0001", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "kind: item",
        f"ai: (01){GTIN} (17)261200 (10)LOT123 (21)SN0001",
        f"gtin: {GTIN}",
        "lot: LOT123",
        "serial: SN0001",
        "expiry: 2026-12-31",
    ]
    refused = lotscan("parse", "(17)261332", "--json", home=tmp_path)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr == "lotscan: The expiry date 261332 is not a real date\n"


@pytest.mark.parametrize("invisible", ["\u202e", "\u2066", "\u2028", "\u200f"])
def test_a_scan_holding_a_character_that_reorders_or_hides_text_is_refused(
    invisible: str,
) -> None:
    """Not only C0 and C1 controls: a right-to-left override would show a lot number other
    than the one stored (docs/architecture.md, "Text at the doors")."""
    with pytest.raises(ScanError, match="control character"):
        read_scan(f"LOT:L{invisible}1")

"""GS1 Digital Link URIs as GS1's Digital Link URI Syntax standard reads them
(scanner/gs1_digital_link.py): what a scan of one gives, and the rule each refused one
breaks, named for the person scanning.

Cases marked "engine" were checked against GS1's Barcode Syntax Engine's own Digital Link
tests; where lotscan decides otherwise (`;` between query pairs) the standard's grammar is
the reason, said in the id.
"""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.export_epcis import Naming
from scanner.gs1 import GS1Error, read_digital_link
from scanner.numbering import CSET82
from scanner.scan import Scan, ScanError, read_scan

GTIN = "09506000134352"
SSCC = "106141411234567897"
GLN = "9506000134376"
SUPPLIER = "9506000134383"


def ais(uri: str) -> list[tuple[str, str]]:
    """The element strings a scan of `uri` gives, in the order it gives them."""
    scan = read_scan(uri)
    assert scan.item is not None
    return list(scan.item.ai.items())


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        pytest.param(f"https://id.gs1.org/01/{GTIN}", [("01", GTIN)], id="gtin"),
        pytest.param(f"http://a/01/{GTIN}", [("01", GTIN)], id="http"),
        pytest.param(f"HTTPS://A.EXAMPLE/01/{GTIN}", [("01", GTIN)], id="upper-case-scheme"),
        pytest.param(f"HTTP://A.EXAMPLE/01/{GTIN}", [("01", GTIN)], id="engine-upper-case-http"),
        pytest.param(
            f"https://id.gs1.org/01/{GTIN}/22/2A/10/ABC1/21/12345?17=261231",
            [("01", GTIN), ("22", "2A"), ("10", "ABC1"), ("21", "12345"), ("17", "261231")],
            id="every-gtin-qualifier-in-order-then-attribute",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/235/XYZ?10=ABC123",
            [("01", GTIN), ("235", "XYZ"), ("10", "ABC123")],
            id="engine-lot-in-query-beside-the-other-alternative",
        ),
        pytest.param(
            f"https://a/00/{SSCC}?02={GTIN}&37=25&10=ABC123",
            [("00", SSCC), ("02", GTIN), ("37", "25"), ("10", "ABC123")],
            id="engine-sscc-with-contents-as-attributes-in-given-order",
        ),
        pytest.param(
            f"https://a/414/{GLN}/254/32a%2Fb", [("414", GLN), ("254", "32a/b")], id="gln-extension"
        ),
        pytest.param(f"https://brand.example/some/stem/01/{GTIN}", [("01", GTIN)], id="stem"),
        pytest.param(
            f"https://a/01/{GTIN}?17", [("01", GTIN)], id="engine-name-without-value-ignored"
        ),
        pytest.param(
            "https://a/8004/0614141ABC?01=9506000134352",
            [("8004", "0614141ABC"), ("01", "09506000134352")],
            id="engine-gtin-13-in-the-query-padded",
        ),
        pytest.param(
            f"https://a/00/faux/01/{GTIN}/10/00",
            [("01", GTIN), ("10", "00")],
            id="engine-ai-lookalike-in-stem-last-key-wins",
        ),
        pytest.param(f"https://a:8443/01/{GTIN}", [("01", GTIN)], id="port"),
        pytest.param(f"https://192.0.2.1/01/{GTIN}", [("01", GTIN)], id="ipv4-host"),
        pytest.param(f"https://[2001:db8::1]:443/01/{GTIN}", [("01", GTIN)], id="ipv6-host"),
        pytest.param(
            f"https://a/01/{GTIN}/10/ABC%2d123?linkType=gs1:pip&utm_source=flyer&singleton&&#top",
            [("01", GTIN), ("10", "ABC-123")],
            id="engine-other-parameters-and-fragment-ignored",
        ),
        pytest.param(
            f"https://a/01/{GTIN}?3103=000195;17=201225",
            [("01", GTIN), ("3103", "000195"), ("17", "201225")],
            id="semicolon-separates-pairs-grammar-querystringdelim",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10/%2541",
            [("01", GTIN), ("10", "%41")],
            id="percent-decoded-once",
        ),
        pytest.param(f"https://a/01/{GTIN}?", [("01", GTIN)], id="engine-empty-query"),
    ],
)
def test_a_digital_link_gives_its_key_qualifiers_and_attributes(
    uri: str, expected: list[tuple[str, str]]
) -> None:
    assert ais(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        # The web address itself.
        pytest.param(
            f"https://user@a/01/{GTIN}",
            "The web address names a user ('user@a'): a GS1 Digital Link has only a host",
            id="userinfo",
        ),
        pytest.param(
            f"https:///01/{GTIN}",
            "The web address has no host: it should start https://host/",
            id="engine-no-host",
        ),
        pytest.param(
            f"https://[fe80::1%25eth0]/01/{GTIN}",
            "The web address's host [fe80::1%25eth0] has a zone (%25...), which names a network "
            "card of one computer: a GS1 Digital Link cannot use it",
            id="engine-ipv6-zone",
        ),
        pytest.param(
            f"HtTpS://a/01/{GTIN}",
            "is not a GS1 Digital Link: it should start http:// or https:// (or HTTP:// or "
            "HTTPS:// in capitals)",
            id="engine-mixed-case-scheme",
        ),
        pytest.param(
            f"https://my_host/01/{GTIN}",
            "The web address's host 'my_host' is not a host name",
            id="engine-underscore-in-host",
        ),
        pytest.param(
            f"https://[fe80::zz]/01/{GTIN}",
            "The web address's host ['fe80::zz'] is not an IP address",
            id="bad-ipv6",
        ),
        pytest.param(
            f"https://a:https/01/{GTIN}",
            "The web address's port 'https' is not a number",
            id="port-not-digits",
        ),
        pytest.param(
            f"https://$a/01/{GTIN}".replace("$", "<"),
            "has a character no web address carries: '<'",
            id="engine-bad-character",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10/A%G1",
            "has a '%' that is not followed by two hex digits",
            id="lone-percent",
        ),
        # The path: the key, its value, its qualifiers.
        pytest.param(
            "https://a/01/123",
            "The web address's GTIN 123 is not a GTIN: a GTIN has 8, 12, 13 or 14 digits",
            id="gtin-of-3-digits-not-padded",
        ),
        pytest.param(
            "https://a/01/9506000134352",
            "The web address's GTIN 9506000134352 has 13 digits: a web address gives a GTIN "
            "all 14, here 09506000134352",
            id="engine-gtin-13-not-padded",
        ),
        pytest.param(
            "https://a/01/02345673",
            "The web address's GTIN 02345673 has 8 digits",
            id="engine-gtin-8-not-padded",
        ),
        pytest.param(
            "https://a/01/09506000134353",
            "The GTIN's check digit is wrong: 09506000134353 should end in 2",
            id="check-digit",
        ),
        pytest.param(
            "https://a/00/12345", "SSCC 12345 is not in GS1's form (18 digits)", id="sscc-length"
        ),
        pytest.param(
            f"https://a/01/{GTIN}/21/S1/10/L1",
            "In the web address, the lot (10) must come before the serial (21)",
            id="qualifier-order",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10/L1/235/T1",
            "In the web address, the GTIN cannot have both the lot (10) and (235) TPX: they are "
            "alternatives",
            id="alternatives-mixed",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10/A/10/B",
            "The web address repeats (10) in its path",
            id="qualifier-repeated",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/17/261231",
            "In the web address, the expiry date (17) cannot follow the GTIN: it belongs in the "
            "query (?17=...)",
            id="attribute-in-path",
        ),
        pytest.param(
            f"https://a/00/{SSCC}/21/S1",
            "In the web address, the serial (21) cannot follow the SSCC",
            id="key-without-qualifiers",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/89/ABC123",
            "In the web address, 89 after the GTIN is not a GS1 application identifier",
            id="engine-unknown-ai-in-path",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10",
            "In the web address, the lot (10) has no value",
            id="qualifier-without-value",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10//21/S",
            "The web address's path gives the lot (10) no value",
            id="empty-path-value",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/",
            "The web address ends in '/': nothing may follow its last GS1 value",
            id="engine-trailing-slash",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10/LOT%20123",
            "Lot 'LOT 123' has a character a GS1 label cannot carry: space",
            id="decoded-value-checked-like-a-label",
        ),
        pytest.param(
            "https://example.com/products/42",
            "The web address 'https://example.com/products/42' is not a GS1 Digital Link: no "
            "product in it",
            id="no-key",
        ),
        pytest.param(
            "https://id.gs1.org/AQnYUc1gmiYDwA",
            "is not a GS1 Digital Link: no product in it",
            id="compressed-form-not-in-the-standard",
        ),
        pytest.param(
            f"https://a/gtin/{GTIN}",
            "In the web address, 'gtin' is a short name GS1 Digital Link no longer allows: it "
            "should be /01/",
            id="engine-convenience-alpha-key",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/ser/S1",
            "In the web address, 'ser' after the GTIN is a short name GS1 Digital Link no longer "
            "allows: it should be /21/",
            id="convenience-alpha-qualifier",
        ),
        # The query.
        pytest.param(
            f"https://a/01/{GTIN}?99=ABC&999=faux",
            "In the web address's query, 999 is not a GS1 application identifier",
            id="engine-numeric-name-not-an-ai",
        ),
        pytest.param(
            f"https://a/01/{GTIN}?89=ABC",
            "In the web address's query, 89 is not a GS1 application identifier",
            id="engine-unknown-ai-refused-not-dropped",
        ),
        pytest.param(
            f"https://a/00/{SSCC}?21=S1",
            "In the web address, the serial (21) cannot be in the query: GS1 does not allow it "
            "as a data attribute",
            id="not-a-data-attribute",
        ),
        pytest.param(
            f"https://a/01/{GTIN}?17=",
            "The web address's query gives the expiry date (17) no value",
            id="engine-empty-value",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/10/ABC123?99=XYZ&10=ABC123",
            "The web address gives (10) in both its path and its query",
            id="engine-ai-in-path-and-query",
        ),
        pytest.param(
            f"https://a/01/{GTIN}?99=A&99=A",
            "The web address repeats (99) in its query",
            id="engine-repeated-attribute",
        ),
        pytest.param(
            f"https://a/01/{GTIN}?10=ABC123",
            "In the web address, the lot (10) belongs in the path after the GTIN, not in the query",
            id="engine-qualifier-only-in-query",
        ),
        pytest.param(
            f"https://a/01/{GTIN}/21/S1?10=L1",
            "In the web address, the lot (10) belongs in the path after the GTIN, not in the query",
            id="qualifier-that-fits-between-path-qualifiers",
        ),
        pytest.param(
            f"https://a/01/{GTIN}?17=261332",
            "The expiry date 261332 is not a real date",
            id="attribute-checked-like-a-label",
        ),
        pytest.param(
            f"https://a/01/{GTIN}?99=A+B",
            "(99) INTERNAL 'A B' has a character a GS1 label cannot carry: space",
            id="engine-plus-is-space-in-query",
        ),
    ],
)
def test_a_digital_link_that_breaks_a_rule_is_refused_naming_it(uri: str, message: str) -> None:
    with pytest.raises(ScanError) as refusal:
        read_scan(uri)
    assert message in str(refusal.value)


def test_only_http_and_https_are_digital_links() -> None:
    with pytest.raises(GS1Error, match="it should start http:// or https://"):
        read_digital_link(f"ftp://a/01/{GTIN}")


# -- Digital Links built at random ------------------------------------------------------------


def with_check_digit(digits: str) -> str:
    odd = sum(int(d) for d in digits[::-2])
    even = sum(int(d) for d in digits[-2::-2])
    return digits + str((10 - (3 * odd + even) % 10) % 10)


def numbers(length: int) -> st.SearchStrategy[str]:
    """A GS1 key of `length` digits with its check digit."""
    body = st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1)
    return body.map(with_check_digit)


def texts(longest: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=sorted(CSET82), min_size=1, max_size=longest)


hosts = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z][a-z0-9]{0,6}){0,2}", fullmatch=True),
    st.just("192.0.2.1"),
    st.just("[2001:db8::1]"),
).flatmap(lambda host: st.sampled_from([host, f"{host}:8443"]))
stems = st.lists(st.text(alphabet="abcdefghij0123456789-._~", min_size=1, max_size=6), max_size=3)
gtin_paths = st.tuples(
    numbers(14).map(lambda gtin: ("01", gtin)),
    st.one_of(
        st.tuples(
            st.none() | texts(20).map(lambda v: ("22", v)),
            st.none() | texts(20).map(lambda v: ("10", v)),
            st.none() | texts(20).map(lambda v: ("21", v)),
        ),
        st.tuples(texts(28).map(lambda v: ("235", v))),
    ),
).map(lambda path: [path[0], *(each for each in path[1] if each is not None)])
key_paths = st.one_of(
    gtin_paths,
    numbers(18).map(lambda sscc: [("00", sscc)]),
    st.tuples(numbers(13), st.none() | texts(20)).map(
        lambda gln: [("414", gln[0])] + ([("254", gln[1])] if gln[1] else [])
    ),
    numbers(13).map(lambda party: [("417", party)]),
)
dates = st.dates(date(2000, 1, 1), date(2049, 12, 31)).map(lambda day: day.strftime("%y%m%d"))
attributes = st.lists(
    st.one_of(
        dates.map(lambda v: ("17", v)),
        dates.map(lambda v: ("11", v)),
        st.text(alphabet="0123456789", min_size=6, max_size=6).map(lambda v: ("3103", v)),
        texts(90).map(lambda v: ("99", v)),
    ),
    unique_by=lambda attribute: attribute[0],
    max_size=4,
)
others = st.lists(st.sampled_from(["linkType=gs1:pip", "utm_source=flyer", "singleton", ""]))


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "HTTPS"]),
    host=hosts,
    stem=stems,
    path=key_paths,
    query=attributes,
    ignored=others,
    fragment=st.sampled_from(["", "#", "#top"]),
)
def test_a_built_digital_link_reads_back_as_the_element_strings_that_built_it(
    scheme: str,
    host: str,
    stem: list[str],
    path: list[tuple[str, str]],
    query: list[tuple[str, str]],
    ignored: list[str],
    fragment: str,
) -> None:
    where = "".join(f"/{segment}" for segment in stem)
    where += "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in path)
    pairs = [f"{ai}={quote(value, safe='')}" for ai, value in query] + ignored
    uri = f"{scheme}://{host}{where}" + (f"?{'&'.join(pairs)}" if pairs else "") + fragment
    assert ais(uri) == path + query


def read_or_refuse(text: str) -> None:
    try:
        scan = read_scan(text)
    except ScanError as refusal:
        assert str(refusal) and "\n" not in str(refusal)
        return
    assert isinstance(scan, Scan)
    json.dumps(scan.as_json())


URI_PIECES = [
    "/", "01", "/01/", GTIN, "/10/", "/21/", "/235/", "/00/", SSCC, "/414/", GLN, "/254/",
    "?", "&", ";", "=", "17=261231", "99=", "#", "%", "%2F", "%25", "%ZZ", "%00", "+", "[",
    "]", "::1", "%25eth0", "@", ":", "8443", "a.example", "gtin", "LOT", " ", "é",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    scheme=st.sampled_from(["http://", "https://", "HTTPS://", "hTtP://"]),
    rest=st.text() | st.lists(st.sampled_from(URI_PIECES), max_size=12).map("".join),
)
def test_any_web_address_is_read_or_refused_never_crashes(scheme: str, rest: str) -> None:
    read_or_refuse(scheme + rest)


# -- What lotscan writes ----------------------------------------------------------------------


def test_the_digital_links_lotscan_writes_in_epcis_read_back() -> None:
    naming = Naming("https://pumps.example/lotscan", GLN)
    lot, serial = "L/7%&?+A", "S/N=1"
    assert ais(naming.item_class("P-1", GTIN, None)) == [("01", GTIN)]
    assert ais(naming.item_class("P-1", GTIN, lot)) == [("01", GTIN), ("10", lot)]
    assert ais(naming.serial("P-1", GTIN, serial)) == [("01", GTIN), ("21", serial)]
    assert ais(naming.location("RCV-1")) == [("414", GLN), ("254", "RCV-1")]
    assert ais(naming.site()) == [("417", GLN)]
    assert ais(naming.party("supplier", "Acme", SUPPLIER)) == [("417", SUPPLIER)]

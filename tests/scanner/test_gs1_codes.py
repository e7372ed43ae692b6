"""GS1's code-list and structured-value linters, as tables of values and the reason a floor
worker sees (None when the value is fine)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner import gs1_dictionary
from scanner.gs1_codes import (
    CODE_LINTERS,
    lint_couponcode,
    lint_couponposoffer,
    lint_iban,
    lint_importeridx,
    lint_iso3166,
    lint_iso3166alpha2,
    lint_iso4217,
    lint_iso5218,
    lint_iso3166999,
    lint_mediatype,
    lint_packagetype,
)


def test_every_linter_is_registered_under_a_name_the_dictionary_uses() -> None:
    used = {
        name
        for entry in gs1_dictionary.entries().values()
        for component in entry.components
        for name in component.linters
    }
    assert set(CODE_LINTERS) <= used
    assert set(CODE_LINTERS) == {
        "iso3166",
        "iso3166999",
        "iso3166alpha2",
        "iso4217",
        "iban",
        "packagetype",
        "mediatype",
        "importeridx",
        "iso5218",
        "couponcode",
        "couponposoffer",
    }


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("250", None, id="france"),
        pytest.param("840", None, id="united-states"),
        pytest.param("004", None, id="afghanistan-leading-zero"),
        pytest.param("728", None, id="south-sudan"),
        pytest.param("999", "is not a country code (ISO 3166): 999 is not assigned", id="999"),
        pytest.param("000", "is not a country code (ISO 3166): 000 is not assigned", id="000"),
        pytest.param(
            "530", "is not a country code (ISO 3166): 530 is not assigned", id="withdrawn"
        ),
        pytest.param("25", "is not a country code (ISO 3166): it needs 3 digits", id="short"),
        pytest.param("FRA", "is not a country code (ISO 3166): it needs 3 digits", id="letters"),
    ],
)
def test_iso3166(value: str, reason: str | None) -> None:
    assert lint_iso3166(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("999", None, id="999-not-given"),
        pytest.param("276", None, id="germany"),
        pytest.param(
            "998", "is not a country code (ISO 3166) or 999: 998 is not assigned", id="998"
        ),
        pytest.param(
            "9999", "is not a country code (ISO 3166) or 999: it needs 3 digits", id="long"
        ),
    ],
)
def test_iso3166999(value: str, reason: str | None) -> None:
    assert lint_iso3166999(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("DE", None, id="germany"),
        pytest.param("SS", None, id="south-sudan"),
        pytest.param("XK", "is not a country code (ISO 3166 alpha-2): XK is not assigned", id="xk"),
        pytest.param("UK", "is not a country code (ISO 3166 alpha-2): UK is not assigned", id="uk"),
        pytest.param(
            "de", "is not a country code (ISO 3166 alpha-2): it needs 2 capital letters", id="lower"
        ),
        pytest.param(
            "D", "is not a country code (ISO 3166 alpha-2): it needs 2 capital letters", id="short"
        ),
    ],
)
def test_iso3166alpha2(value: str, reason: str | None) -> None:
    assert lint_iso3166alpha2(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("978", None, id="euro"),
        pytest.param("840", None, id="us-dollar"),
        pytest.param("008", None, id="lek-leading-zero"),
        pytest.param("999", None, id="no-currency"),
        pytest.param(
            "250", "is not a currency code (ISO 4217): 250 is not assigned", id="french-franc"
        ),
        pytest.param("191", "is not a currency code (ISO 4217): 191 is not assigned", id="kuna"),
        pytest.param("EUR", "is not a currency code (ISO 4217): it needs 3 digits", id="alpha"),
    ],
)
def test_iso4217(value: str, reason: str | None) -> None:
    assert lint_iso4217(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("DE89370400440532013000", None, id="germany"),
        pytest.param("GB82WEST12345698765432", None, id="britain"),
        pytest.param("NO9386011117947", None, id="norway-shortest"),
        pytest.param("MT84MALT011000012345MTLCAST001S", None, id="malta-letters"),
        pytest.param("LC55HEMM000100010012001200023015", None, id="saint-lucia-longest"),
        pytest.param("AO0600600000100037131174", None, id="unregistered-country-general-rules"),
        pytest.param(
            "DE12370400440532013000", "has IBAN check digits 12; they should be 89", id="check"
        ),
        pytest.param(
            "DE00370400440532013000", "has IBAN check digits 00; they should be 89", id="check-00"
        ),
        pytest.param("MT90MALT011000012345MTLCAST001SABC", None, id="longest-34"),
        pytest.param("BE71096123456769", None, id="belgium"),
        pytest.param(
            "DE89370400440532013000X",
            "has IBAN check digits 89; they should be 80",
            id="one-character-more",
        ),
        pytest.param(
            "XX89370400440532013000", "is not an IBAN: XX is not a country code (ISO 3166)", id="xx"
        ),
        pytest.param(
            "de89370400440532013000",
            "is not an IBAN: it starts with 2 capital letters, the country",
            id="lower-country",
        ),
        pytest.param(
            "DEX9370400440532013000",
            "is not an IBAN: the 2 check digits follow the country",
            id="check-not-digits",
        ),
        pytest.param(
            "DE89 3704 0044 0532 0130 00",
            "is not an IBAN: ' ' is not a digit or a capital letter",
            id="printed-with-spaces",
        ),
        pytest.param(
            "GB82west12345698765432",
            "is not an IBAN: 'w' is not a digit or a capital letter",
            id="lower-bban",
        ),
        pytest.param(
            "AO06",
            "is not an IBAN: an IBAN has 11 to 34 characters, this one 4",
            id="no-bban",
        ),
        pytest.param(
            "MT90MALT011000012345MTLCAST001SABCD",
            "is not an IBAN: an IBAN has 11 to 34 characters, this one 35",
            id="too-long",
        ),
        pytest.param(
            "", "is not an IBAN: it starts with 2 capital letters, the country", id="empty"
        ),
    ],
)
def test_iban(value: str, reason: str | None) -> None:
    assert lint_iban(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("CT", None, id="carton"),
        pytest.param("PX", None, id="pallet"),
        pytest.param("8", None, id="one-character"),
        pytest.param("RB1", None, id="three-characters"),
        pytest.param("ct", "is not a package type code (UN/ECE Recommendation 21)", id="lower"),
        pytest.param("AE", "is not a package type code (UN/ECE Recommendation 21)", id="unlisted"),
        pytest.param("", "is not a package type code (UN/ECE Recommendation 21)", id="empty"),
    ],
)
def test_packagetype(value: str, reason: str | None) -> None:
    assert lint_packagetype(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("01", None, id="first-iccbba"),
        pytest.param("10", None, id="last-iccbba"),
        pytest.param("80", None, id="first-local"),
        pytest.param("99", None, id="last-local"),
        *(
            pytest.param(v, "is not an AIDC media type: the codes are 01 to 10 and 80 to 99", id=v)
            for v in ["00", "11", "79", "1", "001"]
        ),
    ],
)
def test_mediatype(value: str, reason: str | None) -> None:
    assert lint_mediatype(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        *(pytest.param(v, None, id=f"ok-{v}") for v in ["0", "Z", "a", "-", "_"]),
        *(
            pytest.param(v, "is not an importer index: one letter, digit, - or _", id=f"bad-{v!r}")
            for v in ["!", "/", "", "AB", "é"]
        ),
    ],
)
def test_importeridx(value: str, reason: str | None) -> None:
    assert lint_importeridx(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        *(pytest.param(v, None, id=f"ok-{v}") for v in "0129"),
        *(
            pytest.param(
                v,
                "is not a sex code (ISO 5218): 0 not known, 1 male, 2 female, 9 not applicable",
                id=f"bad-{v!r}",
            )
            for v in ["3", "8", "M", "", "00"]
        ),
    ],
)
def test_iso5218(value: str, reason: str | None) -> None:
    assert lint_iso5218(value) == reason


# A coupon code's fields, joined in the tests below. The company prefix 0 + 6 digits, offer
# code 6 digits, save value VLI 1 + 1 digit, primary purchase: VLI 1 + 1 digit, code 0,
# family code 3 digits.
_GCP, _OFFER, _SAVE, _PURCHASE = "0123456", "123456", "15", "110123"
_BASE = _GCP + _OFFER + _SAVE + _PURCHASE
_FIELD_1 = "1" + "0" + "12" + "1" + "456" + "9"  # rules 0, 2nd purchase, same company prefix
_FIELD_2 = "2" + "13" + "2" + "789" + "1" + "7654321"  # 3rd purchase, its own company prefix
_FIELD_3 = "3" + "261231"  # expires 31 December 2026
_FIELD_4 = "4" + "260101"  # starts 1 January 2026
_FIELD_5 = "5" + "0" + "123456"  # serial number of 6 digits
_FIELD_6 = "6" + "1" + "0614141"  # retailer company prefix of 7 digits
_FIELD_9 = "9" + "1" + "0" + "0" + "1"  # save value code 1, applies to item 0, flags


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(_BASE, None, id="required-fields-only"),
        pytest.param(
            _BASE + _FIELD_1 + _FIELD_2 + _FIELD_3 + _FIELD_4 + _FIELD_5 + _FIELD_6 + _FIELD_9,
            None,
            id="every-optional-field",
        ),
        pytest.param(_BASE + _FIELD_3 + _FIELD_9, None, id="some-optional-fields"),
        pytest.param("6" + "123456789012" + "123456" + "512345" + "5123454999", None, id="longest"),
        pytest.param(
            "", "is not a coupon code: the company prefix length digit is missing", id="empty"
        ),
        pytest.param(
            _BASE.replace("5", "A", 1),
            "is not a coupon code: 'A' is not a digit",
            id="letter",
        ),
        pytest.param(
            "7" + _BASE[1:],
            "is not a coupon code: the company prefix length digit is 7; "
            "it should be one of 0, 1, 2, 3, 4, 5, 6",
            id="company-prefix-vli",
        ),
        pytest.param(
            "0123",
            "is not a coupon code: the company prefix is cut short: 3 of 6 digits",
            id="company-prefix-short",
        ),
        pytest.param(_GCP, "is not a coupon code: the offer code is missing", id="no-offer-code"),
        pytest.param(
            _GCP + "123",
            "is not a coupon code: the offer code is cut short: 3 of 6 digits",
            id="offer-code-short",
        ),
        pytest.param(
            _GCP + _OFFER + "0",
            "is not a coupon code: the save value length digit is 0; "
            "it should be one of 1, 2, 3, 4, 5",
            id="save-value-vli",
        ),
        pytest.param(
            _GCP + _OFFER + _SAVE,
            "is not a coupon code: the primary purchase requirement length digit is missing",
            id="no-purchase-requirement",
        ),
        pytest.param(
            _GCP + _OFFER + _SAVE + "115123",
            "is not a coupon code: the primary purchase requirement code is 5; "
            "it should be one of 0, 1, 2, 3, 4, 9",
            id="requirement-code",
        ),
        pytest.param(
            _GCP + _OFFER + _SAVE + "1101",
            "is not a coupon code: the primary purchase family code is cut short: 1 of 3 digits",
            id="family-code-short",
        ),
        pytest.param(
            _BASE + "14",
            "is not a coupon code: the additional purchase rules code is 4; "
            "it should be one of 0, 1, 2, 3",
            id="rules-code",
        ),
        pytest.param(
            _BASE + "101245688",
            "is not a coupon code: the second purchase company prefix length digit is 8; "
            "it should be one of 0, 1, 2, 3, 4, 5, 6, 9",
            id="second-company-prefix-vli",
        ),
        pytest.param(
            _BASE + "2131789",
            "is not a coupon code: the third purchase company prefix length digit is missing",
            id="third-purchase-short",
        ),
        pytest.param(
            _BASE + "3261331",
            "is not a coupon code: the expiration date 261331 is not a date (YYMMDD)",
            id="expiry-month-13",
        ),
        pytest.param(
            _BASE + "3250229",
            "is not a coupon code: the expiration date 250229 is not a date (YYMMDD)",
            id="expiry-29-february-2025",
        ),
        pytest.param(_BASE + "3240229", None, id="expiry-29-february-2024"),
        pytest.param(_BASE + "3000229", None, id="expiry-29-february-2000"),
        pytest.param(
            _BASE + "3260431",
            "is not a coupon code: the expiration date 260431 is not a date (YYMMDD)",
            id="expiry-31-april",
        ),
        pytest.param(
            _BASE + "32612",
            "is not a coupon code: the expiration date is cut short: 4 of 6 digits",
            id="expiry-short",
        ),
        pytest.param(
            _BASE + "3260101" + "4261231",
            "is not a coupon code: it expires (260101) before it starts (261231)",
            id="expires-before-start",
        ),
        pytest.param(
            _BASE + "52123",
            "is not a coupon code: the serial number is cut short: 3 of 8 digits",
            id="serial-short",
        ),
        pytest.param(
            _BASE + "60",
            "is not a coupon code: the retailer company prefix or GLN length digit is 0; "
            "it should be one of 1, 2, 3, 4, 5, 6, 7",
            id="retailer-vli",
        ),
        pytest.param(
            _BASE + "93",
            "is not a coupon code: the save value code is 3; it should be one of 0, 1, 2, 5, 6",
            id="save-value-code",
        ),
        pytest.param(
            _BASE + "913",
            "is not a coupon code: the save value applies to item is 3; "
            "it should be one of 0, 1, 2",
            id="applies-to-item",
        ),
        pytest.param(
            _BASE + "910",
            "is not a coupon code: the store coupon flag is missing",
            id="no-store-flag",
        ),
        pytest.param(
            _BASE + "91002",
            "is not a coupon code: the don't multiply flag is 2; it should be one of 0, 1",
            id="dont-multiply-flag",
        ),
        pytest.param(
            _BASE + _FIELD_3 + _FIELD_1,
            f"is not a coupon code: {_FIELD_1} is left over after the last field; "
            "optional fields come in the order 1, 2, 3, 4, 5, 6, 9",
            id="fields-out-of-order",
        ),
        pytest.param(
            _BASE + "7",
            "is not a coupon code: 7 is left over after the last field; "
            "optional fields come in the order 1, 2, 3, 4, 5, 6, 9",
            id="unknown-field",
        ),
    ],
)
def test_couponcode(value: str, reason: str | None) -> None:
    assert lint_couponcode(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("0" + "0123456" + "123456" + "0123456", None, id="format-0"),
        pytest.param("1" + "0123456" + "123456" + "0123456", None, id="format-1"),
        pytest.param(
            "0" + "6123456789012" + "123456" + "9123456789012345", None, id="longest-fields"
        ),
        pytest.param("", "is not a paperless coupon code: the format code is missing", id="empty"),
        pytest.param(
            "2" + "0123456" + "123456" + "0123456",
            "is not a paperless coupon code: the format code is 2; it should be one of 0, 1",
            id="format-2",
        ),
        pytest.param(
            "07",
            "is not a paperless coupon code: the funder company prefix length digit is 7; "
            "it should be one of 0, 1, 2, 3, 4, 5, 6",
            id="funder-vli",
        ),
        pytest.param(
            "0" + "1123456",
            "is not a paperless coupon code: the funder company prefix is cut short: 6 of 7 digits",
            id="funder-short",
        ),
        pytest.param(
            "0" + "0123456",
            "is not a paperless coupon code: the offer code is missing",
            id="no-offer-code",
        ),
        pytest.param(
            "0" + "0123456" + "123456",
            "is not a paperless coupon code: the serial number length digit is missing",
            id="no-serial",
        ),
        pytest.param(
            "0" + "0123456" + "123456" + "112345",
            "is not a paperless coupon code: the serial number is cut short: 5 of 7 digits",
            id="serial-short",
        ),
        pytest.param(
            "0" + "0123456" + "123456" + "0123456" + "78",
            "is not a paperless coupon code: 78 is left over after the last field",
            id="excess",
        ),
        pytest.param(
            "0x",
            "is not a paperless coupon code: 'x' is not a digit",
            id="letter",
        ),
    ],
)
def test_couponposoffer(value: str, reason: str | None) -> None:
    assert lint_couponposoffer(value) == reason


@pytest.mark.parametrize("name", sorted(CODE_LINTERS))
@given(
    value=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="0123456789", max_size=80),
        st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_ a", max_size=40),
    )
)
def test_any_text_gets_none_or_a_one_line_reason(name: str, value: str) -> None:
    reason = CODE_LINTERS[name](value)
    assert reason is None or (isinstance(reason, str) and reason and "\n" not in reason)

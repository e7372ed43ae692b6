"""GS1's Barcode Syntax Dictionary as lotscan reads it (scanner/gs1_dictionary.py)."""

from __future__ import annotations

from scanner import gs1_dictionary
from scanner.gs1_dictionary import Component, entry, identifier_at, matches


def test_a_range_becomes_one_entry_per_ai_with_its_rules() -> None:
    weights = [entry(f"310{n}") for n in range(6)]
    assert all(each is not None for each in weights)
    net = entry("3103")
    assert net is not None
    assert net.predefined_length and net.data_attribute
    assert net.components == (Component("N", 6, 6, False, ()),)
    assert net.requires == ((("01",), ("02",)),)
    assert net.excludes == ("310n",)
    assert entry("3106") is None


def test_components_carry_their_linters_and_optional_parts() -> None:
    gdti = entry("253")
    assert gdti is not None
    assert gdti.components == (
        Component("N", 13, 13, False, ("csum", "key")),
        Component("X", 1, 17, True, ()),
    )
    assert (gdti.shortest, gdti.longest, gdti.fixed_length) == (13, 30, False)
    assert gdti.primary_key and gdti.qualifiers == ()


def test_digital_link_keys_and_their_qualifier_sequences() -> None:
    gtin = entry("01")
    assert gtin is not None
    assert gtin.primary_key
    assert gtin.qualifiers == (("22", "10", "21"), ("235",))
    mto = entry("03")
    assert mto is not None and not mto.data_attribute and not mto.primary_key


def test_several_requirements_must_all_hold_and_groups_join_with_plus() -> None:
    count = entry("37")
    assert count is not None
    assert count.requires == ((("00",),), (("02",), ("8026",)))
    signature = entry("8030")
    assert signature is not None
    assert ("01", "21") in signature.requires[0]


def test_patterns_match_any_digit_where_they_say_n() -> None:
    assert matches("392n", "3925")
    assert matches("31nn", "3103")
    assert not matches("392n", "3935")
    assert not matches("392n", "39")


def test_the_ai_at_the_start_of_data_is_found_by_length() -> None:
    assert identifier_at("0109506000134352") == entry("01")
    assert identifier_at("8013ABC") == entry("8013")
    assert identifier_at("4309") == entry("4309")
    assert identifier_at("23") is None
    assert identifier_at("9") is None


def test_every_ai_is_prefix_free_as_the_lookup_assumes() -> None:
    codes = set(gs1_dictionary.entries())
    for code in codes:
        for length in range(2, len(code)):
            assert code[:length] not in codes, code

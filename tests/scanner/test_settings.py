"""Every setting defined once: its key as older databases hold it, how its text reads and is
written back, its default, and a stored text that does not read refused by the setting's
name."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from labels.layout import DEFAULT_LAYOUT
from scanner.db import reading, unit_of_work
from scanner.models import Setting
from scanner.scan import DEFAULT, PREFIXED
from scanner.settings import (
    CONSOLE_IDLE_MINUTES,
    DEMO_BUILT_ON,
    DEVICE_ID,
    EXPIRY_POLICY,
    GS1_PAIRING,
    LAST_ERROR,
    LAST_SYNC_AT,
    ONLINE,
    PRINTER_ENABLED,
    PRINTER_LAYOUT,
    PULL_CURSOR,
    SEQ_FLOOR,
    SETTINGS,
    SIGN_OUT_MINUTES,
    ExpiryPolicy,
    Gs1Pairing,
    SettingError,
    SettingKey,
    forget_setting,
    number_counter,
    read_setting,
    setting_named,
    stored_text,
    write_setting,
)

AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("setting", "value", "text"),
    [
        (EXPIRY_POLICY, ExpiryPolicy.BLOCK, "block"),
        (GS1_PAIRING, Gs1Pairing.STRICT, "strict"),
        (PRINTER_ENABLED, False, "off"),
        (PRINTER_ENABLED, True, "on"),
        (ONLINE, True, "1"),
        (ONLINE, False, "0"),
        (ONLINE, None, ""),
        (PULL_CURSOR, 0, "0"),
        (PULL_CURSOR, 42, "42"),
        (SEQ_FLOOR, 7, "7"),
        (LAST_SYNC_AT, AT, "2026-11-02T08:30:00+00:00"),
        (LAST_ERROR, None, ""),
        (LAST_ERROR, "The central store did not answer", "The central store did not answer"),
        (DEMO_BUILT_ON, date(2026, 11, 2), "2026-11-02"),
        (DEVICE_ID, "H7KQ", "H7KQ"),
        (number_counter("lot", "RESIN"), 12, "12"),
    ],
)
def test_a_value_is_kept_as_the_text_older_databases_hold(
    sessions: sessionmaker[Session], setting: SettingKey[Any], value: Any, text: str
) -> None:
    with unit_of_work(sessions) as session:
        write_setting(session, setting, value)
    with reading(sessions) as session:
        assert stored_text(session, setting) == text
        assert read_setting(session, setting) == value


@pytest.mark.parametrize(
    ("setting", "default"),
    [
        (EXPIRY_POLICY, ExpiryPolicy.WARN),
        (GS1_PAIRING, Gs1Pairing.OFF),
        (PRINTER_ENABLED, True),
        (PRINTER_LAYOUT, DEFAULT_LAYOUT),
        (PULL_CURSOR, None),
        (SEQ_FLOOR, 0),
        (ONLINE, None),
        (DEVICE_ID, None),
        (number_counter("serial", "PUMP"), 0),
    ],
)
def test_a_setting_never_stored_reads_as_its_default(
    sessions: sessionmaker[Session], setting: SettingKey[Any], default: Any
) -> None:
    with reading(sessions) as session:
        assert read_setting(session, setting) == default


def test_the_scan_prefixes_default_to_the_scan_language_as_shipped() -> None:
    assert {kind: setting.default for kind, (setting, _) in PREFIXED.items()} == {
        kind: DEFAULT.prefix(kind) for kind in PREFIXED
    }


@pytest.mark.parametrize(
    ("setting", "stored", "refusal"),
    [
        (EXPIRY_POLICY, "sometimes", "Setting expiry_policy: 'sometimes' is not one of warn, "),
        (GS1_PAIRING, "sometimes", "Setting gs1_pairing: 'sometimes' is not one of off, strict"),
        (PRINTER_ENABLED, "yes", "Setting printer.enabled: 'yes' is not on or off"),
        (PULL_CURSOR, "-1", "Setting sync.pull_cursor: '-1' is not a whole number, 0 or more"),
        (LAST_SYNC_AT, "yesterday", "Setting sync.last_sync_at: 'yesterday' is not a date and"),
        (
            SIGN_OUT_MINUTES,
            "999999999999999999999999",
            "Setting handheld.sign_out_minutes: '999999999999999999999999' is not a whole"
            " number from 0 to 1440",
        ),
        (CONSOLE_IDLE_MINUTES, "1441", "Setting console.idle_minutes: '1441' is not a whole"),
    ],
)
def test_a_stored_text_that_does_not_read_is_refused_by_the_settings_name(
    sessions: sessionmaker[Session], setting: SettingKey[Any], stored: str, refusal: str
) -> None:
    with unit_of_work(sessions) as session:
        session.add(Setting(key=setting.key, value=stored))
    with reading(sessions) as session, pytest.raises(SettingError) as refused:
        read_setting(session, setting)
    assert str(refused.value).startswith(refusal)


def test_forgetting_a_setting_brings_its_default_back(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        write_setting(session, EXPIRY_POLICY, ExpiryPolicy.IGNORE)
        forget_setting(session, EXPIRY_POLICY)
        assert stored_text(session, EXPIRY_POLICY) is None
        assert read_setting(session, EXPIRY_POLICY) == ExpiryPolicy.WARN


def test_every_setting_has_its_own_key_short_enough_for_the_table_and_a_meaning() -> None:
    keys = [setting.key for setting in SETTINGS]
    assert len(set(keys)) == len(keys)
    assert all(len(key) <= 60 and setting.doc for key, setting in zip(keys, SETTINGS, strict=True))
    assert setting_named(" expiry_policy ") is EXPIRY_POLICY


def test_an_unknown_name_is_refused_with_the_names_there_are() -> None:
    with pytest.raises(SettingError, match="Unknown setting 'expiry': the settings are expiry_"):
        setting_named("expiry")

"""What a handheld's start reads without the ORM (`scanner.device_start`): the same scan
configuration, device id and sign-in facts the ORM reads, and no answer at all wherever
opening the database the usual way has something to do or to say."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import HEAD, open_database, unit_of_work
from scanner.device_start import read_device_start, sqlite_path
from scanner.scan import ScanConfig, ScanConfigError, scan_config
from scanner.settings import (
    GS1_PAIRING,
    SCAN_PREFIX_LOCATION,
    SCAN_SEPARATORS,
    Gs1Pairing,
    device_id,
    write_setting_text,
)
from scanner.workspace import sqlite_url
from tests.support.plant import add_plant


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A current device database with its device id and no operators."""
    url = sqlite_url(tmp_path / "lotscan.db")
    sessions = open_database(url)
    with unit_of_work(sessions) as session:
        device_id(session)
    sessions.kw["bind"].dispose()
    yield url


def settings(url: str, *pairs: tuple[object, str]) -> sessionmaker[Session]:
    sessions = open_database(url)
    with unit_of_work(sessions) as session:
        for setting, text in pairs:
            write_setting_text(session, setting, text)  # type: ignore[arg-type]
    return sessions


def test_a_start_reads_the_scan_settings_and_device_id_the_orm_reads(url: str) -> None:
    sessions = settings(
        url, (SCAN_PREFIX_LOCATION, "BIN:"), (SCAN_SEPARATORS, "| ~"), (GS1_PAIRING, "strict")
    )
    with unit_of_work(sessions) as session:
        add_plant(session)
        expected = (scan_config(session), device_id(session))
    sessions.kw["bind"].dispose()
    start = read_device_start(url)
    assert start is not None
    assert (start.config, start.device) == expected
    assert start.config.location == "BIN:"
    assert start.config.separators == ("|", "~")
    assert start.config.gs1_pairing == Gs1Pairing.STRICT
    assert start.has_operators


def test_a_start_on_a_database_with_no_operators_knows_nobody_can_sign_in(url: str) -> None:
    start = read_device_start(url)
    assert start is not None
    assert (start.config, start.has_operators) == (ScanConfig(), False)


def test_a_setting_that_makes_scans_ambiguous_is_refused_as_the_orm_refuses_it(
    url: str,
) -> None:
    settings(url, (SCAN_PREFIX_LOCATION, "OP:")).kw["bind"].dispose()
    with pytest.raises(ScanConfigError, match="'OP:' is already another prefix"):
        read_device_start(url)


def test_a_missing_database_is_left_to_open_database_and_not_made(tmp_path: Path) -> None:
    path = tmp_path / "lotscan.db"
    assert read_device_start(sqlite_url(path)) is None
    assert not path.exists()


def test_a_database_without_its_device_id_is_left_to_open_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "lotscan.db")
    open_database(url).kw["bind"].dispose()  # migrated; the device id is made on first use
    assert read_device_start(url) is None


@pytest.mark.parametrize("revisions", [[], ["0001"], ["9999"], [HEAD, "9999"]])
def test_a_schema_not_exactly_at_the_newest_migration_is_left_to_open_database(
    url: str, revisions: list[str]
) -> None:
    with sqlite3.connect(sqlite_path(url)) as connection:  # type: ignore[arg-type]
        connection.execute("DELETE FROM alembic_version")
        connection.executemany(
            "INSERT INTO alembic_version VALUES (?)", [(each,) for each in revisions]
        )
    connection.close()
    assert read_device_start(url) is None


def test_a_file_that_is_not_a_database_is_left_to_open_database(tmp_path: Path) -> None:
    path = tmp_path / "lotscan.db"
    path.write_text("not a database\n" * 100)
    assert read_device_start(sqlite_url(path)) is None


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:lotscan.db?mode=ro&uri=true",
        "sqlite:///lots%20can.db",
        "postgresql+psycopg://lotscan@db/lotscan",
    ],
)
def test_urls_only_sqlalchemy_reads_as_meant_are_left_to_open_database(url: str) -> None:
    assert sqlite_path(url) is None
    assert read_device_start(url) is None

"""What a handheld's start loads: the app, its database opened and a sign-in read leave the
sync client, the label renderers, Alembic, biip and SQLAlchemy's PostgreSQL dialect
unloaded. Each loads when first used (a sync, a label, a migration, a GS1 scan, a
PostgreSQL engine); a start does not pay for them (bench startup). The first frame itself
waits for no SQLAlchemy at all: the app opens its database with the ORM after it."""

import subprocess
import sys
import textwrap
from pathlib import Path

from scanner.db import open_database, unit_of_work
from scanner.settings import device_id
from scanner.workspace import sqlite_url

NOT_AT_START = {
    "alembic",  # a current schema is checked from its alembic_version row
    "biip",  # our own codes (OP:, CMD:...) are read without it
    "httpx",
    "pydantic",
    "psycopg",
    "sqlalchemy.dialects.postgresql",  # the partial indexes' PostgreSQL side waits for one
    "PIL",
    "barcode",
    "pyzbar",
    "zxingcpp",
    "fastapi",
    "uvicorn",
    "labels",
    "sync.device.client",
    "sync.protocol",
    "sync.central.models",
    "sync.central.apply",
}


def test_a_start_and_a_sign_in_load_nothing_the_first_screen_does_not_need(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "device.db")
    open_database(url).kw["bind"].dispose()  # made and migrated here, opened below
    code = (
        "import sys; import screens.app; from scanner.db import open_database; "
        "from scanner.scan import read_scan; "
        f"open_database({url!r}).kw['bind'].dispose(); "
        "read_scan('OP:B1001'); read_scan('CMD:RECEIVE'); "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert (
        sorted(
            name
            for name in loaded
            if any(name == early or name.startswith(f"{early}.") for early in NOT_AT_START)
        )
        == []
    )


BEFORE_THE_FIRST_FRAME = {"sqlalchemy", "alembic", "scanner.models"}

FIRST_FRAME = textwrap.dedent(
    """
    import asyncio, sys
    from scanner.cli import build_parser
    from scanner.device_start import read_device_start
    from screens.app import LotscanApp

    build_parser().parse_args([])  # as `lotscan` starts, up to scanner.cli.open_tui

    class FirstFrame(LotscanApp):
        def on_ready(self):
            print("\\n".join(sorted(sys.modules)), flush=True)
            self.exit()

    async def main():
        app = FirstFrame(read_device_start(sys.argv[1]), cursor_blink=False)
        async with app.run_test(size=(40, 16)) as pilot:
            await pilot.app.workers.wait_for_complete()

    asyncio.run(main())
    """
)


def test_the_first_frame_is_drawn_before_sqlalchemy_is_loaded(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "device.db")
    sessions = open_database(url)  # made, migrated and given its device id here
    with unit_of_work(sessions) as session:
        device_id(session)
    sessions.kw["bind"].dispose()
    result = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, url], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "screens.app" in loaded
    assert (
        sorted(
            name
            for name in loaded
            if any(
                name == early or name.startswith(f"{early}.") for early in BEFORE_THE_FIRST_FRAME
            )
        )
        == []
    )

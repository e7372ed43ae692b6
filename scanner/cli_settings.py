"""`lotscan settings [--all] [--json]`, `settings get NAME`, `settings set NAME VALUE` and
`settings reset NAME`: the settings of the device database (or `--db`), as
`scanner.settings` defines them. A value is checked by its type, and then by the rules it
takes part in (no two scan prefixes alike, a printer lotscan can use), in the transaction
that writes it: a refused value changes nothing. `scanner/cli.py` adds these commands with
`add_settings_parsers`."""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING, Any

from scanner.db import open_database, reading, unit_of_work
from scanner.errors import LotscanError
from scanner.json_output import print_json
from scanner.plain_text import shown
from scanner.settings import (
    PRINTER_ENABLED,
    PRINTER_LAYOUT,
    PRINTER_URL,
    SETTINGS,
    Scope,
    SettingError,
    SettingKey,
    forget_setting,
    refuse_site_wide,
    setting_named,
    stored_text,
    write_setting_text,
)
from scanner.workspace import database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SETTABLE = tuple(setting for setting in SETTINGS if setting.settable)
_WIDTH = 88
_WHERE = {
    Scope.DEVICE.value: " Used on a device's database, not the central store's.",
    Scope.CENTRAL.value: " Used on the central store's database.",
    Scope.ANY.value: "",
}


def add_settings_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="JSON for programs")
    settings = commands.add_parser(
        "settings",
        parents=[common, as_json],
        help="this database's settings: list them, get, set or reset one",
    )
    settings.add_argument(
        "--all", action="store_true", help="also what lotscan keeps for itself (sync, ids)"
    )
    settings.set_defaults(handler=run_settings_list)
    actions = settings.add_subparsers(title="actions", metavar="ACTION")
    get = actions.add_parser("get", parents=[common, as_json], help="one setting's value")
    get.add_argument("name", metavar="NAME")
    get.set_defaults(handler=run_settings_get)
    chosen = actions.add_parser("set", parents=[common], help="set one, checked by its type")
    chosen.add_argument("name", metavar="NAME")
    chosen.add_argument("value", metavar="VALUE")
    chosen.set_defaults(handler=run_settings_set)
    reset = actions.add_parser("reset", parents=[common], help="back to its default")
    reset.add_argument("name", metavar="NAME")
    reset.set_defaults(handler=run_settings_reset)


def run_settings_list(args: argparse.Namespace) -> int:
    shown = SETTINGS if args.all else SETTABLE
    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        rows = [setting_row(session, setting) for setting in shown]
    if args.json:
        print_json(rows)
    else:
        print("\n".join(format_setting(row) for row in rows))
    return 0


def run_settings_get(args: argparse.Namespace) -> int:
    setting = setting_named(args.name)
    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        row = setting_row(session, setting)
    if row["problem"] is not None:
        raise SettingError(row["problem"])
    if args.json:
        print_json(row)
    else:
        print(shown(row["text"]))
    return 0


def run_settings_set(args: argparse.Namespace) -> int:
    setting = _settable(args.name)
    sessions = open_database(database_url(args.db))
    with unit_of_work(sessions) as session:
        refuse_site_wide(session, setting)
        write_setting_text(session, setting, args.value)
        _check_rules(session, setting)
        published = _publish(session, setting)
        row = setting_row(session, setting)
    print(format_setting(row, described=False) + published)
    return 0


def run_settings_reset(args: argparse.Namespace) -> int:
    setting = _settable(args.name)
    sessions = open_database(database_url(args.db))
    with unit_of_work(sessions) as session:
        refuse_site_wide(session, setting)
        forget_setting(session, setting)
        _check_rules(session, setting)
        published = _publish(session, setting)
        row = setting_row(session, setting)
    print(format_setting(row, described=False) + published)
    return 0


def _publish(session: Session, setting: SettingKey[Any]) -> str:
    """A site-wide setting set on the central store is published to every handheld, in
    the transaction that writes it; returns words saying so ("" elsewhere)."""
    if not setting.site_wide:
        return ""
    from sync.central.changes import is_central
    from sync.central.pull import publish_settings

    if not is_central(session):
        return ""
    publish_settings(session)
    return "\nEvery handheld takes it on its next sync"


def _settable(name: str) -> SettingKey[Any]:
    try:
        setting = setting_named(name)
    except SettingError:
        setting_named(name, SETTABLE)  # the message lists the settings a person sets
        raise
    if not setting.settable:
        raise SettingError(
            f"Setting {setting.key} is kept by lotscan itself, not set by hand; "
            f"the settings a person sets are {', '.join(each.key for each in SETTABLE)}"
        )
    return setting


def _check_rules(session: Session, setting: SettingKey[Any]) -> None:
    """The rules a setting takes part in beyond its type, checked on the value just
    written (a refusal rolls the write back). Printer rules are the labels package's: the
    command line, the composition root, brings them in."""
    try:
        if setting.key.startswith("scan."):
            from scanner.scan import scan_config

            scan_config(session)  # no two prefixes alike, separators that stand for GS
        elif setting in (PRINTER_URL, PRINTER_LAYOUT, PRINTER_ENABLED):
            from labels.printing import check_printer_setting

            check_printer_setting(session, setting)
    except LotscanError as error:
        if str(error).startswith("Setting "):
            raise
        raise SettingError(f"Setting {setting.key}: {error}") from None


def setting_row(session: Session, setting: SettingKey[Any]) -> dict[str, Any]:
    """What `lotscan settings` shows of `setting`: its value (as JSON and as text), its
    default, whether the database holds one, what it takes, where it applies and what it
    means, and whether the central store sets it for the whole site (`site_wide`). A
    stored text that does not read is shown as `problem`, not raised: the list must show
    every setting even when one is wrong."""
    text = stored_text(session, setting)
    problem: str | None = None
    value: Any = None
    try:
        typed = setting.value_of(text)
        value, text = setting.kind.as_json(typed), setting.text(typed)
    except SettingError as error:
        problem = str(error)
    return {
        "name": setting.key,
        "value": value,
        "text": text,
        "default": setting.kind.as_json(setting.default),
        "default_text": setting.text(setting.default),
        "stored": stored_text(session, setting) is not None,
        "takes": setting.kind.allowed,
        "applies_to": setting.scope.value,
        "settable": setting.settable,
        "site_wide": setting.site_wide,
        "description": setting.doc,
        "problem": problem,
    }


def format_setting(row: dict[str, Any], *, described: bool = True) -> str:
    """One setting for a terminal: `name: value (default)`, then what it means."""
    line = f"{row['name']}: {_shown(row['text'])}"
    if row["problem"] is not None:
        line += f" (does not read: {shown(row['problem'])})"
    elif not row["stored"]:
        line += " (default)"
    elif row["text"] != row["default_text"]:
        line += f" (default: {shown(row['default_text']) or 'none'})"
    if not described:
        return line
    about = f"{row['description']} Takes {row['takes']}.{_WHERE[row['applies_to']]}"
    if not row["settable"]:
        about += " Kept by lotscan itself."
    if row.get("site_wide"):
        about += " Site-wide: set on the central store, every enrolled handheld takes it."
    return (
        line
        + "\n"
        + textwrap.fill(
            about, _WIDTH, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
        )
    )


def _shown(text: str | None) -> str:
    """A stored value for a terminal: control characters spelled out (old data may hold
    them), none as `(none)`."""
    return shown(text) if text else "(none)"

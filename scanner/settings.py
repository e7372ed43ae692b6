"""Every setting lotscan keeps, in one place: its key, type, default and meaning.

Settings live in the database itself (the `settings` table, one row of text a setting), so a
`--db URL` carries everything it needs. Each is defined here once, as a `SettingKey`: the
key as stored (never renamed: existing databases keep working), how its text reads as a
Python value, its default, where it applies (a handheld's database, the central store's, or
either), and whether a person sets it (`lotscan settings set NAME VALUE`) or lotscan keeps
it for itself (a sync cursor, the time of the last sync). Code reads and writes them with
`read_setting` and `write_setting`, never by a key spelled out; a value that does not read
is refused with the setting's name and what it takes.

The handheld's key layout is not a setting: it is a file a site copies between devices,
`keymap.toml` next to the device database (`screens.keymap`).
"""

from __future__ import annotations

import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from scanner.clock import written_day
from scanner.errors import LotscanError
from scanner.plain_text import quoted, refuse_control

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

MAX_VALUE = 200
"""What the settings table keeps of a value (`scanner.models.Setting.value`)."""


class SettingError(LotscanError):
    """A setting that does not exist, cannot be set by hand, or a value it does not take."""


class Scope(StrEnum):
    """Which database a setting means something in."""

    DEVICE = "device"  # a handheld's own database
    CENTRAL = "central"  # the central store's database
    ANY = "any"  # either: each database keeps its own


# ---- how a setting's text reads ----------------------------------------------------------


class Kind(ABC, Generic[T]):
    """How a setting's stored text reads as a value, and back. `parse` raises ValueError
    saying why a text is refused ("'strict' is not one of warn, block, ignore");
    `allowed` says in words what it takes."""

    allowed: str

    @abstractmethod
    def parse(self, text: str) -> T: ...

    def text(self, value: T) -> str:
        return str(value)

    def as_json(self, value: T) -> Any:
        return value


class Text(Kind[str]):
    def __init__(self, allowed: str = "text", *, longest: int = MAX_VALUE) -> None:
        self.allowed = allowed
        self.longest = longest

    def parse(self, text: str) -> str:
        if len(text) > self.longest:
            raise ValueError(f"{text[:12]!r}... is longer than {self.longest} characters")
        return text


class Phone(Kind[str]):
    """A phone number as people write it (+1 555 0100, (030) 1234-56 ext. 7): at most 40
    characters, with digits in it. An export gives it to whoever must call."""

    allowed = "a phone number: at most 40 characters, with digits in it"

    def parse(self, text: str) -> str:
        if len(text) > 40:
            raise ValueError(f"{quoted(text)} is {len(text)} characters; at most 40 fit")
        if not any(ch.isdigit() for ch in text):
            raise ValueError(f"{quoted(text)} is not a phone number: it has no digits")
        return text


class DeviceId(Kind[str]):
    """A device id: it names files (a printed label's) and is spliced into minted numbers,
    so it is a plain word, read back as strictly as the central store takes one
    (`sync.protocol.EnrollRequest.device_id`)."""

    allowed = "a device id: 1 to 20 letters, digits or -, such as H7KQ"
    _FORM = re.compile(r"[0-9A-Za-z-]{1,20}")

    def parse(self, text: str) -> str:
        if not (text.isascii() and self._FORM.fullmatch(text)):
            raise ValueError(f"{quoted(text)} is not {self.allowed}")
        return text


class WholeNumber(Kind[int]):
    def __init__(self, least: int = 0, most: int | None = None) -> None:
        self.least, self.most = least, most
        self.allowed = (
            f"a whole number, {least} or more"
            if most is None
            else f"a whole number from {least} to {most}"
        )

    def parse(self, text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < self.least:
            raise ValueError(f"{text!r} is not {self.allowed}")
        if self.most is not None and int(text) > self.most:
            raise ValueError(f"{text!r} is not {self.allowed}")
        return int(text)


class Switch(Kind[bool]):
    """A switch kept as two words, `on`/`off` for a person's, `1`/`0` for lotscan's own."""

    def __init__(self, yes: str = "on", no: str = "off") -> None:
        self.yes, self.no = yes, no
        self.allowed = f"{yes} or {no}"

    def parse(self, text: str) -> bool:
        if text.strip().lower() not in (self.yes, self.no):
            raise ValueError(f"{text!r} is not {self.allowed}")
        return text.strip().lower() == self.yes

    def text(self, value: bool) -> str:
        return self.yes if value else self.no


class Choice(Kind[E]):
    def __init__(self, choices: type[E]) -> None:
        self.choices = choices
        self.allowed = "one of " + ", ".join(choice.value for choice in choices)

    def parse(self, text: str) -> E:
        try:
            return self.choices(text.strip().lower())
        except ValueError:
            raise ValueError(f"{text!r} is not {self.allowed}") from None

    def text(self, value: E) -> str:
        return value.value


class Moment(Kind[datetime]):
    allowed = "a date and time, ISO 8601"

    def parse(self, text: str) -> datetime:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {self.allowed}") from None

    def text(self, value: datetime) -> str:
        return value.isoformat()

    def as_json(self, value: datetime) -> Any:
        return value.isoformat()


class Day(Kind[date]):
    allowed = "a date, YYYY-MM-DD"

    def parse(self, text: str) -> date:
        try:
            return written_day(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {self.allowed}") from None

    def text(self, value: date) -> str:
        return value.isoformat()

    def as_json(self, value: date) -> Any:
        return value.isoformat()


class Maybe(Kind[T | None]):
    """A value or none; none is kept as empty text (or as no row at all)."""

    def __init__(self, kind: Kind[T]) -> None:
        self.kind = kind
        self.allowed = f"{kind.allowed}, or empty for none"

    def parse(self, text: str) -> T | None:
        return None if text == "" else self.kind.parse(text)

    def text(self, value: T | None) -> str:
        return "" if value is None else self.kind.text(value)

    def as_json(self, value: T | None) -> Any:
        return None if value is None else self.kind.as_json(value)


# ---- the definition of a setting ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SettingKey(Generic[T]):
    """One setting: `key` as the settings table holds it, how its text reads (`kind`), its
    value while none is stored (`default`), `scope`, and whether a person sets it
    (`settable`) or lotscan keeps it for itself. `doc` says what it means.

    A `site_wide` setting is one value for the whole site: set on the central store, it
    reaches every handheld on its next sync (docs/architecture.md, "Pull and the change
    log"), and an enrolled handheld refuses to set it itself (`refuse_site_wide`)."""

    key: str
    kind: Kind[T]
    default: T
    scope: Scope
    doc: str
    settable: bool = False
    site_wide: bool = False

    def parse(self, text: str) -> T:
        """The value `text` stands for; `SettingError`, naming this setting and what it
        takes, when it stands for none."""
        try:
            return self.kind.parse(text)
        except ValueError as error:
            raise SettingError(f"Setting {self.key}: {error}") from None

    def value_of(self, stored: str | None) -> T:
        """The value of the stored text `stored`; the default when there is none."""
        return self.default if stored is None else self.parse(stored)

    def text(self, value: T) -> str:
        return self.kind.text(value)


# ---- reading and writing -----------------------------------------------------------------


def stored_text(session: Session, setting: SettingKey[Any]) -> str | None:
    """The text kept for `setting`, None when no row holds one."""
    # The model is imported where a session is at hand: a handheld reads its settings before
    # its first frame without the ORM (`scanner.device_start`), and so imports this module.
    from scanner.models import Setting

    row = session.get(Setting, setting.key)
    return row.value if row else None


def read_setting(session: Session, setting: SettingKey[T]) -> T:
    """`setting`'s value in this database: what is stored, else its default. A stored text
    that does not read raises `SettingError` naming the setting."""
    return setting.value_of(stored_text(session, setting))


def write_setting(session: Session, setting: SettingKey[T], value: T) -> None:
    """Keeps `value` for `setting`, in the caller's transaction. Text holding a control
    character is refused naming the setting (docs/architecture.md, "Text at the doors")."""
    _put(session, setting.key, refuse_control(setting.text(value), f"Setting {setting.key}"))


def write_setting_text(session: Session, setting: SettingKey[T], text: str) -> T:
    """Keeps the value `text` stands for (`lotscan settings set`), refusing a text the
    setting does not take, and returns it."""
    value = setting.parse(text)
    write_setting(session, setting, value)
    return value


def forget_setting(session: Session, setting: SettingKey[Any]) -> None:
    """Drops the stored value: `setting` reads as its default again."""
    from scanner.models import Setting  # as in stored_text

    row = session.get(Setting, setting.key)
    if row is not None:
        session.delete(row)
        session.flush()


def _put(session: Session, key: str, text: str) -> None:
    from scanner.models import Setting  # as in stored_text

    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=text))
    else:
        row.value = text
    session.flush()


# ---- the settings ------------------------------------------------------------------------


class ExpiryPolicy(StrEnum):
    WARN = "warn"
    BLOCK = "block"
    IGNORE = "ignore"


EXPIRY_POLICY = SettingKey(
    "expiry_policy",
    Choice(ExpiryPolicy),
    ExpiryPolicy.WARN,
    Scope.ANY,
    "What receiving, issuing or shipping an expired lot does: warn (the operator confirms "
    "with OK), block (refused), or ignore.",
    settable=True,
    site_wide=True,
)


def _prefix(kind: str, default: str, follows: str) -> SettingKey[str]:
    return SettingKey(
        f"scan.prefix.{kind}",
        Text("text"),
        default,
        Scope.ANY,
        f"What comes before a {follows} in this site's own barcodes; no two prefixes "
        "alike, none starting with a digit, ( or ].",
        settable=True,
    )


SCAN_PREFIX_OPERATOR = _prefix("operator", "OP:", "badge")
SCAN_PREFIX_COMMAND = _prefix("command", "CMD:", "command")
SCAN_PREFIX_LOCATION = _prefix("location", "LOC:", "location code")
SCAN_PREFIX_JOB = _prefix("job", "JOB:", "job number")
SCAN_PREFIX_PO = _prefix("po", "PO:", "purchase order number")
SCAN_PREFIX_SO = _prefix("so", "SO:", "sales order number")
SCAN_SEPARATORS = SettingKey(
    "scan.separators",
    Text("characters, such as |~"),
    "",
    Scope.ANY,
    "Characters this site's scanners send in place of GS (FNC1), each one a substitute; "
    "spaces and commas between them are ignored.",
    settable=True,
)


class Gs1Pairing(StrEnum):
    OFF = "off"
    STRICT = "strict"


GS1_PAIRING = SettingKey(
    "gs1_pairing",
    Choice(Gs1Pairing),
    Gs1Pairing.OFF,
    Scope.ANY,
    "Whether a scanned label must keep GS1's pairing rules (a lot or a part number only "
    "with a GTIN, never a GTIN with a count (37)...): off (this site's own labels name a "
    "part by (240) alone) or strict (refused, naming the rule).",
    settable=True,
    site_wide=True,
)

MINUTES_A_DAY = 24 * 60
"""The longest a sign-in may go unused, on a handheld or in the console: past it a setting
would only stand for "never" (0 says that on a handheld), and a number of minutes too
large for a time span broke every scan."""

SIGN_OUT_MINUTES = SettingKey(
    "handheld.sign_out_minutes",
    WholeNumber(least=0, most=MINUTES_A_DAY),
    30,
    Scope.ANY,
    "Minutes a handheld may go without a scan before whoever signed in is signed out, so "
    "the next person's scans are not recorded as theirs; 0 never.",
    settable=True,
    site_wide=True,
)

PRINTER_URL = SettingKey(
    "printer.url",
    Maybe(Text("tcp://HOST:9100, lp://QUEUE or file:///FOLDER")),
    None,
    Scope.DEVICE,
    "The label printer: a raw TCP port (ZPL), a system queue (PDF) or a folder (PNG). "
    "With none, no labels are queued.",
    settable=True,
)
PRINTER_LAYOUT = SettingKey(
    "printer.layout",
    Text("a layout name (4x2-203, 4x2-300, 4x6-203, 4x6-300) or a .json/.toml file"),
    "4x2-203",  # labels.layout.DEFAULT_LAYOUT
    Scope.DEVICE,
    "The label stock the printer holds.",
    settable=True,
)
PRINTER_ENABLED = SettingKey(
    "printer.enabled",
    Switch(),
    True,
    Scope.DEVICE,
    "Whether labels are queued for the printer as workflows make them due.",
    settable=True,
)


class Gln(Kind[str]):
    """A GS1 Global Location Number: 13 digits, the last a check digit."""

    allowed = "a GLN: 13 digits, the last its check digit"

    def parse(self, text: str) -> str:
        from scanner.gs1 import has_valid_check_digit

        text = text.strip()
        if not (text.isascii() and text.isdigit() and len(text) == 13):
            raise ValueError(f"{quoted(text)} is not {self.allowed}")
        if not has_valid_check_digit(text):
            raise ValueError(f"{quoted(text)} has a wrong check digit: not {self.allowed}")
        return text


class BaseUri(Kind[str]):
    """An http(s) URI that identifiers are appended to: no query, no fragment, no spaces."""

    allowed = "an http:// or https:// URI without ? or #, such as https://example.com/items"
    _FORM = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")

    def parse(self, text: str) -> str:
        text = text.strip()
        if not (text.isascii() and self._FORM.fullmatch(text)):
            raise ValueError(f"{quoted(text)} is not {self.allowed}")
        return text.rstrip("/")


def _site(name: str, kind: Kind[Any], doc: str) -> SettingKey[Any]:
    return SettingKey(
        f"site.{name}", Maybe(kind), None, Scope.ANY, doc, settable=True, site_wide=True
    )


# What the exports say of this site (docs/architecture.md, "Exports"): FSMA 204's location
# description of our own site, EPCIS's read point and business location.
SITE_NAME = _site("name", Text("the site's name"), "This site's name, as exports name it.")
SITE_ADDRESS = _site(
    "address", Text("a postal address on one line"), "This site's address, for exports."
)
SITE_PHONE = _site("phone", Phone(), "This site's phone number, for exports.")
SITE_GLN = _site("gln", Gln(), "This site's GS1 GLN: EPCIS names its locations by it (sgln URIs).")
SITE_URI = _site(
    "uri",
    BaseUri(),
    "The base URI that names this site's items without a GTIN, and its locations without "
    "a GLN, in EPCIS exports (such as https://example.com/lotscan).",
)

DEVICE_ID = SettingKey(
    "device_id",
    Maybe(DeviceId()),
    None,
    Scope.ANY,
    "This database's device in the ledger and in minted lot numbers: made once at random, "
    "on first use, or given by the central store at enrollment; it never changes after.",
)
SYNC_URL = SettingKey(
    "sync.url",
    Maybe(Text("a URL")),
    None,
    Scope.DEVICE,
    "The central store this handheld syncs with, kept by lotscan enroll.",
)
PULL_CURSOR = SettingKey(
    "sync.pull_cursor",
    Maybe(WholeNumber()),
    None,
    Scope.DEVICE,
    "How far this handheld has pulled the central store's changes (none: never pulled).",
)
SEQ_FLOOR = SettingKey(
    "sync.seq_floor",
    WholeNumber(),
    0,
    Scope.DEVICE,
    "The last movement number the central store has from this device id, as enrollment "
    "told it: a replacement handheld enrolled under a broken one's name numbers its "
    "movements after the old one's, even those the store held (which never reach this "
    "ledger).",
)
LAST_SYNC_AT = SettingKey(
    "sync.last_sync_at",
    Maybe(Moment()),
    None,
    Scope.DEVICE,
    "When the last sync that went through ended.",
)
LAST_ATTEMPT_AT = SettingKey(
    "sync.last_attempt_at",
    Maybe(Moment()),
    None,
    Scope.DEVICE,
    "When a sync was last tried, or the handheld enrolled.",
)
LAST_ERROR = SettingKey(
    "sync.last_error",
    Maybe(Text()),
    None,
    Scope.DEVICE,
    "What went wrong with the last sync (none: it went through).",
)
ONLINE = SettingKey(
    "sync.online",
    Maybe(Switch("1", "0")),
    None,
    Scope.DEVICE,
    "Whether the last sync reached the central store (none: no sync tried since enrolling).",
)
SERVICE_ADDRESS = SettingKey(
    "service_address",
    Maybe(Text("a URL")),
    None,
    Scope.CENTRAL,
    "Where lotscan serve last listened on this central database.",
)
CONSOLE_IDLE_MINUTES = SettingKey(
    "console.idle_minutes",
    WholeNumber(least=1, most=MINUTES_A_DAY),
    30,
    Scope.CENTRAL,
    "Minutes a console session may go unused before it ends and its browser signs in again.",
    settable=True,
)
DEMO_BUILT_ON = SettingKey(
    "demo_built_on",
    Maybe(Day()),
    None,
    Scope.ANY,
    "The day lotscan demo built this database: only a demo database is replaced.",
)

SETTINGS: tuple[SettingKey[Any], ...] = (
    EXPIRY_POLICY,
    SCAN_PREFIX_OPERATOR,
    SCAN_PREFIX_COMMAND,
    SCAN_PREFIX_LOCATION,
    SCAN_PREFIX_JOB,
    SCAN_PREFIX_PO,
    SCAN_PREFIX_SO,
    SCAN_SEPARATORS,
    GS1_PAIRING,
    SIGN_OUT_MINUTES,
    PRINTER_URL,
    PRINTER_LAYOUT,
    PRINTER_ENABLED,
    SITE_NAME,
    SITE_ADDRESS,
    SITE_PHONE,
    SITE_GLN,
    SITE_URI,
    DEVICE_ID,
    SYNC_URL,
    PULL_CURSOR,
    SEQ_FLOOR,
    LAST_SYNC_AT,
    LAST_ATTEMPT_AT,
    LAST_ERROR,
    ONLINE,
    SERVICE_ADDRESS,
    CONSOLE_IDLE_MINUTES,
    DEMO_BUILT_ON,
)
"""Every setting with a fixed key, the ones a person sets first. The number counters
(`number_counter`) are a family of keys besides these."""

_BY_KEY = {setting.key: setting for setting in SETTINGS}


SITE_WIDE: tuple[SettingKey[Any], ...] = tuple(each for each in SETTINGS if each.site_wide)
"""The settings the central store sets for every handheld, in the order of `SETTINGS`."""


def setting_named(name: str, among: Iterable[SettingKey[Any]] = SETTINGS) -> SettingKey[Any]:
    """The setting whose key is `name` (a `-` read as `_`, so `expiry-policy` names
    `expiry_policy`); `SettingError` listing the names when none is."""
    name = name.strip()
    setting = _BY_KEY.get(name) or _BY_KEY.get(name.replace("-", "_"))
    if setting is None or setting not in among:
        names = ", ".join(each.key for each in among)
        raise SettingError(f"Unknown setting {name!r}: the settings are {names}")
    return setting


def number_counter(what: str, part: str) -> SettingKey[int]:
    """The last number minted for `part`'s lots (`what` = lot) or serials on this device:
    only ever goes up, in the same transaction as the movements that use the numbers."""
    return SettingKey(
        f"seq:{what}:{part}",
        WholeNumber(),
        0,
        Scope.ANY,
        f"The last {what} number minted for {part} on this device.",
    )


# ---- settings with a rule of their own ---------------------------------------------------

# Crockford's base32 without I, L, O and U: nothing to misread on a label.
_DEVICE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def is_device_id(text: str) -> bool:
    """Whether `text` is a plain device id (`DeviceId`), fit to name a file."""
    try:
        DeviceId().parse(text)
    except ValueError:
        return False
    return True


def device_id(session: Session) -> str:
    """This database's device id, made on first use: four characters such as `H7KQ`."""
    value = read_setting(session, DEVICE_ID)
    if value is None:
        value = "".join(secrets.choice(_DEVICE_ALPHABET) for _ in range(4))
        write_setting(session, DEVICE_ID, value)
    return value


def put_seq_floor(session: Session, last: int) -> None:
    """This device numbers its next movement after `last`, or after the last in its ledger
    when that is higher. Exactly the store's number, never more: a number skipped would be
    a gap the store waits on."""
    write_setting(session, SEQ_FLOOR, last)


# ---- site-wide settings ------------------------------------------------------------------


def is_enrolled(session: Session) -> bool:
    """Whether this database is a handheld enrolled with a central store (`lotscan
    enroll` kept the store's URL)."""
    return read_setting(session, SYNC_URL) is not None


def refuse_site_wide(session: Session, setting: SettingKey[Any]) -> None:
    """An enrolled handheld takes a site-wide setting from the central store: setting it
    here is refused, saying where it is set. An unenrolled device keeps its own."""
    if setting.site_wide and is_enrolled(session):
        raise SettingError(
            f"Setting {setting.key} is set for the whole site on the central store"
            f" (lotscan settings set {setting.key} VALUE on its database): this handheld"
            " takes it from there on its next sync"
        )


def take_site_setting(session: Session, key: str, text: str | None) -> bool:
    """Keeps a site-wide setting as the central store sent it (None: the store holds none,
    so the default holds here too). False, keeping nothing, for a key that is not a
    site-wide setting here or a value it does not take: a newer store may send more."""
    setting = _BY_KEY.get(key)
    if setting is None or not setting.site_wide:
        return False
    if text is None:
        forget_setting(session, setting)
        return True
    try:
        write_setting_text(session, setting, text)
    except LotscanError:
        return False
    return True

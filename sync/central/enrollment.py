"""Which devices may sync: one-time enrollment codes, per-device tokens, revocation
(docs/architecture.md, "Enrollment and tokens").

A supervisor runs `lotscan devices enroll NAME` on the central database and reads the code
to the person holding the handheld; the handheld trades it for a token once. The store keeps
only SHA-256 hashes of codes and tokens: a copy of its database lets nobody sync. A revoked
device keeps its id, its number sequence and its queue; enrolling it again under the same
name picks up where it stopped, so its held-back movements are applied exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scanner.clock import Clock, aware, utc_now
from scanner.plain_text import refuse_control, shown
from scanner.settings import SERVICE_ADDRESS, read_setting, write_setting
from scanner.settings import device_id as own_device_id
from sync.central.changes import ensure_central as ensure_central
from sync.central.changes import is_central as is_central
from sync.central.errors import SyncError
from sync.central.evaluate import fit
from sync.central.models import (
    Device,
    DeviceRole,
    DeviceRoleChange,
    DeviceStatus,
    EnrollmentCode,
    SyncEntry,
)
from sync.protocol import EnrollRequest, EnrollResponse

CODE_LIFETIME = timedelta(minutes=15)
CONSOLE = "the central console"
"""Who asked, when a code is issued or a role changed on the central machine itself."""
ROLES = tuple(role.value for role in DeviceRole)
# Crockford's base32, as device ids are: no I, L, O or U to misread. Read back leniently.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_GROUPS = 3
_GROUP = 4


@dataclass(frozen=True)
class IssuedCode:
    device: str
    code: str
    expires_at: datetime
    role: str
    """The role the device takes when it redeems the code."""
    waiting: int = 0
    """How many movements the device, enrolled before, said were waiting at its last sync:
    redeeming the code replaces its token, so a handheld still holding them no longer
    syncs (`replacing_words`)."""
    last_seen_at: datetime | None = None
    revoked: bool = False
    """The device was revoked: its handheld no longer syncs, whatever this code does."""

    def replacing_words(self, name: str) -> str | None:
        """The warning a person reads before enrolling a handheld in place of one whose
        movements still wait to sync; None when none wait."""
        if not self.waiting:
            return None
        when = f" at its last sync ({self.last_seen_at:%Y-%m-%d %H:%M} UTC)"
        if self.last_seen_at is None:
            when = ""
        count = f"{self.waiting} movement{'' if self.waiting == 1 else 's'}"
        if self.revoked:
            return (
                f"{name} is revoked and reported {count} still waiting{when}. Enroll that"
                " same handheld with this code and they come through, each once; a new"
                " handheld under this name would leave them on the old one."
            )
        return (
            f"{name} reported {count} still waiting{when}. This code replaces its token: a"
            " handheld that still holds them stops syncing. Sync that handheld first, or"
            " enroll the new one under a name of its own."
        )


def issue_code(
    session: Session,
    name: str,
    *,
    supervisor: bool = False,
    by: str = CONSOLE,
    clock: Clock = utc_now,
) -> IssuedCode:
    """A one-time code, valid for 15 minutes, that enrolls the device called `name`: a new
    device with a new id, or the existing device of that name (keeping its id and its
    numbering). The code carries the role asked for; an existing device keeps the role it
    has until the code is redeemed, so asking for a code never promotes or demotes a token
    that works now. An earlier unused code stops working. `by` says who asked."""
    name = _device_name(name)
    ensure_central(session)
    now = clock()
    role = _role(supervisor)
    device = session.scalars(
        select(Device).where(Device.name == name).order_by(Device.created_at, Device.id).limit(1)
    ).first()
    if device is None:
        _refuse_name_twin(session, name)
        device = Device(
            id=_new_device_id(session),
            name=name,
            role=role,
            status=DeviceStatus.PENDING.value,
            created_at=now,
            last_applied_seq=0,
        )
        session.add(device)
        session.flush()
    _forget_unused_codes(session, device.id)
    code = "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP)) for _ in range(_CODE_GROUPS)
    )
    expires_at = now + CODE_LIFETIME
    session.add(
        EnrollmentCode(
            code_hash=_code_hash(code),
            device_id=device.id,
            created_at=now,
            expires_at=expires_at,
            role=role,
            issued_by=fit(by, 80),
        )
    )
    session.flush()
    waiting = (device.queue_depth or 0) if device.token_hash is not None else 0
    return IssuedCode(
        device=device.id,
        code=code,
        expires_at=expires_at,
        role=role,
        waiting=waiting,
        last_seen_at=aware(device.last_seen_at) if waiting else None,
        revoked=device.status == DeviceStatus.REVOKED.value,
    )


def enroll(session: Session, request: EnrollRequest, clock: Clock = utc_now) -> EnrollResponse:
    """Trades a code for the device's token (shown this once; the store keeps its hash).
    Enrolling again replaces the device's token and lifts a revocation."""
    now = clock()
    record = session.get(EnrollmentCode, _code_hash(request.code), with_for_update=True)
    if record is None:
        raise SyncError(
            401,
            "bad_code",
            "This enrollment code is not known: check it, or ask a supervisor for a new one",
        )
    if record.used_at is not None:
        raise SyncError(
            401, "bad_code", "This enrollment code was already used: ask a supervisor for a new one"
        )
    expires_at = aware(record.expires_at)
    if expires_at <= now:
        raise SyncError(
            401,
            "bad_code",
            f"This enrollment code expired at {expires_at:%H:%M} UTC: ask a supervisor for a"
            " new one",
        )
    device = session.get(Device, record.device_id, with_for_update=True)
    assert device is not None  # the foreign key guarantees it
    if request.queued and request.device_id and request.device_id != device.id:
        device = _keep_handhelds_id(session, record, device, request.device_id, request.queued)
    token = secrets.token_urlsafe(32)
    record.used_at = now
    if device.role != record.role:
        _change_role(
            session,
            device,
            record.role,
            by=record.issued_by or CONSOLE,
            how=f"enrollment code issued by {record.issued_by or CONSOLE}, redeemed",
            now=now,
        )
    device.status = DeviceStatus.ACTIVE.value
    device.token_hash = token_hash(token)
    device.enrolled_at = now
    device.revoked_at = None
    device.revoked_by = None  # enrolled again: whoever revoked it no longer holds
    device.last_seen_at = now
    device.app_version = request.app_version or device.app_version
    session.flush()
    return EnrollResponse(
        device_id=device.id,
        device_token=token,
        role="supervisor" if device.role == DeviceRole.SUPERVISOR else "handheld",
        server_time=now,
        last_applied_seq=device.last_applied_seq,
    )


def _keep_handhelds_id(
    session: Session, record: EnrollmentCode, device: Device, wanted: str, queued: int
) -> Device:
    """A handheld that scanned before it was enrolled keeps the id its movements carry.
    Only a device that has never enrolled can take it, and only if no other device has it;
    otherwise the code is left unused and the supervisor is told what to do."""
    fresh = (
        device.enrolled_at is None
        and device.last_applied_seq == 0
        and session.scalar(select(SyncEntry.device_seq).where(SyncEntry.device_id == device.id))
        is None
    )
    variant = _id_in_another_case(session, wanted, besides=device.id)
    if variant is not None:
        raise SyncError(
            409,
            "device_id_taken",
            f"This handheld has {queued} movements waiting as device {shown(wanted)}, but the"
            f" store already has device {variant}, which differs only in case: device ids"
            " are told apart without regard to case, so it cannot enroll as"
            f" {shown(wanted)}. Ask a supervisor (the code is still unused)",
        )
    taken = session.get(Device, wanted) is not None or wanted == own_device_id(session)
    if not fresh or taken:
        raise SyncError(
            409,
            "other_device",
            f"This code is for device {device.id} ({device.name}), but this handheld has"
            f" {queued} movements waiting as device {wanted}: enrolling would leave them"
            f" behind. Ask for a code for a new device name (the code is still unused)",
        )
    renamed = Device(
        id=wanted,
        name=device.name,
        role=device.role,
        status=device.status,
        created_at=device.created_at,
    )
    session.add(renamed)
    session.flush()
    for code in session.scalars(
        select(EnrollmentCode).where(EnrollmentCode.device_id == device.id)
    ):
        code.device_id = wanted
    for change in session.scalars(
        select(DeviceRoleChange).where(DeviceRoleChange.device_id == device.id)
    ):
        change.device_id = wanted
    session.flush()
    session.delete(device)
    session.flush()
    return renamed


def authenticate(
    session: Session, token: str, clock: Clock = utc_now, *, lock: bool = False
) -> Device:
    """The device a bearer token belongs to, if it may sync; notes that it was seen. With
    `lock`, for a push: its row read FOR UPDATE, as a push serialises on it, and not noted
    (the push notes it seen with the rest of what the device says, `sync.central.push`)."""
    digest = token_hash(token)
    statement = select(Device).where(Device.token_hash == digest)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    device = session.scalars(statement).first()
    if device is None or not hmac.compare_digest(device.token_hash or "", digest):
        raise SyncError(
            401,
            "unauthorized",
            "The store does not know this handheld's token: enroll it again with a code from"
            " a supervisor",
        )
    if device.status == DeviceStatus.REVOKED:
        raise SyncError(
            401,
            "device_revoked",
            "This handheld was revoked by a supervisor: its movements stay queued here until"
            " it is enrolled again",
        )
    if device.status != DeviceStatus.ACTIVE:
        raise SyncError(401, "unauthorized", "This handheld is not enrolled yet")
    if not lock:
        device.last_seen_at = clock()
    return device


def set_role(
    session: Session,
    device_id: str,
    role: str,
    *,
    by: str,
    reason: str | None = None,
    clock: Clock = utc_now,
) -> DeviceRoleChange:
    """A supervisor's explicit change of a device's role, effective on its next request and
    kept in its history with `by`, when and why (returned). The device's token keeps
    working; an unused code for it keeps the role it was issued for."""
    if role not in ROLES:
        raise SyncError(
            422, "bad_request", f"role: must be {' or '.join(ROLES)}, not {shown(role)}"
        )
    device = session.get(Device, device_id, with_for_update=True)
    if device is None:
        raise unknown_device(session, device_id)
    if device.role == role:
        raise SyncError(
            409,
            "no_change",
            f"Device {device.id} ({shown(device.name)}) is already a {role}'s: nothing changed",
        )
    if reason:
        refuse_control(reason, "reason")
    how = "role changed by a supervisor" + (f": {reason}" if reason else "")
    change = _change_role(session, device, role, by=by, how=how, now=clock())
    session.flush()
    return change


def find_device(session: Session, id_or_name: str) -> Device:
    """The device with this id, else the one device with this name."""
    device = session.get(Device, id_or_name)
    if device is not None:
        return device
    named = list(session.scalars(select(Device).where(Device.name == id_or_name).limit(2)))
    if len(named) == 1:
        return named[0]
    if named:
        raise SyncError(
            409,
            "ambiguous_device",
            f"More than one device is called {shown(id_or_name)}: give its id"
            " (`lotscan devices list` shows them)",
        )
    raise unknown_device(session, id_or_name)


def unknown_device(session: Session, id_or_name: str) -> SyncError:
    """The refusal of a device id or name the store does not have, pointing to the device
    it names in another case (`h7kq` for H7KQ, "dock 1" for "Dock 1") when there is one."""
    twin = _spelled_otherwise(session, id_or_name)
    where = (
        f"device {twin.id} is called '{shown(twin.name)}'; give its id or its name as written"
        if twin is not None
        else "`lotscan devices list` shows them"
    )
    return SyncError(404, "unknown_device", f"No device '{shown(id_or_name)}': {where}")


def _spelled_otherwise(session: Session, text: str, *, ids: bool = True) -> Device | None:
    """The first device whose name (or, with `ids`, id) is `text` without regard to case or
    to spacing ("Floor  one" is "floor one"). A store has tens or hundreds of devices: read
    whole, and compared in Python, whose case folding knows every script where SQLite's
    `lower()` knows ASCII."""
    folded = _folded(text)
    for device in session.scalars(select(Device).order_by(Device.created_at, Device.id)):
        if _folded(device.name) == folded or (ids and device.id.casefold() == folded):
            return device
    return None


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _refuse_name_twin(session: Session, name: str) -> None:
    """Refuses a new device's name that differs from a device's only in case or spacing: a
    code asked for under it would make a second device where the supervisor meant that one
    (to let a revoked handheld's queue through, or to replace a broken one), and the list
    would show two devices the floor calls by one name."""
    twin = _spelled_otherwise(session, name, ids=False)
    if twin is not None:
        raise SyncError(
            409,
            "device_name_taken",
            f"Device {twin.id} is called '{shown(twin.name)}', which differs from"
            f" '{shown(name)}' only in case or spacing: write its name as it is to give it a"
            " new code, or give a new device a name of its own",
        )


def role_changes(session: Session, device_id: str | None = None) -> list[DeviceRoleChange]:
    """Each change of a device's role (every device's for None), oldest first."""
    query = select(DeviceRoleChange).order_by(DeviceRoleChange.changed_at, DeviceRoleChange.id)
    if device_id is not None:
        query = query.where(DeviceRoleChange.device_id == device_id)
    return list(session.scalars(query))


def revoke(
    session: Session, device_id: str, clock: Clock = utc_now, *, by: str = CONSOLE
) -> Device:
    """Stops a device syncing at once. It keeps its queue; a new code re-enrolls it. `by`
    says who decided it."""
    device = session.get(Device, device_id)
    if device is None:
        raise unknown_device(session, device_id)
    if device.status == DeviceStatus.REVOKED.value:
        since = f" since {aware(device.revoked_at):%Y-%m-%d %H:%M} UTC" if device.revoked_at else ""
        who = f" by {device.revoked_by}" if device.revoked_by else ""
        raise SyncError(
            409, "already_revoked", f"Device {device.id} is revoked already{since}{who}"
        )
    device.status = DeviceStatus.REVOKED.value
    device.revoked_at = clock()
    device.revoked_by = fit(by, 80)
    _forget_unused_codes(session, device.id)
    session.flush()
    return device


def remember_service_address(session: Session, address: str) -> None:
    """Records where `lotscan serve` listens on this central database, so an enrollment
    code's hint names where the service really is."""
    write_setting(session, SERVICE_ADDRESS, address)


def service_address(session: Session) -> str | None:
    """Where `lotscan serve` last listened on this central database; None before it ran."""
    return read_setting(session, SERVICE_ADDRESS)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(code: str) -> str:
    """Codes are read aloud and typed: case, dashes, spaces and O/0, I/L/1 do not matter."""
    typed = "".join(code.split()).replace("-", "").upper().translate(_MISREAD)
    return hashlib.sha256(typed.encode()).hexdigest()


def _device_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 80 or not cleaned.isprintable():
        raise SyncError(
            422,
            "bad_request",
            "A device name is 1 to 80 printable characters, such as 'Dock 2 handheld'",
        )
    return cleaned


def _role(supervisor: bool) -> str:
    return (DeviceRole.SUPERVISOR if supervisor else DeviceRole.HANDHELD).value


def _change_role(
    session: Session, device: Device, role: str, *, by: str, how: str, now: datetime
) -> DeviceRoleChange:
    change = DeviceRoleChange(
        device_id=device.id,
        role=role,
        was=device.role,
        changed_at=now,
        changed_by=fit(by, 80),
        how=fit(how, 200),
    )
    session.add(change)
    device.role = role
    return change


def _new_device_id(session: Session) -> str:
    """Four characters like a handheld's own id, never the central database's own (its
    supervisors' counts go into the ledger under that one) nor another device's, in any
    case."""
    taken = {id.upper() for id in session.scalars(select(Device.id))}
    taken.add(own_device_id(session).upper())
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(4))
        if candidate not in taken:
            return candidate


def _id_in_another_case(session: Session, wanted: str, *, besides: str) -> str | None:
    """A device id the store has (or its own) that is `wanted` in another case: `h6gj`
    beside `H6GJ` would be two devices to the database and one to a person reading a
    label, a lot number minted from it or a file name on a case-blind file system.
    `besides` is the device the handheld would replace."""
    own = own_device_id(session)
    if own != wanted and own.upper() == wanted.upper():
        return own
    return session.scalars(
        select(Device.id).where(
            func.upper(Device.id) == wanted.upper(),
            Device.id != wanted,
            Device.id != besides,
        )
    ).first()


def _forget_unused_codes(session: Session, device_id: str) -> None:
    session.execute(
        delete(EnrollmentCode).where(
            EnrollmentCode.device_id == device_id, EnrollmentCode.used_at.is_(None)
        )
    )

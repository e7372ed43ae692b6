"""The handheld's side of sync: enrolling with the central store, and one sync (push the
queue, then pull what changed), and the supervisor's client. The sync status the TUI
shows is read by `sync.device.status`, which needs no HTTP client.

A sync never holds a database write transaction while it waits on the network: it reads a
batch, sends it with no transaction open, then writes the store's answers in one short
transaction. Every failure keeps the queue; the next sync sends it again, and the store
answers a movement it already has with the outcome it gave it: exactly-once effect from
at-least-once delivery (docs/architecture.md, "Push, exactly once").
"""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import asdict, dataclass
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from scanner.clock import Clock, utc_now
from scanner.db import reading, unit_of_work
from scanner.errors import LotscanError
from scanner.models import Movement, SyncState
from scanner.plain_text import quoted, shown
from scanner.settings import (
    DEVICE_ID,
    LAST_ATTEMPT_AT,
    LAST_ERROR,
    LAST_SYNC_AT,
    MAX_VALUE,
    ONLINE,
    PULL_CURSOR,
    SYNC_URL,
    DeviceId,
    is_device_id,
    put_seq_floor,
    read_setting,
    write_setting,
)
from sync.device.answers import apply_changes, apply_outcomes, kept_status_changes
from sync.device.credentials import (
    load_credentials,
    read_token,
    service_url,
    token_path,
    write_token,
)
from sync.device.outbox import (
    movements_from,
    pending_count,
    pending_movements,
    pending_status_changes,
    pending_status_count,
    queue_stats,
)
from sync.device.snapshot import apply_snapshot_page, finish_snapshot, holds_others_movements
from sync.protocol import (
    MAX_BATCH,
    MAX_PULL,
    SNAPSHOT_PAGE,
    EnrollRequest,
    EnrollResponse,
    PullResponse,
    PushRequest,
    PushResponse,
    SnapshotPage,
    SnapshotPlace,
    movement_in,
    status_change_in,
)

DEFAULT_TIMEOUT = 10.0
_LONGEST_TOKEN = 200  # the store's are 43 characters (secrets.token_urlsafe(32))
Body = TypeVar("Body", bound=BaseModel)


def app_version() -> str:
    try:
        return f"lotscan/{metadata.version('lotscan')}"[:40]
    except metadata.PackageNotFoundError:
        return "lotscan"


def movements(count: int) -> str:
    return f"{count} movement{'' if count == 1 else 's'}"


def decisions(count: int) -> str:
    """`1 decision`: holds, releases, recalls, closes and reopens."""
    return f"{count} decision{'' if count == 1 else 's'}"


# ---- errors -------------------------------------------------------------------------------


class SyncFailed(LotscanError):
    """A sync that could not finish. The queue is kept, whatever happened."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.report: SyncReport | None = None
        """What the sync did before it failed, with the queue it leaves (`sync_once`)."""

    def queued(self, count: int, decided: int = 0) -> SyncFailed:
        """The same failure, saying what it leaves waiting: movements, and the decisions
        (holds, closes...) when some wait too."""
        waiting = movements(count) + (f" and {decisions(decided)}" if decided else "")
        verb = "stays" if count == 1 and not decided else "stay"
        return type(self)(f"{self}; {waiting} {verb} queued", self.code)


class SyncUnavailable(SyncFailed):
    """The store cannot be reached or cannot take requests now: try again later."""


class DeviceRevoked(SyncFailed):
    """A supervisor revoked this handheld: it syncs again once enrolled with a new code."""

    def __init__(self, message: str, code: str = "device_revoked", url: str = "URL") -> None:
        super().__init__(message, code)
        self.url = url

    def queued(self, count: int, decided: int = 0) -> SyncFailed:
        also = f" and {decisions(decided)}" if decided else ""
        kept = "is" if count == 1 and not decided else "are"
        return DeviceRevoked(
            f"This handheld was revoked by a supervisor; its {count} queued"
            f" movement{'' if count == 1 else 's'}{also} {kept} kept."
            f" Ask for a new code and run lotscan enroll {self.url} CODE",
            self.code,
            self.url,
        )


class SyncRefused(SyncFailed):
    """The store refused the request (a 4xx other than revocation): trying again as it is
    will not help. `code` is the store's error code."""


class SyncGap(SyncFailed):
    """The store lacks movements of this device that this handheld no longer has."""


# ---- HTTP ---------------------------------------------------------------------------------


class _ServiceClient:
    """One HTTP client on the central service, with its errors in floor words."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = service_address(url)
        self.timeout = timeout
        headers = {"User-Agent": app_version()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.url, transport=transport, timeout=timeout, headers=headers
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        optional: bool = False,
    ) -> Any:
        """The answer's JSON; None for a 404 when the endpoint is `optional` (a store
        older than it)."""
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.UnsupportedProtocol:
            raise SyncRefused(
                f"{self.url} is not a web address: write it as http://HOST:PORT"
            ) from None
        except httpx.TransportError as error:
            raise SyncUnavailable(
                f"Cannot reach the central store at {self.url} ({_reason(error, self.timeout)})"
            ) from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            code, words = _error_of(response)
            raise SyncUnavailable(
                f"The central store at {self.url} cannot take requests now ({words})", code
            )
        if response.status_code == 404 and optional:
            return None
        if response.status_code >= 400:
            raise self._refusal(path, response)
        try:
            return response.json()
        except ValueError:
            raise SyncRefused(
                f"{self.url} answered {path} with something a lotscan central store never"
                " sends: check the URL"
            ) from None

    def _parsed(self, model: type[Body], data: Any, path: str) -> Body:
        try:
            return model.model_validate(data)
        except ValidationError:
            raise SyncRefused(
                f"{self.url} answered {path} with something a lotscan central store never"
                " sends: check the URL, or upgrade lotscan"
            ) from None

    def _refusal(self, path: str, response: httpx.Response) -> SyncFailed:
        code, words = _error_of(response)
        if response.status_code == 401 and code == "device_revoked":
            return DeviceRevoked("This handheld was revoked by a supervisor", code, self.url)
        if response.status_code == 401 and code == "unauthorized":
            return SyncRefused(
                f"The central store at {self.url} does not know this handheld's token: ask a"
                f" supervisor for a code and run lotscan enroll {self.url} CODE",
                code,
            )
        if response.status_code == 404 and not code:
            return SyncRefused(
                f"{self.url} is not a lotscan central store (it has no {path}): check the URL"
            )
        return SyncRefused(f"The central store refused: {words}", code)


def service_address(url: str) -> str:
    """The service URL as kept and shown: http(s)://HOST[:PORT][/PATH], no trailing slash."""
    address = url.strip().rstrip("/")
    if not address.startswith(("http://", "https://")) or len(address.split("//", 1)[1]) == 0:
        raise SyncRefused(f"{url} is not a web address: write it as http://HOST:PORT")
    return address


def _reason(error: httpx.TransportError, timeout: float) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    text = str(error).strip()
    if "] " in text and text.startswith("["):
        text = text.split("] ", 1)[1]  # "[Errno 111] Connection refused"
    text = text or type(error).__name__
    return text[:1].lower() + text[1:]


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """The store's error code and message, or the HTTP status when the body has none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body.get("error") or ""), body["message"]
    return "", f"HTTP {response.status_code} {response.reason_phrase}".strip()


class SyncClient(_ServiceClient):
    """A handheld's calls: enroll (no token), push and pull (with its token)."""

    def enroll(self, request: EnrollRequest) -> EnrollResponse:
        path = "/v1/devices/enroll"
        data = self._call("POST", path, body=request.model_dump(mode="json"))
        return self._parsed(EnrollResponse, data, path)

    def push(self, request: PushRequest) -> PushResponse:
        path = "/v1/sync/push"
        body = request.model_dump(mode="json")
        if not body["status_changes"]:
            del body["status_changes"]  # what a store older than status changes takes
        data = self._call("POST", path, body=body)
        return self._parsed(PushResponse, data, path)

    def pull(self, cursor: int, limit: int = MAX_PULL) -> PullResponse:
        path = "/v1/sync/pull"
        data = self._call("GET", path, params={"cursor": cursor, "limit": limit})
        return self._parsed(PullResponse, data, path)

    def snapshot(
        self, cursor: int, place: SnapshotPlace | None, limit: int = SNAPSHOT_PAGE
    ) -> SnapshotPage | None:
        """A page of the store's snapshot (docs/architecture.md, "Snapshots for a new
        handheld"); None from a store older than snapshots, which has no such endpoint."""
        path = "/v1/sync/snapshot"
        params: dict[str, Any] = {"cursor": cursor, "limit": limit}
        if place is not None:
            params["kind"] = place.kind
            if place.after is not None:
                params["after"] = json.dumps(place.after)
        data = self._call("GET", path, params=params, optional=True)
        return None if data is None else self._parsed(SnapshotPage, data, path)


class SupervisorClient(_ServiceClient):
    """The supervisor endpoints, with a supervisor's token: the JSON the service returns."""

    def devices(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/devices"))

    def exceptions(
        self, status: str = "open", *, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """A page of exceptions with `status`, oldest first, after the id `after`: at most
        `limit` (the store's default page when None); a shorter page is the last."""
        params: dict[str, Any] = {"status": status}
        if after:
            params["after"] = after
        if limit is not None:
            params["limit"] = limit
        return list(self._call("GET", "/v1/exceptions", params=params))

    def void_held(
        self,
        reason: str,
        *,
        device: str | None = None,
        code: str | None = None,
        part: str | None = None,
        operator: str | None = None,
    ) -> dict[str, Any]:
        """Voids every held movement from `device`, of `code`, of `part`; says how many."""
        body = {"reason": reason, "device": device, "code": code, "part": part}
        body["operator"] = operator
        return dict(
            self._call(
                "POST",
                "/v1/exceptions/void",
                body={key: value for key, value in body.items() if value is not None},
            )
        )

    def resolve(
        self,
        exception_id: int,
        action: str,
        qty: Decimal | str | None = None,
        location: str | None = None,
        reason: str | None = None,
        operator: str | None = None,
    ) -> dict[str, Any]:
        """Resolves exception `exception_id` (the store's actions: apply or void a held
        movement, adjust the count with `qty` at `location`...), decided by the supervisor
        with badge `operator`."""
        amount = str(qty) if qty is not None else None
        body = {
            "action": action,
            "qty": amount,
            "location": location,
            "reason": reason,
            "operator": operator,
        }
        return dict(
            self._call(
                "POST",
                f"/v1/exceptions/{exception_id}/resolve",
                body={key: value for key, value in body.items() if value is not None},
            )
        )

    def revoke(self, device_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/v1/devices/{quote(device_id, safe='')}/revoke"))

    def enroll_code(self, name: str, supervisor: bool = False) -> dict[str, Any]:
        body = {"name": name, "supervisor": supervisor}
        return dict(self._call("POST", "/v1/devices", body=body))


# ---- enrolling ----------------------------------------------------------------------------


def enroll_handheld(
    sessions: sessionmaker[Session],
    folder: Path,
    url: str,
    code: str,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Clock = utc_now,
    timeout: float = DEFAULT_TIMEOUT,
) -> EnrollResponse:
    """Trades a supervisor's one-time code for this handheld's token, then keeps the token
    (file), the store's URL and the device id the store gave (settings) together.

    Refuses, changing nothing here, when movements are queued under another device id:
    they would never sync under the new one."""
    address = service_address(url)
    with reading(sessions) as session:
        current = read_setting(session, DEVICE_ID)
        queued = pending_count(session, current) if current else 0
    request = EnrollRequest(
        code=code.strip(),
        device_name=socket.gethostname()[:80],
        app_version=app_version(),
        device_id=current,
        queued=queued,
    )
    with SyncClient(address, transport=transport, timeout=timeout) as client:
        answer = _trusted(client.enroll(request), address)
    previous_token = read_token(folder)
    try:
        with unit_of_work(sessions) as session:
            _refuse_stranding(session, answer.device_id)
            if service_url(session) not in (None, address):
                write_setting(session, PULL_CURSOR, 0)  # another store's numbers mean nothing
            write_setting(session, SYNC_URL, address)
            write_setting(session, DEVICE_ID, answer.device_id)
            put_seq_floor(session, answer.last_applied_seq)
            write_setting(session, LAST_ERROR, None)
            write_setting(session, ONLINE, None)  # no sync tried under this enrollment yet
            write_setting(session, LAST_ATTEMPT_AT, clock())
            write_token(folder, answer.device_token)
    except BaseException:
        if read_token(folder) != previous_token:
            if previous_token is None:
                token_path(folder).unlink(missing_ok=True)
            else:
                write_token(folder, previous_token)
        raise
    return answer


def _trusted(answer: EnrollResponse, address: str) -> EnrollResponse:
    """The store's answer, if the handheld can keep it as it is: the device id names files
    (a label printed to a folder) and the token goes in a header and a file, so a store
    that answers anything else (`../../x`, a slash, a control character) is refused before
    a thing is kept."""
    if not is_device_id(answer.device_id):
        raise SyncRefused(
            f"The central store at {address} gave this handheld the device id"
            f" {quoted(answer.device_id)}, which is not {DeviceId.allowed}: nothing was kept."
            " Check that the URL is your plant's lotscan store",
            "bad_device_id",
        )
    token = answer.device_token
    if not (0 < len(token) <= _LONGEST_TOKEN and all("!" <= ch <= "~" for ch in token)):
        raise SyncRefused(
            f"The central store at {address} answered with a token that is not printable"
            " text on one line: nothing was kept. Check that the URL is your plant's lotscan"
            " store",
            "bad_token",
        )
    return answer


def _refuse_stranding(session: Session, device: str) -> None:
    others = session.execute(
        select(Movement.device_id, func.count())
        .where(Movement.sync_state == SyncState.PENDING.value, Movement.device_id != device)
        .group_by(Movement.device_id)
    ).all()
    if others:
        queued = ", ".join(f"{movements(count)} as device {name}" for name, count in others)
        raise SyncRefused(
            f"This handheld holds {queued}, still queued, but the code was for device {device}:"
            " enrolling would leave them behind. Ask the supervisor for a code for the"
            " handheld's own name and enroll with that",
            "other_device",
        )


# ---- one sync -----------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What one sync did, as `lotscan sync --json` prints it: movements pushed and their
    outcomes, movements still queued, changes pulled, and the decisions pushed (holds,
    releases and recalls, jobs and order lines closed or reopened)."""

    pushed: int = 0
    applied: int = 0
    flagged: int = 0
    held: int = 0
    rejected: int = 0
    pending: int = 0
    pulled: int = 0
    decisions: int = 0
    decisions_pending: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def count(self, status: str) -> None:
        self.pushed += 1
        if status in ("applied", "flagged", "held", "rejected"):
            setattr(self, status, getattr(self, status) + 1)

    def summary(self) -> str:
        """One line: "Pushed 12 movements (10 applied, 1 flagged, 1 held) and 1 decision,
        pulled 40 changes; 0 movements queued"."""
        outcomes = ", ".join(
            f"{getattr(self, status)} {status}"
            for status in ("applied", "flagged", "held", "rejected")
            if getattr(self, status) or status == "applied"
        )
        sent = [f"{movements(self.pushed)} ({outcomes})"] if self.pushed else []
        if self.decisions:
            sent.append(decisions(self.decisions))
        pushed = f"Pushed {' and '.join(sent)}" if sent else "Nothing to push"
        changes = f"{self.pulled} change{'' if self.pulled == 1 else 's'}"
        return f"{pushed}, pulled {changes}; {movements(self.pending)} queued"


def sync_once(
    sessions: sessionmaker[Session],
    folder: Path,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Clock = utc_now,
    batch: int = MAX_BATCH,
    page: int = MAX_PULL,
    timeout: float = DEFAULT_TIMEOUT,
    snapshot_page: int = SNAPSHOT_PAGE,
) -> SyncReport:
    """Pushes every queued movement, then pulls every change since the last pull (a
    handheld that has pulled nothing yet takes the store's snapshot first, in pages of
    `snapshot_page` rows). Raises
    `SyncFailed` (the queue kept, the reason recorded for `sync_status`) when it cannot."""
    with reading(sessions) as session:
        credentials = load_credentials(folder, session)
    report = SyncReport()
    try:
        with SyncClient(
            credentials.url, credentials.token, transport=transport, timeout=timeout
        ) as client:
            _push_queue(sessions, client, credentials.device, clock, min(batch, MAX_BATCH), report)
            pages = (min(page, MAX_PULL), min(snapshot_page, SNAPSHOT_PAGE))
            _pull_changes(sessions, client, credentials.device, pages, report)
    except LotscanError as error:
        failure = error
        if isinstance(error, SyncFailed):
            report.pending, report.decisions_pending = _pending(sessions, credentials.device)
            failure = error.queued(report.pending, report.decisions_pending)
            failure.report = report
        with contextlib.suppress(DBAPIError):  # the sync's own failure is the one to report
            _remember(sessions, clock, failure, reached=not isinstance(error, SyncUnavailable))
        raise failure from None
    report.pending, report.decisions_pending = _pending(sessions, credentials.device)
    _remember(sessions, clock, None, reached=True)
    return report


def _push_queue(
    sessions: sessionmaker[Session],
    client: SyncClient,
    device: str,
    clock: Clock,
    batch: int,
    report: SyncReport,
) -> None:
    """Sends the queue in batches, oldest number first, until it is empty. When the store
    expects a number this handheld already sent (the store was restored from a backup), it
    sends those movements again from its ledger."""
    expected: int | None = None
    resending = False
    while True:
        with reading(sessions) as session:
            queue = pending_movements(session, device, batch)
            decided = pending_status_changes(session, batch)
            if not queue and not decided:
                return
            first = queue[0].device_seq if queue else expected or 0
            resending = expected is not None and expected < first
            if resending:
                assert expected is not None
                queue = movements_from(session, device, expected, first)[:batch]
                if not queue or queue[0].device_seq != expected:
                    raise SyncGap(
                        f"The central store expects movement {expected} of device {device}"
                        " next, but this handheld no longer has it: ask a supervisor",
                        "gap",
                    )
            payload = [movement_in(session, movement) for movement in queue]
            changes = [status_change_in(change) for change in decided]
            depth, highest, oldest = queue_stats(session, device)
        answer = client.push(
            PushRequest(
                device_id=device,
                device_time=clock(),
                app_version=app_version(),
                queue_depth=depth,
                max_local_seq=highest,
                oldest_pending_at=oldest,
                movements=payload,
                status_changes=changes,
            )
        )
        with unit_of_work(sessions) as session:
            settled = apply_outcomes(session, device, answer.outcomes)
            for outcome, movement in zip(answer.outcomes, settled, strict=True):
                if movement is not None:
                    report.count(outcome.status)
            report.decisions += kept_status_changes(session, [change.id for change in changes])
        if payload and not answer.outcomes and (resending or answer.expected_next_seq >= first):
            raise SyncGap(
                f"The central store took none of movements {payload[0].seq} to"
                f" {payload[-1].seq} and expects {answer.expected_next_seq} next: ask a"
                " supervisor",
                "gap",
            )
        expected = answer.expected_next_seq


def _pull_changes(
    sessions: sessionmaker[Session],
    client: SyncClient,
    device: str,
    pages: tuple[int, int],
    report: SyncReport,
) -> None:
    """Pulls pages until the store has no more, each page and its cursor in one
    transaction. A handheld that has pulled nothing yet takes the store's snapshot first,
    and pulls after it; a store that says the cursor is past anything it has is taken
    again from a snapshot (or pulled from 0, from a store older than snapshots)."""
    page, snapshot_page = pages
    with reading(sessions) as session:
        cursor = read_setting(session, PULL_CURSOR) or 0
    if cursor == 0:
        cursor = _take_snapshot(sessions, client, device, snapshot_page, report)
    reset = False
    while True:
        answer = client.pull(cursor, page)
        if answer.reset:
            if cursor == 0 or reset:
                raise SyncRefused(
                    f"The central store cannot page its changes from {cursor}: ask a supervisor"
                )
            reset = True
            with unit_of_work(sessions) as session:
                write_setting(session, PULL_CURSOR, 0)
            cursor = _take_snapshot(sessions, client, device, snapshot_page, report)
            continue
        if answer.changes:
            with unit_of_work(sessions) as session:
                report.pulled += apply_changes(session, device, answer.changes)
                write_setting(session, PULL_CURSOR, answer.cursor)
        if not answer.has_more:
            return
        if answer.cursor <= cursor:
            raise SyncRefused(
                f"The central store's changes did not move on from {cursor}: ask a supervisor"
            )
        cursor = answer.cursor


def _take_snapshot(
    sessions: sessionmaker[Session],
    client: SyncClient,
    device: str,
    page: int,
    report: SyncReport,
) -> int:
    """Takes the store's snapshot page by page, each page in a transaction of its own, then
    rebuilds the caches and keeps the snapshot's cursor in one more; returns that cursor
    (0 from a store older than snapshots: the changes are then pulled from the first)."""
    cursor = 0
    place: SnapshotPlace | None = None
    with reading(sessions) as session:
        seen_others = holds_others_movements(session, device)
    while True:
        answer = client.snapshot(cursor, place, page)
        if answer is None:
            return 0
        if answer.reset:
            raise SyncUnavailable(
                f"The central store's numbering went back to below {cursor} during a snapshot:"
                " the next sync takes a new one"
            )
        cursor = answer.cursor
        with unit_of_work(sessions) as session:
            report.pulled += apply_snapshot_page(
                session, device, answer.kind, answer.rows, seen_others=seen_others
            )
        if answer.next is None:
            break
        if answer.next == place:
            raise SyncRefused("The central store's snapshot did not move on: ask a supervisor")
        place = answer.next
    with unit_of_work(sessions) as session:
        finish_snapshot(session, cursor)
    return cursor


def _pending(sessions: sessionmaker[Session], device: str) -> tuple[int, int]:
    """The movements and the decisions still waiting for the store."""
    with reading(sessions) as session:
        return pending_count(session, device), pending_status_count(session)


def _remember(
    sessions: sessionmaker[Session], clock: Clock, failure: LotscanError | None, *, reached: bool
) -> None:
    """Keeps how the last sync went, for the status line and `sync_status`."""
    now = clock()
    with unit_of_work(sessions) as session:
        write_setting(session, LAST_ATTEMPT_AT, now)
        write_setting(session, ONLINE, reached)
        # Spelled out: the message may quote the store's words, which are not ours to trust.
        said = shown(str(failure))[:MAX_VALUE] if failure else None
        write_setting(session, LAST_ERROR, said)
        if failure is None:
            write_setting(session, LAST_SYNC_AT, now)

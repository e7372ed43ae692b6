"""The handheld's engine: sign-in, the menu, and handing each scan to the current workflow.

The TUI, `lotscan replay` and the tests all drive this one object: `handle(raw)` takes a
scan exactly as the scanner sent it and returns an `Outcome`: the workflow's `Response`, who
is signed in and whether as a supervisor, whether the scan started a workflow, and how many
labels it queued. Each scan is handled in one transaction: what it records and the labels it
makes due (put in the print queue by the front end's `QueueLabels`) are committed together
before the next prompt, so a crash leaves both or neither; a scan that is refused
(unreadable, breaking a rule, not fitting the step, its labels not queueable) changes
nothing, in the database or in the workflow's state.
"""

from __future__ import annotations

import functools
import uuid
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from scanner.clock import utc_now
from scanner.closing import closed_under
from scanner.db import driver_transaction, reading
from scanner.describing import describe
from scanner.errors import LotscanError, NotFound
from scanner.ledger import KnownRows
from scanner.models import QUALITY_ROLES, Movement, Operator, Part, Role
from scanner.operators import badge_spelled_otherwise, has_operators
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Scan, ScanConfig, ScanKind, read_scan
from scanner.settings import SIGN_OUT_MINUTES, Gs1Pairing, read_setting
from scanner.workflows.assign import Assign
from scanner.workflows.base import Context, LabelDue, Level, Refusal, Response, Workflow
from scanner.workflows.complete import Complete
from scanner.workflows.display import MENU_PROMPT, SIGN_IN_PROMPT
from scanner.workflows.hold import ACTIONS, Hold
from scanner.workflows.issue import Issue
from scanner.workflows.lookup import Lookup
from scanner.workflows.move import Move
from scanner.workflows.receive import Receive
from scanner.workflows.returns import Return
from scanner.workflows.ship import Ship

WORKFLOWS: dict[str, type[Workflow]] = {
    flow.name: flow for flow in (Receive, Issue, Assign, Complete, Ship, Move, Lookup, Return, Hold)
}


@dataclass(frozen=True)
class SignedOut:
    """A sign-in that went `minutes` without a scan and was ended; `dropped`: with a line
    in progress."""

    minutes: int
    dropped: bool

    def why(self) -> str:
        plural = "" if self.minutes == 1 else "s"
        return f"signed out after {self.minutes} minute{plural} without a scan"

    def words(self) -> str:
        dropped = DROPPED_WORDS if self.dropped else ""
        return f"{self.why().capitalize()}{dropped}: scan your badge"


DROPPED_WORDS = " (the unfinished line was dropped)"
_LEAST_IDLE = timedelta(minutes=1)
"""Below this since the last scan, `SIGN_OUT_MINUTES` (at least 1 when set) is not read."""

QueueLabels = Callable[[Session, Sequence[LabelDue]], int]
"""How a front end puts the labels a scan made due in its print queue: called in the scan's
transaction, with its session, before it commits; returns how many it queued (none while
printing is off). It never contacts a printer. A `LotscanError` it raises refuses the scan,
which then records nothing; anything else it raises rolls the scan back too."""

NoteScan = Callable[[Session, Response], None]
"""What else a front end writes in a scan's transaction, after its movements and labels
(`lotscan replay` notes its place in the transcript and the handheld's state, so a replay
killed midway resumes where its last scan committed). A `LotscanError` it raises refuses
the scan, which then records nothing."""


@dataclass(frozen=True)
class Outcome:
    """What one scan did: everything a front end shows of it, so none works it out again."""

    response: Response
    operator: str | None
    """The badge signed in after the scan."""
    supervisor: bool
    """Whether that operator has the supervisor's role (read when they signed in)."""
    quality: bool = False
    """Whether that operator holds, releases and recalls: a supervisor or quality staff."""
    started: bool = False
    """Whether the scan started a workflow afresh (even the one that was running)."""
    labels_queued: int = 0
    """How many labels went into the print queue, committed with the scan's movements."""


class LabelsNotQueued(LotscanError):
    """A scan whose labels could not be put in the print queue: it is not recorded either,
    so no movement is ever left without the label it made due."""


class Handheld:
    """One handheld's session: who is signed in and which workflow is running."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        config: ScanConfig | None = None,
        clock: Callable[[], datetime] = utc_now,
        queue_labels: QueueLabels | None = None,
        note_scan: NoteScan | None = None,
    ) -> None:
        """`queue_labels` puts the labels a scan made due in the print queue; without it
        they are only named in the response. `note_scan` writes what the front end keeps
        with each scan, in its transaction."""
        self.sessions = sessions
        self._session: Session | None = None
        self._connection: Connection | None = None
        self.config = config or ScanConfig()
        self.clock = clock
        self.queue_labels = queue_labels
        self.note_scan = note_scan
        self.operator: str | None = None
        self.role: str | None = None
        """The role of the operator signed in (`scanner.models.Role`)."""
        self.workflow: Workflow | None = None
        self.finished: Workflow | None = None
        """The workflow last finished with CMD:DONE having recorded lines: CMD:UNDO reverses
        its last line until this sign-in ends or another workflow records one."""
        self.known: KnownRows = set()
        self._last_scan_at: datetime | None = None
        """When the last scan came, for the sign-out after `SIGN_OUT_MINUTES` without one."""
        self._timed_out: SignedOut | None = None
        """The sign-out this scan's badge follows, so its greeting says what was dropped."""
        self._label: dict[str, str] = {}
        """The element strings of the label of the line in progress (`_note_label`)."""

    def prompt(self) -> str:
        if self.operator is None:
            return SIGN_IN_PROMPT
        if self.workflow is None:
            return MENU_PROMPT
        return self.workflow.prompt()

    def handle(self, raw: str) -> Outcome:
        """Handles one scan: records it and queues the labels it made due, in one
        transaction, and says what happened. Whoever signed in is signed out first when the
        handheld has gone `SIGN_OUT_MINUTES` without a scan: then only a badge is taken."""
        signed_out: SignedOut | None = None
        try:
            signed_out = self._sign_out_if_idle()
            scan = read_scan(raw, _one_scan_alone(self.config))
            self._judge_pairing(scan)
        except LotscanError as problem:
            said = signed_out.words() if signed_out else str(problem)
            return self._outcome(self._refused(said))
        if signed_out is not None and scan.kind != ScanKind.OPERATOR:
            return self._outcome(self._refused(signed_out.words()))
        self._timed_out = signed_out
        running, finished = self.workflow, self.finished
        kept = (
            self.operator,
            self.role,
            running.snapshot() if running else None,
            finished.snapshot() if finished else None,
            self._label,
        )
        session = self._scan_session()
        try:
            with self._transaction(session):  # committed before the response, or rolled back
                context = Context(session, self.clock, self.operator or "", known=self.known)
                response = self._dispatch(scan, context)
                queued = self._queue(session, response.labels)
                if self.note_scan is not None:
                    self.note_scan(session, response)
        except LotscanError as problem:
            self.operator, self.role, self.workflow, self.finished, self._label = kept
            return self._outcome(self._refused(str(problem)))
        except BaseException:
            # The transaction was rolled back (a database error, a bug): so is the state.
            self.operator, self.role, self.workflow, self.finished, self._label = kept
            raise
        finally:
            session.close()
        self._note_label(scan)
        started = self.workflow is not None and self.workflow is not running
        return self._outcome(response, started=started, labels_queued=queued)

    def _sign_out_if_idle(self) -> SignedOut | None:
        """At a scan: signs out whoever signed in, dropping the line in progress, when the
        last scan came `SIGN_OUT_MINUTES` ago or more. The scan is the last now."""
        now = self.clock()
        last, self._last_scan_at = self._last_scan_at, now
        return self._idle_sign_out(now, last)

    def sign_out_if_idle(self) -> Outcome | None:
        """For a front end's timer: signs out as the next scan would, so the screen asks for
        a badge before anyone scans; what to show, or None while someone may go on."""
        signed_out = self._idle_sign_out(self.clock(), self._last_scan_at)
        if signed_out is None:
            return None
        words = signed_out.words()
        return self._outcome(Response(prompt=self.prompt(), message=words, level=Level.INFO))

    def idle_words(self) -> str | None:
        """What a sign-in gone idle would be told, without signing out: for an action that
        is not a scan (the supervisor panel's), refused then. Reads the setting."""
        now, last = self.clock(), self._last_scan_at
        minutes = self._idle_minutes(now, last)
        return None if minutes is None else SignedOut(minutes, dropped=False).words()

    def note_activity(self) -> None:
        """Something other than a scan was done under this sign-in (the supervisor panel's
        decisions): the idle time starts again."""
        self._last_scan_at = self.clock()

    def _idle_sign_out(self, now: datetime, last: datetime | None) -> SignedOut | None:
        """Signs out when `last` (the last scan) is `SIGN_OUT_MINUTES` or more before `now`;
        says how long and whether a line was dropped."""
        minutes = self._idle_minutes(now, last)
        if minutes is None:
            return None
        return SignedOut(minutes, dropped=self._sign_out())

    def _idle_minutes(self, now: datetime, last: datetime | None) -> int | None:
        """`SIGN_OUT_MINUTES` when the sign-in has gone that long without a scan, else None.
        The setting is read only once a minute has gone by, so a scan in a run of them costs
        nothing; a clock set back is not idleness."""
        if self.operator is None or last is None or now - last < _LEAST_IDLE:
            return None
        with reading(self.sessions) as session:
            minutes = read_setting(session, SIGN_OUT_MINUTES)
        if not minutes or now - last < timedelta(minutes=minutes):
            return None
        return minutes

    def _sign_out(self) -> bool:
        """Nobody signed in, no workflow, nothing to undo; whether a line was dropped."""
        dropped = self.workflow is not None and self.workflow.in_progress
        self.operator = self.role = None
        self.workflow = self.finished = None
        self._label = {}
        return dropped

    def _judge_pairing(self, scan: Scan) -> None:
        """GS1's pairing rules, where the site keeps them (`gs1_pairing` strict), judged on
        the whole label: a scan that names no part (the rest of a label too long for one
        symbol: its lot and count, `labels.compose`) together with the earlier symbols of
        the line it continues; any other scan alone, as `read_scan` judges one."""
        item = scan.item
        if item is None or self.config.gs1_pairing is not Gs1Pairing.STRICT:
            return
        from scanner.gs1_pairing import check_pairs  # loaded with scanner.gs1 by read_scan

        label = item.ai
        if self._label and not item.names_part:
            label = {**self._label, **item.ai}
        check_pairs(list(label))

    def _note_label(self, scan: Scan) -> None:
        """Keeps the element strings of the label the line in progress was scanned from (see
        `_judge_pairing`); a scan naming a part starts a label, one naming none adds to it."""
        item = scan.item
        if self.workflow is None or not self.workflow.in_progress:
            self._label = {}
        elif item is not None:
            rest = self._label and not item.names_part
            self._label = {**self._label, **item.ai} if rest else dict(item.ai)

    def failed(self, problem: str) -> Outcome:
        """The outcome of a scan that `handle` gave up on with an exception other than a
        refusal (the database went away): it recorded nothing, and the state is as before."""
        return self._outcome(self._refused(problem))

    def _queue(self, session: Session, due: Sequence[LabelDue]) -> int:
        """The labels due put in the print queue, in the scan's transaction."""
        if not due or self.queue_labels is None:
            return 0
        try:
            return self.queue_labels(session, due)
        except LotscanError as problem:
            raise LabelsNotQueued(f"Not recorded: its labels cannot be queued: {problem}") from None

    def _outcome(
        self, response: Response, *, started: bool = False, labels_queued: int = 0
    ) -> Outcome:
        supervisor = self.operator is not None and self.role == Role.SUPERVISOR
        quality = self.operator is not None and self.role in QUALITY_ROLES
        return Outcome(
            response, self.operator, supervisor, quality=quality, started=started,
            labels_queued=labels_queued,
        )  # fmt: skip

    def _transaction(self, session: Session) -> AbstractContextManager[object]:
        """The scan's one transaction. On SQLite, run on the driver's connection itself
        (`scanner.db.driver_transaction`): a scan commits before the next prompt, and the
        session's transaction machinery cost several times SQLite's BEGIN and COMMIT."""
        connection = self._connection
        if connection is not None and connection.dialect.name == "sqlite":
            return driver_transaction(session, connection)
        return session.begin()

    def _scan_session(self) -> Session:
        """The handheld's own session, on its own connection, for its scans one after
        another: each scan is one transaction, and the session is closed after each, so it
        holds nothing from one scan to the next. A connection from the pool and a new
        session for every scan cost more than the scan's BEGIN and COMMIT. The connection
        goes back to the pool when the handheld is dropped."""
        if self._session is None:
            connection = self.sessions.kw["bind"].connect()
            weakref.finalize(self, connection.close)
            self._connection = connection
            self._session = self.sessions(bind=connection)
        return self._session

    def _refused(self, message: str) -> Response:
        workflow = self.workflow
        return Response(
            prompt=self.prompt(),
            message=message,
            level=Level.ERROR,
            workflow=workflow.name if workflow else None,
            offers=workflow.offers() if workflow else (),
            awaiting_confirmation=workflow.awaiting_confirmation if workflow else False,
        )

    def _dispatch(self, scan: Scan, context: Context) -> Response:
        if scan.kind == ScanKind.OPERATOR:
            return self._sign_in(scan.value or "", context)
        if self.operator is None:
            return self._refused("Sign in first: scan your badge")
        if scan.kind == ScanKind.COMMAND:
            command = scan.value or ""
            running = self.workflow
            if command in WORKFLOWS and not (running is not None and running.answers(command)):
                return self._start(WORKFLOWS[command](), context)
            if command == "DONE":
                return self._done()
            if command == "CANCEL":
                return self._cancel()
            if command == "UNDO":
                return self._undo(context)
            if command == "SIGNOUT":
                if self._sign_out():
                    return Response(
                        prompt=self.prompt(),
                        message=f"Signed out{DROPPED_WORDS}",
                        level=Level.WARNING,
                    )
                return Response(prompt=self.prompt(), message="Signed out", level=Level.OK)
        if scan.kind == ScanKind.COMMAND and scan.value in ACTIONS:
            self._deciding_here(scan.value)
        if self.workflow is None:
            return self._refused("Choose a workflow first: scan CMD:RECEIVE, CMD:ISSUE, ...")
        if scan.kind == ScanKind.COMMAND and scan.value in ("CLOSE", "REOPEN"):
            self._closing_here(scan.value)
        response = self.workflow.handle(scan, context)
        if response.recorded:
            self.finished = None  # a new line: what was finished before is no longer undone
        return response

    def _closing_here(self, command: str) -> None:
        """CMD:CLOSE and CMD:REOPEN mean something in some workflows only: elsewhere the
        refusal says where they do."""
        workflow = self.workflow
        assert workflow is not None
        if command == "CLOSE" and not workflow.closes:
            raise Refusal("CMD:CLOSE works in COMPLETE, RECEIVE and SHIP")
        if command == "REOPEN" and workflow.name != "COMPLETE":
            raise Refusal("CMD:REOPEN reopens a job in COMPLETE (a supervisor)")

    def _deciding_here(self, command: str) -> None:
        """CMD:RELEASE and CMD:RECALL mean something in HOLD only, once a label is in hand."""
        if self.workflow is None or self.workflow.name != Hold.name:
            raise Refusal(f"CMD:{command} works in HOLD: scan CMD:HOLD, then the label")

    def _sign_in(self, badge: str, context: Context) -> Response:
        operator = find(context.session, Operator, badge)
        if operator is None:
            # Two lines at 40 columns: the command that adds one fits in the feedback.
            if not has_operators(context.session):
                raise NotFound(
                    f"Unknown badge {badge}: no operators yet: lotscan operators add BADGE NAME"
                )
            twin = badge_spelled_otherwise(context.session, badge)
            if twin is not None:  # typed by hand in the other case: never a second operator
                raise NotFound(f"Unknown badge {badge}: badges match exactly; scan {twin.badge}")
            raise NotFound(f"Unknown badge {badge}: add it with lotscan operators add {badge} NAME")
        dropped = self.workflow is not None and self.workflow.in_progress
        timed_out, self._timed_out = self._timed_out, None
        self.operator, self.role = badge, operator.role
        self.workflow = self.finished = None
        if dropped or (timed_out is not None and timed_out.dropped):
            why = f" ({timed_out.why()})" if timed_out else ""
            return Response(
                prompt=self.prompt(),
                message=f"Unfinished line dropped{why}. Hello, {operator.name}",
                level=Level.WARNING,
            )
        return Response(prompt=self.prompt(), message=f"Hello, {operator.name}", level=Level.OK)

    def _start(self, workflow: Workflow, context: Context) -> Response:
        abandoned = self.workflow is not None and self.workflow.in_progress
        self.workflow = workflow
        response = workflow.start(context)
        if abandoned:
            return Response(
                prompt=response.prompt,
                message=f"Unfinished line dropped. {response.message}",
                level=Level.WARNING,
                workflow=workflow.name,
                details=response.details,
                offers=response.offers,
            )
        return response

    def _done(self) -> Response:
        if self.workflow is None:
            return self._refused("No workflow is running")
        finished, self.workflow = self.workflow, None
        if finished.lines:
            self.finished = finished
        message = finished.done_words()
        if finished.in_progress:
            message += "; the unfinished line was dropped"
        return Response(prompt=self.prompt(), message=message, level=Level.OK)

    def _cancel(self) -> Response:
        if self.workflow is None:
            return self._refused("Nothing to cancel")
        if not self.workflow.in_progress:
            message = "Nothing to cancel: no line is in progress"
        else:
            message = self.workflow.cancel()
        return Response(
            prompt=self.prompt(),
            message=message,
            level=Level.INFO,
            workflow=self.workflow.name,
            offers=self.workflow.offers(),
        )

    def _undo(self, context: Context) -> Response:
        """Reverses the last line of the running workflow, or, while it has recorded none,
        of the workflow last finished (`finished`)."""
        workflow = self.workflow
        if workflow is not None and workflow.not_undone is not None:
            return self._refused(workflow.not_undone)
        if workflow is not None and workflow.in_progress:
            return self._refused("Finish this line or CMD:CANCEL it, then CMD:UNDO")
        if workflow is not None and workflow.lines:
            self._reverse_last_line(workflow, context)
            return workflow.respond(context, "Last line reversed", Level.OK)
        finished = self.finished
        if finished is None or not finished.lines:
            return self._refused("Nothing to undo in this workflow")
        reversed_ = self._reverse_last_line(finished, context)
        message = f"{finished.name}'s last line reversed: {'; '.join(reversed_)}"
        return Response(
            prompt=self.prompt(),
            message=message,
            level=Level.OK,
            workflow=workflow.name if workflow else None,
            recorded=tuple(context.recorded),
        )

    def _reverse_last_line(self, workflow: Workflow, context: Context) -> list[str]:
        """Reverses every movement of `workflow`'s last line, then forgets the line (a
        refusal midway leaves it, and the transaction is rolled back); returns what each
        reversal put back, as the operator reads it. A line on a job or order line closed
        since is refused whole (`scanner.closing.closed_under`)."""
        line = workflow.lines[-1]
        for movement_id in line:
            recorded = find(context.session, Movement, uuid.UUID(movement_id))
            closed = None if recorded is None else closed_under(context.session, recorded)
            if closed is not None:
                # A supervisor's badge here would end this sign-in and what it may undo.
                raise Refusal(f"Not undone: {closed} to reopen it in the office, then undo")
        undone = []
        for movement_id in reversed(line):
            undo = context.ledger.reverse(
                uuid.UUID(movement_id), reason=f"{workflow.name} undo", operator=self.operator
            )
            reversed_what = _quantity_of(context, undo)
            context.note(undo, f"Reversed {reversed_what}")  # with its unit and lot, as recorded
            undone.append(reversed_what)
        workflow.lines = workflow.lines[:-1]
        return undone


def _quantity_of(context: Context, movement: Movement) -> str:
    """`5 kg of lot R-1 of RESIN`: what a movement moved."""
    part = find(context.session, Part, movement.part)
    uom = f" {part.uom}" if part is not None else ""
    what = describe(movement.part, movement.lot, movement.serial)
    return f"{format_quantity(movement.qty)}{uom} of {what}"


@functools.cache
def _one_scan_alone(config: ScanConfig) -> ScanConfig:
    """`config` without the pairing rules, which the handheld judges on the whole label
    (`Handheld._judge_pairing`) rather than one scan alone as `read_scan` does."""
    if config.gs1_pairing is Gs1Pairing.OFF:
        return config
    return replace(config, gs1_pairing=Gs1Pairing.OFF)

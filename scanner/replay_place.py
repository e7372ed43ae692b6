"""Where a `lotscan replay` of a transcript got to (docs/architecture.md, "Transcripts").

With each scan the replay runs, in the scan's own transaction (the engine's `NoteScan`),
it writes the line, a digest of the transcript's inputs up to it, and the handheld's state
after it. A replay killed, out of disk, or stopped at a line therefore leaves exactly the
place its last committed scan reached, and running the same transcript again resumes after
it, signed in and in the middle of the same workflow, as if it had never stopped. A file
changed before that line is not resumed (its lines no longer say what was recorded); a
replay that reaches the end forgets its place, so the next run starts from the top.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from scanner.cursor_statements import Prepared
from scanner.db import reading, unit_of_work
from scanner.errors import LotscanError
from scanner.models import ReplayPlace
from scanner.workflows.base import Level, Response
from scanner.workflows.engine import Handheld
from scanner.workflows.state import handheld_state, restore_state

# One statement in every scan's transaction, on the driver's cursor: through the ORM, an
# UPDATE and its INSERT cost the scan some 300 us of CPU, more than the place itself.
_KEEP = Prepared(
    text(
        "INSERT INTO replay_places (transcript, line, digest, state) "
        "VALUES (:transcript, :line, :digest, :state) ON CONFLICT (transcript) DO UPDATE "
        "SET line = excluded.line, digest = excluded.digest, state = excluded.state"
    )
)


@dataclass(frozen=True)
class Waiting:
    """A warning on the line the replay stopped after, which the next line must confirm."""

    line: int
    text: str
    message: str


@dataclass(frozen=True)
class Resumed:
    """What an earlier replay of the transcript left: the last line that committed."""

    line: int
    waiting: Waiting | None


class TranscriptChanged(LotscanError):
    """A transcript that an earlier replay stopped in, changed since before that line."""


def input_digests(inputs: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Each input's line number and the SHA-256 of the inputs up to it, numbers included:
    an input changed, added or taken away before a line changes that line's digest."""
    running = hashlib.sha256()
    digests = {}
    for number, scan in inputs:
        running.update(f"{number}\t{scan}\n".encode())
        digests[number] = running.hexdigest()
    return digests


class PlaceKeeper:
    """Keeps a transcript's place for one replay; `note` is the handheld's `note_scan`."""

    def __init__(
        self, sessions: sessionmaker[Session], file: Path, inputs: list[tuple[int, str]]
    ) -> None:
        self.sessions = sessions
        self.transcript = str(file.resolve())
        self.digests = input_digests(inputs)
        self.handheld: Handheld | None = None
        self.at: tuple[int, str] = (0, "")
        """The line being replayed and its text, set by the replay before each scan."""

    def keep(self, handheld: Handheld) -> None:
        """Notes the place with each of `handheld`'s scans from now on."""
        self.handheld = handheld
        handheld.note_scan = self.note

    def resume(self, restart: bool = False) -> Resumed | None:
        """Where an earlier replay of the transcript stopped, with the handheld put back as
        it was there; None to start from the top (`restart` forgets the place)."""
        with reading(self.sessions) as session:
            place = session.get(ReplayPlace, self.transcript)
            found = None if place is None else (place.line, place.digest, place.state)
        if found is None:
            return None
        if restart:
            self.forget()
            return None
        line, digest, state = found
        if self.digests.get(line) != digest:
            raise TranscriptChanged(
                f"{self.transcript} changed before line {line}, where an earlier replay of it "
                "stopped: put it back as it was to resume, or --restart to replay it from the "
                "top (what that replay recorded stays recorded)"
            )
        kept = json.loads(state)
        assert self.handheld is not None, "keep(handheld) first"
        restore_state(self.handheld, kept["handheld"])
        waiting = kept.get("waiting")
        return Resumed(line, Waiting(**waiting) if waiting else None)

    def note(self, session: Session, response: Response) -> None:
        """Writes the place after the scan being recorded, in its transaction. A scan the
        engine refused moves nothing: the replay stops there, and resumes there."""
        if response.level == Level.ERROR:
            return
        line, scan = self.at
        assert self.handheld is not None
        state: dict[str, Any] = {"handheld": handheld_state(self.handheld), "waiting": None}
        if response.awaiting_confirmation:
            state["waiting"] = {"line": line, "text": scan, "message": response.message}
        _KEEP.run(
            session,
            {
                "transcript": self.transcript,
                "line": line,
                "digest": self.digests[line],
                "state": json.dumps(state),
            },
        )

    def forget(self) -> None:
        """The replay reached the end: the next run of the transcript starts from the top."""
        with unit_of_work(self.sessions) as session:
            session.execute(delete(ReplayPlace).where(ReplayPlace.transcript == self.transcript))

    def recorded_place(self) -> int | None:
        """The line the place is kept at now (None: the top)."""
        with reading(self.sessions) as session:
            return session.scalar(
                select(ReplayPlace.line).where(ReplayPlace.transcript == self.transcript)
            )

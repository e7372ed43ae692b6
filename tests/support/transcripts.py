"""Driving the handheld engine from a transcript, as `lotscan replay` does, on the test plant.

A transcript is the text a batch scanner dumps: one scan per line, `<GS>` for GS, blank and
`#` lines skipped. `Floor.run` feeds every input to the one `Handheld` and returns each
outcome with its line number, without stopping, so a test can look at any of them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.balance_check import cache_differences
from scanner.db import unit_of_work
from scanner.models import Balance, Movement
from scanner.replay import transcript_lines
from scanner.scan import ScanConfig
from scanner.stock import on_hand
from scanner.workflows.base import Level, Response
from scanner.workflows.engine import Handheld, Outcome, QueueLabels
from tests.support.plant import add_plant

SIGN_IN = "OP:B1001"


@dataclass(frozen=True)
class Step:
    """One input of a transcript and what the handheld made of it."""

    line: int
    text: str
    outcome: Outcome

    @property
    def response(self) -> Response:
        return self.outcome.response

    @property
    def message(self) -> str:
        return self.response.message

    @property
    def level(self) -> Level:
        return self.response.level


class Steps(list[Step]):
    """A transcript's steps, reachable by line number too."""

    def at(self, line: int) -> Step:
        return next(step for step in self if step.line == line)

    @property
    def last(self) -> Response:
        return self[-1].response

    def errors(self) -> list[Step]:
        return [step for step in self if step.level == Level.ERROR]


class Floor:
    """The test plant, one handheld on it, and ways to look at what it recorded."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        queue_labels: QueueLabels | None = None,
        config: ScanConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.handheld = Handheld(sessions, config=config, clock=clock, queue_labels=queue_labels)

    @classmethod
    def on_plant(cls, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> Floor:
        with unit_of_work(sessions) as session:
            add_plant(session)
        return cls(sessions, clock)

    def scan(self, raw: str) -> Response:
        return self.handheld.handle(raw).response

    def run(self, transcript: str) -> Steps:
        """Every input of `transcript`, each with its response. The transcript is dedented
        and its first line break dropped, so line 1 is the first line of a triple-quoted
        string."""
        text = textwrap.dedent(transcript).removeprefix("\n")
        return Steps(
            Step(number, raw, self.handheld.handle(raw)) for number, raw in transcript_lines(text)
        )

    def session(self) -> Session:
        return self.sessions()

    def stock(self, part: str, lot: str | None = None) -> dict[tuple[str, str], Decimal]:
        """On hand of `part` (lot `lot`): {(lot or serial or "", location): qty}."""
        with self.sessions() as session:
            return {
                (row.lot or row.serial or "", row.location): row.qty
                for row in on_hand(session, part=part, lot=lot)
            }

    def movements(self) -> list[Movement]:
        with self.sessions() as session:
            return list(session.scalars(select(Movement).order_by(Movement.device_seq)))

    def snapshot(self) -> tuple[object, ...]:
        """Everything a scan could change: the ledger and the balances."""
        with self.sessions() as session:
            moves = session.execute(
                select(Movement.id, Movement.kind, Movement.qty).order_by(Movement.device_seq)
            ).all()
            balances = session.execute(
                select(
                    Balance.part, Balance.lot, Balance.serial, Balance.location, Balance.qty
                ).order_by(Balance.part, Balance.lot, Balance.serial, Balance.location)
            ).all()
        return tuple(moves), tuple(balances)

    def agrees(self) -> bool:
        """The caches (balances, genealogy, serial states) are what the ledger says."""
        with self.sessions() as session:
            return cache_differences(session) == []

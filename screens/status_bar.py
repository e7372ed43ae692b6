"""The top line: where the operator is (the workflow), who is signed in, which device."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class StatusBar(Horizontal):
    """`RECEIVE ........ B1001 @ H7KQ`: one line, no border."""

    def compose(self) -> ComposeResult:
        yield Static("", id="where", markup=False)
        yield Static("", id="who", markup=False)

    def show(self, where: str, operator: str | None, device: str) -> None:
        self.query_one("#where", Static).update(where)
        who = " @ ".join(part for part in (operator, device) if part)
        self.query_one("#who", Static).update(who)

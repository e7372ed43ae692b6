"""The last feedback, always in the same place: bold, and coloured by its level (ok green,
info neutral, warning amber, error red), so it reads at arm's length."""

from __future__ import annotations

from textual.widgets import Static

from scanner.plain_text import shown
from scanner.workflows.display import Level

LEVEL_CLASSES = {level: f"-{level.value}" for level in Level}


class Feedback(Static):
    """What the handheld said about the last scan."""

    def __init__(self, *, id: str | None = None) -> None:
        # The engine's words are shown as they are: a lot named "[A]" is not markup, and a
        # control character the database holds is spelled out (scanner.plain_text).
        super().__init__("", markup=False, id=id)

    def show(self, message: str, level: Level) -> None:
        for each, name in LEVEL_CLASSES.items():
            self.set_class(each == level, name)
        self.update(shown(message))

"""What a handheld's screen shows before the engine is loaded: the levels of a message and
the first prompt. Kept apart from `scanner.workflows.base` and `engine`, which load the ORM:
the screen draws its first frame with these alone (docs/architecture.md, "Measured fast
paths")."""

from __future__ import annotations

from enum import StrEnum

MENU_PROMPT = "Scan a command: CMD:RECEIVE, ISSUE, ..."
SIGN_IN_PROMPT = "Scan your badge (OP:...)"


class Level(StrEnum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

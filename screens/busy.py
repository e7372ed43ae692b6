"""The busy sign: work the operator waits on (scans being handled, the queue being read,
the central store being asked) that runs longer than a moment says so on the status line,
while the scan field goes on taking input."""

from __future__ import annotations

from collections.abc import Callable


class BusySign:
    """Counts the work under way by name; `show(True)` once some has run `after` seconds
    without a pause, `show(False)` when none is left."""

    def __init__(
        self,
        after: float,
        set_timer: Callable[[float, Callable[[], None]], object],
        show: Callable[[bool], None],
    ) -> None:
        self.after = after
        self._set_timer = set_timer
        self._show = show
        self._running: set[str] = set()
        self._stretch = 0  # bumped each time work starts from idle
        self.shown = False

    @property
    def running(self) -> bool:
        return bool(self._running)

    def started(self, name: str) -> None:
        if not self._running:
            self._stretch += 1
            stretch = self._stretch
            self._set_timer(self.after, lambda: self._still(stretch))
        self._running.add(name)

    def done(self, name: str) -> None:
        self._running.discard(name)
        if not self._running and self.shown:
            self.shown = False
            self._show(False)

    def _still(self, stretch: int) -> None:
        """The timer of a stretch of work: too late if that stretch has ended since."""
        if self._running and stretch == self._stretch and not self.shown:
            self.shown = True
            self._show(True)

"""The background sync's waits after failures."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """How long the background loop waits after failures: exponential with full jitter
    (a random wait between 0 and base x 2^(failures-1), at most `cap`), so a fleet of
    handhelds coming back into Wi-Fi does not knock on the store all at once."""

    def __init__(
        self,
        base: float = 2.0,
        cap: float = 300.0,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng
        self.failures = 0

    def ceiling(self) -> float:
        """The longest the next wait can be."""
        if self.failures == 0:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(self.failures - 1, 30))

    def failed(self) -> float:
        """Counts one more failure; returns the seconds to wait before trying again."""
        self.failures += 1
        return self.rng() * self.ceiling()

    def reset(self) -> None:
        """A sync went through: the next failure waits briefly again."""
        self.failures = 0

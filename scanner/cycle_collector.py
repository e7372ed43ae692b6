"""Python's cycle collector, kept out of the way of work that allocates much and frees
little.

`collector_paused`: building a recall's trace allocates some 30,000 tuples and records, all
kept and none in a reference cycle. Each 700 allocations start a collection that finds
nothing to free, and every so often one of them walks every object the process holds
(SQLAlchemy's and Textual's included): a 30-80 ms pause in a 45 ms trace. Mercurial pauses
it the same way while it parses its large indexes. Reference counting still frees everything
at once; the cycle collector runs again as soon as the block ends.

`settle_collector`: the same cost in a long-running server, where requests come one after
another and pausing around each would leave the collector off most of the time.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The block runs without the cycle collector; it is left as it was found (an enclosing
    pause, or another thread's, is not ended early by this one)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


YOUNG_THRESHOLD = 20_000
"""New objects between two young collections in a long-running process (Python's is 700)."""


def settle_collector() -> None:
    """For a long-running process that has finished starting (the central service): what
    it loaded so far, its modules, mappings and schemas, is moved out of the collector's
    sight for good (`gc.freeze`), and a young
    collection waits for YOUNG_THRESHOLD new objects. A push of 500 movements allocates
    hundreds of thousands of objects; with Python's defaults the collections during it,
    each walking what the process had loaded, were a quarter of its time."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)

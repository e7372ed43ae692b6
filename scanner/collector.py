"""Pausing Python's cycle collector while a large result is built and kept whole.

Building a recall's trace allocates some 30,000 tuples and records, all of them kept and none
in a reference cycle. Each 700 allocations start a collection that finds nothing to free,
and every so often one of them walks every object the process holds (SQLAlchemy's and
Textual's included): a 30-50 ms pause in a 45 ms trace. Mercurial pauses it the same way
while it parses its large indexes. Reference counting still frees everything at once; the
cycle collector runs again as soon as the block ends.
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

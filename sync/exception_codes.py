"""What the central store flags a pushed movement for (docs/architecture.md,
"Exception codes"): the exception codes its rules raise, its table stores and the
supervisor's screen acts on. Plain values, no tables, so the handheld's screen can know them
without mapping the store's tables.
"""

from enum import StrEnum


class ExceptionCode(StrEnum):
    NEGATIVE_BALANCE = "NEGATIVE_BALANCE"
    STALE_SOURCE = "STALE_SOURCE"
    DOUBLE_REVERSAL = "DOUBLE_REVERSAL"
    SERIAL_CONFLICT = "SERIAL_CONFLICT"
    SERIAL_DUPLICATE_RECEIPT = "SERIAL_DUPLICATE_RECEIPT"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    CLOCK_SKEW = "CLOCK_SKEW"
    JOB_CLOSED = "JOB_CLOSED"
    LINE_CLOSED = "LINE_CLOSED"
    TOO_MANY_EXCEPTIONS = "TOO_MANY_EXCEPTIONS"
    RULE_VIOLATION = "RULE_VIOLATION"
    TRACKING_MISMATCH = "TRACKING_MISMATCH"
    # A movement of a lot or serial on hold or recalled (not into quarantine) reached the
    # store: it happened, so it counts, flagged for quality (docs/architecture.md,
    # "Quality and recall").
    LOT_NOT_RELEASED = "LOT_NOT_RELEASED"
    # A status change that reached the store after a later one of the same lot, serial, job
    # or order line: kept in the history, the later one stands, a supervisor is told.
    STATUS_CONFLICT = "STATUS_CONFLICT"


SHORTFALLS = (ExceptionCode.NEGATIVE_BALANCE.value, ExceptionCode.STALE_SOURCE.value)
"""The exceptions that say stock fell short: a count resolves them, a later receipt clears them."""

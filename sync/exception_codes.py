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
    RULE_VIOLATION = "RULE_VIOLATION"


SHORTFALLS = (ExceptionCode.NEGATIVE_BALANCE.value, ExceptionCode.STALE_SOURCE.value)
"""The exceptions that say stock fell short: a count resolves them, a later receipt clears them."""

"""Why a label cannot be made: each message says what to change."""

from scanner.errors import LotscanError


class LabelError(LotscanError):
    """A label that cannot be made as asked: data a barcode cannot carry, or a label that
    does not fit its stock."""


class LayoutError(LabelError):
    """A layout that is unknown or whose file is wrong."""

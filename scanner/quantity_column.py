"""The column type of a quantity (`scanner.quantity`): apart from the arithmetic, which the
handheld's screen uses before it loads SQLAlchemy."""

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect
from sqlalchemy.types import TypeDecorator

from scanner.quantity import SCALE, from_stored, to_quantity


class Quantity(TypeDecorator[Decimal]):
    """A Decimal column stored as whole thousandths in a BIGINT."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(to_quantity(value) * SCALE)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_stored(int(value))

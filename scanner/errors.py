"""Domain errors. Each message is written for the person holding the scanner."""


class LotscanError(Exception):
    """Base of every error lotscan reports to a user as-is."""


class RuleViolation(LotscanError):
    """A movement or a piece of reference data breaks a rule of the domain."""


class NotFound(LotscanError):
    """A part, lot, location, job or order named in a request does not exist."""


class DatabaseUnavailable(LotscanError):
    """The database named cannot be opened or reached."""


class ImportRowError(LotscanError):
    """A row of a reference-data CSV file is wrong; nothing from the file was written."""

    def __init__(self, file: str, row: int, column: str | None, message: str) -> None:
        where = f"{file}, row {row}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}")
        self.file = file
        self.row = row
        self.column = column
        self.reason = message

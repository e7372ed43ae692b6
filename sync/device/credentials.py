"""The handheld's enrollment: the central store's URL and this device's token.

The token is a secret that grants pushing as this device, so it lives in a file of its own,
`sync-token` next to the device database, readable by its owner only (mode 0600), never in
the database: a database copied for support must not carry it. The URL is the setting
`sync.url` (`scanner.settings.SYNC_URL`). A handheld with both is enrolled.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from scanner.errors import LotscanError
from scanner.settings import DEVICE_ID, SYNC_URL, read_setting
from scanner.workspace import device_folder

TOKEN_FILE = "sync-token"
NOT_ENROLLED = (
    "This handheld is not enrolled: ask a supervisor for a code (lotscan devices enroll NAME)"
    " and run lotscan enroll URL CODE"
)


class NotEnrolled(LotscanError):
    """This handheld has no token or no store to sync with."""

    def __init__(self, message: str = NOT_ENROLLED) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str
    device: str


def token_folder(db_url: str) -> Path:
    """The folder that holds the token for the database at `db_url`: the SQLite file's own
    folder, or the workspace folder for a server database (or an in-memory one)."""
    return device_folder(db_url)


def token_path(folder: Path) -> Path:
    return folder / TOKEN_FILE


def read_token(folder: Path) -> str | None:
    try:
        token = token_path(folder).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LotscanError(
            f"Cannot read the sync token {token_path(folder)}: {error.strerror or error}"
        ) from None
    return token or None


def write_token(folder: Path, token: str) -> None:
    """Replaces the token file in one step: a crash leaves the old token or the new one,
    never half of one. The file is created 0600 before a byte is written to it."""
    folder.mkdir(parents=True, exist_ok=True)
    target = token_path(folder)
    temporary = folder / f".{TOKEN_FILE}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # whatever the umask, and if the file was left over
            os.write(descriptor, f"{token}\n".encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
        _sync_folder(folder)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise LotscanError(
            f"Cannot write the sync token {target}: {error.strerror or error}"
        ) from None


def _sync_folder(folder: Path) -> None:
    """Makes the rename itself survive a power cut."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is still atomic
    finally:
        os.close(descriptor)


def service_url(session: Session) -> str | None:
    return read_setting(session, SYNC_URL)


def load_credentials(folder: Path, session: Session) -> Credentials:
    """This handheld's store, token and device id; `NotEnrolled` when it has none."""
    url = service_url(session)
    device = read_setting(session, DEVICE_ID)
    token = read_token(folder)
    if url is None or device is None or token is None:
        raise NotEnrolled()
    return Credentials(url=url, token=token, device=device)

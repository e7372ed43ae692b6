"""Where an export's `-o PATH` is written, and with what permissions.

An export is written beside its file and renamed over it, so a failure leaves no half file
(`scanner.export_epcis.write_file`, `scanner.spreadsheet.table_file`). Renamed over a
symbolic link, that replaced the link and left the file it named as it was; over a FIFO or
a device (`/dev/full`), it replaced the node, and the command said it had written there.
A temporary file is made for its owner alone, so a file renamed into place kept mode 0600
and another account meant to send it on could not read it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scanner.errors import LotscanError
from scanner.plain_text import shown


def output_target(path: Path) -> Path:
    """The file a file written to `path` replaces: the one a symbolic link names (the link
    stays a link), refused when what is there is not a regular file."""
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError as error:
        raise LotscanError(f"Cannot write {shown(str(path))}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise LotscanError(
            f"Cannot write {shown(str(path))}: it is {_kind(mode)}, not a file: give the path"
            " of a file to write"
        )
    return target


def file_mode(target: Path) -> int:
    """The permissions a file written to `target` takes: those of the file it replaces, or
    what the process's umask gives a new file."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"

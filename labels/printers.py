"""Printers, named by URL, and how a rendered label reaches each (docs/architecture.md,
"Labels and the print queue"):

- `tcp://HOST[:PORT]`: a Zebra-compatible thermal printer's raw port (9100 by default). The
  ZPL is sent as is, then the connection is closed; raw printing has no acknowledgement, so
  "printed" means the printer took every byte.
- `lp://QUEUE`, or `lp://` for the default queue: the system print queue, through CUPS's
  `lp` command with the label on its standard input; PDF by default, `?format=png` for an
  image, `?format=zpl` for a raw queue in front of a thermal printer.
- `file:///FOLDER`: one file per job in an existing folder (a hot folder, or a test), PNG
  by default, `?format=pdf|svg|zpl` for others. A file appears whole or not at all.

`tcp` and `lp` take `?timeout=SECONDS` (default 5 s to connect and 10 s to send for tcp,
30 s for lp). Nothing here touches the database: the print queue (`labels.queue`) calls
`send` outside any transaction, so a printer that does not answer never holds up a scan.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import socket
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, urlsplit

from labels.output import LabelFormat
from scanner.errors import LotscanError
from scanner.plain_text import quoted

RAW_PORT = 9100
CONNECT_TIMEOUT = 5.0
SEND_TIMEOUT = 10.0
LP_TIMEOUT = 30.0
MAX_URL = 200  # what the settings table and the print queue keep


class PrinterError(LotscanError):
    """A printer named in a way lotscan cannot print to."""


class PrinterUnavailable(PrinterError):
    """A printer that is off, unreachable or refusing: the label waits and is tried again."""


class Printer(ABC):
    """Where labels go, and the one format it takes by default."""

    schemes: tuple[str, ...] = ()
    accepts: tuple[LabelFormat, ...] = ()

    def __init__(self, url: str, format: LabelFormat) -> None:
        self.url = url
        self.format = format

    @abstractmethod
    def send(self, payload: bytes, name: str) -> None:
        """Sends one rendered job; `name` (such as `H7KQ-000012.zpl`) names it where a
        name shows. Raises PrinterUnavailable when the printer does not take it."""

    def unavailable(self, reason: str) -> PrinterUnavailable:
        return PrinterUnavailable(f"Printer {self.url} {reason}")

    def file_of(self, name: str) -> Path | None:
        """The file a job named `name` becomes, for a printer that writes files a person
        opens; None for one that prints on paper."""
        return None


class RawTcpPrinter(Printer):
    """A thermal printer's raw port: connect, send the ZPL, close."""

    schemes = ("tcp",)
    accepts = (LabelFormat.ZPL,)

    def __init__(
        self,
        url: str,
        host: str,
        port: int = RAW_PORT,
        connect_timeout: float = CONNECT_TIMEOUT,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        super().__init__(url, LabelFormat.ZPL)
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout

    def send(self, payload: bytes, name: str) -> None:
        try:
            connection = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
        except TimeoutError:
            raise self.unavailable(
                f"did not answer within {self.connect_timeout:g} s: is it on and on the network?"
            ) from None
        except socket.gaierror:
            raise self.unavailable(f"is not on the network: no host is named {self.host}") from None
        except OSError as error:
            raise self.unavailable(f"did not answer: {_reason(error)}") from None
        with connection:
            # Since Python 3.5 the timeout bounds the whole sendall, not each chunk.
            connection.settimeout(self.send_timeout)
            try:
                connection.sendall(payload)
                connection.shutdown(socket.SHUT_WR)
            except TimeoutError:
                raise self.unavailable(
                    f"did not take the label within {self.send_timeout:g} s"
                ) from None
            except OSError as error:
                raise self.unavailable(f"broke off: {_reason(error)}") from None


class SystemQueuePrinter(Printer):
    """A CUPS queue, through `lp`."""

    schemes = ("lp",)
    accepts = (LabelFormat.PDF, LabelFormat.PNG, LabelFormat.ZPL)

    def __init__(
        self, url: str, queue: str | None, format: LabelFormat, timeout: float = LP_TIMEOUT
    ) -> None:
        super().__init__(url, format)
        self.queue = queue
        self.timeout = timeout

    def command(self, name: str) -> list[str]:
        program = shutil.which("lp")
        if program is None:
            raise self.unavailable(
                "cannot be reached: the lp command is not installed (install CUPS's client, "
                "such as the cups-client package)"
            )
        command = [program]
        if self.queue:
            command += ["-d", self.queue]
        command += ["-t", name]
        if self.format == LabelFormat.ZPL:
            command += ["-o", "raw"]  # ZPL goes to the printer untouched by CUPS's filters
        return command

    def send(self, payload: bytes, name: str) -> None:
        command = self.command(name)
        try:
            done = subprocess.run(
                command, input=payload, capture_output=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise self.unavailable(f"did not take the job within {self.timeout:g} s") from None
        except OSError as error:
            raise self.unavailable(f"cannot be reached: lp failed: {_reason(error)}") from None
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = said[0] if said else f"lp exited with status {done.returncode}"
            raise self.unavailable(f"refused the job: {reason}")


class FolderPrinter(Printer):
    """One file per job in a folder, written under a temporary name and then renamed, so a
    program watching the folder never sees half a label. The file's permissions follow the
    umask like any file's (not `mkstemp`'s owner-only 0600): a label is for whoever prints
    or files it."""

    schemes = ("file",)
    accepts = tuple(LabelFormat)

    def __init__(self, url: str, folder: Path, format: LabelFormat) -> None:
        super().__init__(url, format)
        self.folder = folder

    def file_of(self, name: str) -> Path:
        return self.folder / name

    def send(self, payload: bytes, name: str) -> None:
        if name in ("", ".", "..") or Path(name).name != name or "\\" in name:
            # The name is made from this device's id; it may never reach outside the folder.
            raise self.unavailable(f"will not write {quoted(name)}: it is not a plain file name")
        if not self.folder.is_dir():
            raise self.unavailable(f"cannot be reached: there is no folder {self.folder}")
        temporary: str | None = None
        try:
            unique = self.folder / f".{name}.{secrets.token_hex(6)}.tmp"
            handle = os.open(unique, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            temporary = str(unique)
            with os.fdopen(handle, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.folder / name)
            temporary = None
        except OSError as error:
            raise self.unavailable(f"cannot write {name}: {_reason(error)}") from None
        finally:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)


def printer_at(url: str) -> Printer:
    """The printer a URL names. Raises PrinterError for a URL lotscan cannot print to; it
    never contacts the printer."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise PrinterError(f"A printer URL is at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as error:
        raise PrinterError(f"{url} is not a printer URL: {error}") from None
    if parts.scheme == "tcp":
        return _tcp(url, parts, options)
    if parts.scheme == "lp":
        return _lp(url, parts, options)
    if parts.scheme == "file":
        return _folder(url, parts, options)
    raise PrinterError(
        f"{url or 'An empty URL'} is not a printer lotscan can use: name one as "
        "tcp://HOST:9100, lp://QUEUE (lp:// for the default) or file:///FOLDER"
    )


def send(url: str, payload: bytes, name: str) -> None:
    """Sends one rendered job to the printer at `url`."""
    printer_at(url).send(payload, name)


def file_of(url: str, name: str) -> Path | None:
    """The file the job `name` became at the printer `url`, when it writes files."""
    try:
        return printer_at(url).file_of(name)
    except PrinterError:
        return None


def _tcp(url: str, parts: SplitResult, options: dict[str, str]) -> Printer:
    timeout = _timeout(url, options)
    _no_other_options(url, options, {"timeout"})
    if not parts.hostname or parts.path not in ("", "/"):
        raise PrinterError(
            f"{url}: name the printer as tcp://HOST:PORT, such as tcp://10.1.2.3:9100"
        )
    return RawTcpPrinter(
        url,
        parts.hostname,
        parts.port or RAW_PORT,
        connect_timeout=timeout or CONNECT_TIMEOUT,
        send_timeout=timeout or SEND_TIMEOUT,
    )


def _lp(url: str, parts: SplitResult, options: dict[str, str]) -> Printer:
    timeout = _timeout(url, options)
    chosen = _format(url, options, SystemQueuePrinter.accepts, LabelFormat.PDF)
    _no_other_options(url, options, {"timeout", "format"})
    if parts.path not in ("", "/"):
        raise PrinterError(f"{url}: name the queue as lp://QUEUE, or lp:// for the default one")
    return SystemQueuePrinter(url, parts.netloc or None, chosen, timeout or LP_TIMEOUT)


def _folder(url: str, parts: SplitResult, options: dict[str, str]) -> Printer:
    chosen = _format(url, options, FolderPrinter.accepts, LabelFormat.PNG)
    _no_other_options(url, options, {"format"})
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise PrinterError(f"{url}: name the folder by its full path, as file:///path/to/folder")
    return FolderPrinter(url, Path(parts.path), chosen)


def _format(
    url: str, options: dict[str, str], accepts: tuple[LabelFormat, ...], default: LabelFormat
) -> LabelFormat:
    asked = options.get("format", default.value).lower()
    if asked not in [each.value for each in accepts]:
        allowed = ", ".join(each.value for each in accepts)
        raise PrinterError(f"{url}: format {asked} is not one of {allowed}")
    return LabelFormat(asked)


def _timeout(url: str, options: dict[str, str]) -> float | None:
    if "timeout" not in options:
        return None
    try:
        seconds = float(options["timeout"])
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise PrinterError(f"{url}: timeout is a number of seconds, above 0 and at most 600")
    return seconds


def _no_other_options(url: str, options: dict[str, str], known: set[str]) -> None:
    unknown = sorted(set(options) - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise PrinterError(f"{url}: unknown option {', '.join(unknown)} (it takes {allowed})")


def _reason(error: OSError) -> str:
    """A socket or file error as a short phrase: "connection refused", "no route to host"."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if error.errno is not None and error.errno in errno.errorcode:
        return (error.strerror or os.strerror(error.errno)).lower()
    return str(error) or type(error).__name__

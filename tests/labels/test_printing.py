"""Printers named by URL, this device's printer settings, and `lotscan replay`
printing the labels a transcript made due.

A thermal printer is stood in for by `Listener`, a raw port on loopback that records every
byte it is sent. Nothing here reaches an address other than 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import TracebackType

import pytest
from sqlalchemy.orm import Session, sessionmaker

from labels.content import Label, LabelKind, label_for_lot
from labels.layout import layout_named
from labels.output import LabelFormat, render
from labels.printers import (
    FolderPrinter,
    PrinterError,
    PrinterUnavailable,
    RawTcpPrinter,
    SystemQueuePrinter,
    printer_at,
    send,
)
from labels.printing import printer_settings, queue_labels_due, set_printer, set_printing
from labels.queue import list_jobs
from scanner.cli import main
from scanner.db import reading, unit_of_work
from scanner.errors import RuleViolation
from scanner.workflows.base import LabelDue
from tests.support.transcripts import Floor

ZPL = render(
    [Label(LabelKind.LOT, part="RESIN", lot="R-1", qty=Decimal(25), uom="kg")],
    layout_named("4x2-203"),
    LabelFormat.ZPL,
)


class Listener:
    """A printer's raw port on 127.0.0.1: it accepts connections and records what each one
    sent, read to its end. With `read=False` it accepts and never reads, like a printer that
    hangs. It stops by itself after `lifetime` seconds, whatever the test does."""

    def __init__(self, port: int = 0, *, read: bool = True, lifetime: float = 20.0) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(8)
        self.server.settimeout(0.05)
        self.port: int = self.server.getsockname()[1]
        self.read = read
        self.received: list[bytes] = []
        self._held: list[socket.socket] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            if not self.read:
                self._held.append(connection)
                continue
            with connection:
                connection.settimeout(5)
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
            with self._changed:
                self.received.append(b"".join(chunks))
                self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """What the first `count` connections sent, once they have all been read."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()
        for connection in self._held:
            connection.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def closed_port() -> int:
    """A loopback port nothing listens on: bound, noted and closed again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as running:
        yield running


# ---- transports -----------------------------------------------------------------------------


def test_a_tcp_printer_receives_exactly_the_zpl_in_one_connection(listener: Listener) -> None:
    send(listener.url, ZPL, "H7KQ-000001.zpl")
    assert listener.wait_for(1) == [ZPL]


def test_a_printer_that_is_off_is_unavailable_with_a_clear_message() -> None:
    port = closed_port()
    with pytest.raises(PrinterUnavailable) as raised:
        send(f"tcp://127.0.0.1:{port}", ZPL, "H7KQ-000001.zpl")
    assert str(raised.value) == f"Printer tcp://127.0.0.1:{port} did not answer: connection refused"


def test_a_printer_that_accepts_but_never_reads_times_out_instead_of_hanging() -> None:
    with Listener(read=False) as hanging:
        started = time.monotonic()
        with pytest.raises(PrinterUnavailable) as raised:
            # More than the loopback's socket buffers hold, so the send has to wait on it.
            send(f"{hanging.url}?timeout=0.3", b"^XA" * (30 << 20), "big.zpl")
    assert time.monotonic() - started < 5
    assert (
        str(raised.value)
        == f"Printer {hanging.url}?timeout=0.3 did not take the label within 0.3 s"
    )


def test_a_printer_that_never_accepts_times_out_connecting() -> None:
    # A listening socket whose backlog is full answers no more connection requests.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(0)
        url = f"tcp://127.0.0.1:{busy.getsockname()[1]}?timeout=0.3"
        with socket.create_connection(busy.getsockname(), timeout=1):
            started = time.monotonic()
            with pytest.raises(PrinterUnavailable, match=r"did not answer within 0\.3 s"):
                send(url, ZPL, "H7KQ-000001.zpl")
    assert time.monotonic() - started < 5


def test_a_folder_printer_writes_each_job_whole_under_its_name(tmp_path: Path) -> None:
    send(f"file://{tmp_path}", b"first", "H7KQ-000001.png")
    send(f"file://{tmp_path}?format=zpl", ZPL, "H7KQ-000002.zpl")
    send(f"file://{tmp_path}", b"again", "H7KQ-000001.png")  # a retried job replaces its file
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "H7KQ-000001.png",
        "H7KQ-000002.zpl",
    ]  # and no temporary file is left behind
    assert (tmp_path / "H7KQ-000001.png").read_bytes() == b"again"
    assert (tmp_path / "H7KQ-000002.zpl").read_bytes() == ZPL


def test_a_folder_that_is_not_there_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable) as raised:
        send(f"file://{tmp_path}/gone", b"label", "H7KQ-000001.png")
    assert str(raised.value) == (
        f"Printer file://{tmp_path}/gone cannot be reached: there is no folder {tmp_path}/gone"
    )


def fake_lp(folder: Path, script: str) -> None:
    lp = folder / "lp"
    lp.write_text(f"#!/bin/sh\n{script}\n")
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR)


def test_the_system_queue_gets_the_label_on_lps_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lp(tmp_path, f'echo "$@" > {tmp_path}/args\ncat > {tmp_path}/stdin\necho "request id"')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    send("lp://Zebra_ZD421", b"%PDF-label", "H7KQ-000003.pdf")
    assert (tmp_path / "args").read_text() == "-d Zebra_ZD421 -t H7KQ-000003.pdf\n"
    assert (tmp_path / "stdin").read_bytes() == b"%PDF-label"
    send("lp://?format=zpl", ZPL, "H7KQ-000004.zpl")  # the default queue, raw
    assert (tmp_path / "args").read_text() == "-t H7KQ-000004.zpl -o raw\n"


def test_a_queue_that_lp_refuses_is_unavailable_with_lps_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lp(
        tmp_path, 'cat > /dev/null\necho "lp: The printer or class does not exist." >&2\nexit 1'
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(PrinterUnavailable) as raised:
        send("lp://Nope", b"%PDF-label", "H7KQ-000003.pdf")
    assert str(raised.value) == (
        "Printer lp://Nope refused the job: lp: The printer or class does not exist."
    )


def test_without_the_lp_command_the_system_queue_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrinterUnavailable) as raised:
        send("lp://", b"%PDF-label", "H7KQ-000003.pdf")
    assert str(raised.value).startswith(
        "Printer lp:// cannot be reached: the lp command is not installed"
    )


@pytest.mark.parametrize(
    ("url", "kind", "format"),
    [
        ("tcp://10.1.2.3:9100", RawTcpPrinter, "zpl"),
        ("tcp://zebra-1", RawTcpPrinter, "zpl"),
        ("lp://Office", SystemQueuePrinter, "pdf"),
        ("lp://", SystemQueuePrinter, "pdf"),
        ("lp://Office?format=png", SystemQueuePrinter, "png"),
        ("file:///var/spool/labels", FolderPrinter, "png"),
        ("file:///var/spool/labels?format=pdf", FolderPrinter, "pdf"),
    ],
)
def test_the_format_follows_the_printer(url: str, kind: type, format: str) -> None:
    printer = printer_at(url)
    assert isinstance(printer, kind)
    assert printer.format == format


def test_a_raw_port_defaults_to_9100_with_short_timeouts() -> None:
    printer = printer_at("tcp://zebra-1")
    assert isinstance(printer, RawTcpPrinter)
    assert (printer.host, printer.port, printer.connect_timeout) == ("zebra-1", 9100, 5.0)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.1.2.3/print", "http://10.1.2.3/print is not a printer lotscan can use"),
        ("10.1.2.3:9100", "10.1.2.3:9100 is not a printer lotscan can use"),
        ("", "An empty URL is not a printer lotscan can use"),
        ("tcp://:9100", "tcp://:9100: name the printer as tcp://HOST:PORT"),
        ("tcp://zebra:x", "tcp://zebra:x is not a printer URL"),
        ("tcp://zebra?timeout=never", "timeout is a number of seconds"),
        ("tcp://zebra?format=png", "tcp://zebra?format=png: unknown option format"),
        ("lp://Office?format=svg", "lp://Office?format=svg: format svg is not one of pdf, png"),
        ("file://server/labels", "name the folder by its full path"),
        ("file:///x?format=gif", "format gif is not one of png, svg, pdf, zpl"),
    ],
)
def test_a_url_lotscan_cannot_print_to_is_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(PrinterError, match=message.replace("?", r"\?")):
        printer_at(url)


# ---- this device's printer ------------------------------------------------------------------


def test_a_device_prints_nowhere_until_a_printer_is_set(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        settings = printer_settings(session)
        assert (settings.url, settings.layout, settings.printing) == (None, "4x2-203", False)
        with pytest.raises(RuleViolation, match="No printer is set"):
            set_printing(session, True)
        set_printer(session, "tcp://10.1.2.3:9100", layout="4x6-203")
        assert printer_settings(session).printing
        set_printing(session, False)
        set_printer(session, "lp://Office")  # the layout stays; printing is on again
    with reading(sessions) as session:
        settings = printer_settings(session)
    assert (settings.url, settings.layout, settings.enabled) == ("lp://Office", "4x6-203", True)


def receive_three_containers(floor: Floor) -> tuple[LabelDue, ...]:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)75
        CMD:GEN
        R-001
        R-003
    """)
    return steps.last.labels


def test_labels_due_are_queued_for_the_printer_without_reaching_it(
    floor: Floor, listener: Listener
) -> None:
    due = receive_three_containers(floor)
    with unit_of_work(floor.sessions) as session:
        set_printer(session, listener.url)
        jobs = queue_labels_due(session, due)
    assert [(job.description, job.format, job.layout, job.status) for job in jobs] == [
        (f"lot R-00{n} of RESIN, 25 kg", "zpl", "4x2-203", "waiting") for n in (1, 2, 3)
    ]
    with reading(floor.sessions) as session:
        expected = render(
            [label_for_lot(session, "RESIN", "R-002", qty=25)],
            layout_named("4x2-203"),
            LabelFormat.ZPL,
        )
    assert jobs[1].payload == expected
    assert listener.received == []


def test_with_printing_off_or_no_printer_nothing_is_queued(floor: Floor) -> None:
    due = receive_three_containers(floor)
    with unit_of_work(floor.sessions) as session:
        assert queue_labels_due(session, due) == []
        set_printer(session, "tcp://127.0.0.1:9")
        set_printing(session, False)
        assert queue_labels_due(session, due) == []
        assert list_jobs(session) == []


def test_printer_commands_show_and_change_the_settings(
    sessions: sessionmaker[Session], db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["printer", "--db", db_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Printer: none set (lotscan printer set URL)",
        "Layout: 4x2-203",
        "Printing: off (no printer)",
        "Waiting to print: 0",
    ]
    assert (
        main(["printer", "set", "tcp://10.1.2.3:9100", "--layout", "4x6-300", "--db", db_url]) == 0
    )
    assert main(["printer", "off", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["--db", db_url, "printer"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Printer: tcp://10.1.2.3:9100 (ZPL)",
        "Layout: 4x6-300",
        "Printing: off (lotscan printer on)",
        "Waiting to print: 0",
    ]
    assert main(["printer", "set", "http://printer", "--db", db_url]) == 1
    assert main(["printer", "set", "lp://", "--layout", "6x4", "--db", db_url]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("lotscan: http://printer is not a printer lotscan can use")
    assert err[1].startswith("lotscan: Unknown layout 6x4")


# ---- lotscan replay prints the labels it made due -------------------------------------------

RECEIVE_THREE_CONTAINERS = """\
OP:B1001
CMD:RECEIVE
(240)RESIN(30)75
CMD:GEN
R-001
R-003
CMD:DONE
"""


def replay(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    transcript = tmp_path / "receiving.txt"
    transcript.write_text(RECEIVE_THREE_CONTAINERS)
    status = main(["replay", "--db", db_url, str(transcript)])
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "3 movements recorded"
    return status, err


def test_replay_prints_one_zpl_label_per_lot_container(
    floor: Floor, db_url: str, tmp_path: Path, listener: Listener,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert main(["printer", "set", listener.url, "--db", db_url]) == 0
    status, err = replay(db_url, tmp_path, capsys)
    assert (status, err) == (0, "3 labels queued, 3 printed\n")
    received = listener.wait_for(3)
    with reading(floor.sessions) as session:
        assert received == [
            render(
                [label_for_lot(session, "RESIN", lot, qty=25)],
                layout_named("4x2-203"),
                LabelFormat.ZPL,
            )
            for lot in ("R-001", "R-002", "R-003")
        ]


def test_replay_with_the_printer_off_records_everything_and_the_labels_wait(
    floor: Floor, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    assert main(["printer", "set", f"tcp://127.0.0.1:{port}", "--db", db_url]) == 0
    status, err = replay(db_url, tmp_path, capsys)
    assert status == 0
    assert err == (
        f"3 labels queued, 0 printed, 3 still waiting (Printer tcp://127.0.0.1:{port} did not "
        "answer: connection refused; lotscan print-queue deliver tries again)\n"
    )
    assert floor.stock("RESIN") == {
        ("R-001", "RCV"): 25,
        ("R-002", "RCV"): 25,
        ("R-003", "RCV"): 25,
    }
    with reading(floor.sessions) as session:
        assert [(job.status, job.attempts) for job in list_jobs(session)] == [
            ("waiting", 1),
            ("waiting", 0),  # one refusal a pass is enough to know
            ("waiting", 0),
        ]

"""The durable print queue (docs/architecture.md, "Labels and the print queue"): a print job
survives an unreachable printer and a restart, and `lotscan print-queue` shows and manages
it.

The printer is `Listener`, a raw port on 127.0.0.1 that records what it is sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from labels.content import Label, LabelKind
from labels.layout import layout_named
from labels.output import LabelFormat, render
from labels.printers import PrinterError
from labels.printers import send as send_to_printer
from labels.queue import deliver_waiting, drop, enqueue, job_json, list_jobs, retry
from scanner.cli import main
from scanner.db import open_database, reading, unit_of_work
from scanner.errors import NotFound, RuleViolation
from scanner.models import PrintJob, Setting
from scanner.settings import DEVICE_ID, SettingError, write_setting
from tests.conftest import NOW
from tests.labels.test_printing import Listener, closed_port

LAYOUT = layout_named("4x2-203")


def lot_label(lot: str) -> Label:
    return Label(
        LabelKind.LOT, part="RESIN", description="PA66 resin", lot=lot, qty=Decimal(25), uom="kg"
    )


def zpl(lot: str) -> bytes:
    return render([lot_label(lot)], LAYOUT, LabelFormat.ZPL)


def queue(sessions: sessionmaker[Session], printer: str, *lots: str) -> list[int]:
    with unit_of_work(sessions) as session:
        jobs = enqueue(session, [lot_label(lot) for lot in lots], printer, LAYOUT, LabelFormat.ZPL)
        return [job.id for job in jobs]


def jobs(sessions: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with reading(sessions) as session:
        return [
            (job.description, job.status, job.attempts, job.last_error)
            for job in list_jobs(session)
        ]


def test_a_job_prints_and_the_printer_receives_exactly_its_zpl(
    sessions: sessionmaker[Session],
) -> None:
    with Listener() as printer:
        (job_id,) = queue(sessions, printer.url, "R-1")
        report = deliver_waiting(sessions, clock=lambda: NOW)
        assert printer.wait_for(1) == [zpl("R-1")]
    assert (report.printed, report.waiting, report.ok) == ((job_id,), (), True)
    assert report.summary() == "1 label printed"
    with reading(sessions) as session:
        job = session.get(PrintJob, job_id)
        assert job is not None
        assert (job.status, job.attempts, job.last_error) == ("printed", 1, None)
        recorded = job_json(job)
    assert recorded["printed_at"] == recorded["last_attempt_at"] == NOW.isoformat()
    assert deliver_waiting(sessions).summary() == "Nothing waiting to print"


def test_a_job_for_a_printer_that_is_off_waits_and_prints_after_a_restart(
    sessions: sessionmaker[Session], db_url: str
) -> None:
    port = closed_port()
    url = f"tcp://127.0.0.1:{port}"
    first, second = queue(sessions, url, "R-1", "R-2")
    report = deliver_waiting(sessions)
    refused = f"Printer {url} did not answer: connection refused"
    assert (report.printed, report.waiting, report.problems) == (
        (),
        (first, second),
        {url: refused},
    )
    assert report.summary() == f"0 labels printed, 2 still waiting: {refused}"
    assert jobs(sessions) == [
        ("lot R-1 of RESIN, 25 kg", "waiting", 1, refused),
        ("lot R-2 of RESIN, 25 kg", "waiting", 0, None),  # not tried: its printer is off
    ]
    sessions.kw["bind"].dispose()  # the app stops ...

    reopened = open_database(db_url)  # ... and starts again, with the printer back on
    try:
        with Listener(port) as printer:
            assert deliver_waiting(reopened).printed == (first, second)
            assert printer.wait_for(2) == [zpl("R-1"), zpl("R-2")]
        assert [(status, attempts) for _, status, attempts, _ in jobs(reopened)] == [
            ("printed", 2),
            ("printed", 1),
        ]
    finally:
        reopened.kw["bind"].dispose()


def test_a_printer_that_fails_is_tried_once_a_pass_and_others_still_print(
    sessions: sessionmaker[Session],
) -> None:
    off = f"tcp://127.0.0.1:{closed_port()}"
    with Listener() as printer:
        ids = queue(sessions, off, "R-1") + queue(sessions, printer.url, "R-2")
        ids += queue(sessions, off, "R-3") + queue(sessions, printer.url, "R-4")
        tried: list[str] = []

        def send(url: str, payload: bytes, name: str) -> None:
            tried.append(name)
            send_to_printer(url, payload, name)

        report = deliver_waiting(sessions, send=send)
        assert printer.wait_for(2) == [zpl("R-2"), zpl("R-4")]
    assert tried == [
        f"lotscan-{ids[0]:06d}.zpl",
        f"lotscan-{ids[1]:06d}.zpl",
        f"lotscan-{ids[3]:06d}.zpl",
    ]
    assert (report.printed, report.waiting) == ((ids[1], ids[3]), (ids[0], ids[2]))


def test_a_job_another_deliverer_took_meanwhile_is_not_sent_twice(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    (tmp_path / "labels").mkdir()
    folder = f"file://{tmp_path}/labels"
    with unit_of_work(sessions) as session:
        write_setting(session, DEVICE_ID, "H7KQ")
        labels = [lot_label("R-1"), lot_label("R-2")]
        first, second = (
            job.id for job in enqueue(session, labels, folder, LAYOUT, LabelFormat.ZPL)
        )
    sent: list[str] = []

    def send(url: str, payload: bytes, name: str) -> None:
        if not sent:  # while the first is on its way, another pass runs over the queue
            deliver_waiting(sessions, send=lambda *job: sent.append(f"other: {job[2]}"))
        sent.append(name)
        send_to_printer(url, payload, name)

    report = deliver_waiting(sessions, send=send)
    assert sent == [f"other: H7KQ-{second:06d}.zpl", f"H7KQ-{first:06d}.zpl"]
    assert report.printed == (first,)
    assert jobs(sessions)[1][1:3] == ("printed", 1)  # the other pass printed it
    assert (tmp_path / "labels" / f"H7KQ-{first:06d}.zpl").read_bytes() == zpl("R-1")


def test_a_device_id_that_is_not_a_plain_id_never_names_a_label_file(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A device id kept before enrollment checked it (defect 8) is refused where it would
    name a file: nothing is written outside the printer's folder, and the job waits."""
    folder = tmp_path / "printer" / "labels"
    folder.mkdir(parents=True)
    queue(sessions, folder.as_uri(), "R-1")
    with unit_of_work(sessions) as session:
        session.add(Setting(key=DEVICE_ID.key, value="../../x"))
    with pytest.raises(SettingError, match=r'device_id: "\.\./\.\./x" is not a device id'):
        deliver_waiting(sessions)
    assert list(tmp_path.rglob("*.zpl")) == []
    assert jobs(sessions)[0][1:3] == ("waiting", 0)


@pytest.mark.parametrize("name", ["../x.zpl", "a/b.zpl", "..", "a\\b.zpl"])
def test_a_folder_printer_writes_only_plain_file_names(tmp_path: Path, name: str) -> None:
    (tmp_path / "labels").mkdir()
    with pytest.raises(PrinterError, match="not a plain file name"):
        send_to_printer((tmp_path / "labels").as_uri(), b"^XA^XZ", name)
    assert [path.name for path in tmp_path.rglob("*")] == ["labels"]


def test_what_prints_is_what_was_due_when_it_was_queued(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    with unit_of_work(sessions) as session:
        (job,) = enqueue(session, [lot_label("R-1")], f"file://{folder}", LAYOUT, LabelFormat.PNG)
        assert job.payload == render([lot_label("R-1")], LAYOUT, LabelFormat.PNG)
        assert (job.printer, job.format, job.layout) == (f"file://{folder}", "png", "4x2-203")
    assert deliver_waiting(sessions).ok
    (written,) = folder.iterdir()
    assert written.name == f"lotscan-{job.id:06d}.png"
    assert written.read_bytes() == job.payload


@pytest.mark.parametrize(
    ("printer", "format", "message"),
    [
        ("tcp://127.0.0.1:9100", LabelFormat.PNG, "does not take PNG labels"),
        ("ipp://printer", LabelFormat.PDF, "is not a printer lotscan can use"),
    ],
)
def test_a_job_its_printer_cannot_take_is_refused_when_it_is_queued(
    sessions: sessionmaker[Session], printer: str, format: LabelFormat, message: str
) -> None:
    with unit_of_work(sessions) as session, pytest.raises(PrinterError, match=message):
        enqueue(session, [lot_label("R-1")], printer, LAYOUT, format)
    assert jobs(sessions) == []


def test_a_dropped_job_is_not_printed_until_it_is_retried(sessions: sessionmaker[Session]) -> None:
    with Listener() as printer:
        first, second = queue(sessions, printer.url, "R-1", "R-2")
        with unit_of_work(sessions) as session:
            assert drop(session, first).status == "dropped"
        assert deliver_waiting(sessions).printed == (second,)
        with reading(sessions) as session:
            assert [job.id for job in list_jobs(session, "dropped")] == [first]
            assert [job.id for job in list_jobs(session, "printed")] == [second]
        with unit_of_work(sessions) as session:
            assert retry(session, first).status == "waiting"
            with pytest.raises(RuleViolation, match=f"Print job {second} .* was printed already"):
                drop(session, second)
        assert deliver_waiting(sessions).printed == (first,)
        assert printer.wait_for(2) == [zpl("R-2"), zpl("R-1")]
        with unit_of_work(sessions) as session:
            assert retry(session, second).status == "waiting"  # a torn label, printed again
        assert deliver_waiting(sessions).printed == (second,)
        assert printer.wait_for(3)[2] == zpl("R-2")
    with unit_of_work(sessions) as session:
        with pytest.raises(NotFound, match="There is no print job 99"):
            retry(session, 99)
        with pytest.raises(RuleViolation, match="status is one of waiting, printed, dropped"):
            list_jobs(session, "lost")


# ---- lotscan print-queue --------------------------------------------------------------------


def lotscan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        env={"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_print_queue_lists_retries_drops_and_delivers(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    port = closed_port()
    url = f"tcp://127.0.0.1:{port}"
    first, second = queue(sessions, url, "R-1", "R-2")

    failed = lotscan("print-queue", "deliver", "--db", db_url, home=tmp_path)
    refused = f"Printer {url} did not answer: connection refused"
    assert (failed.returncode, failed.stdout) == (1, "")
    assert failed.stderr == f"lotscan: 0 labels printed, 2 still waiting: {refused}\n"

    listed = lotscan("print-queue", "--json", "--db", db_url, home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(row["id"], row["status"], row["attempts"], row["last_error"]) for row in rows] == [
        (first, "waiting", 1, refused),
        (second, "waiting", 0, None),
    ]
    assert rows[0]["printer"] == url
    assert rows[0]["description"] == "lot R-1 of RESIN, 25 kg"
    assert rows[0]["created_at"].endswith("+00:00") and rows[0]["last_attempt_at"]
    assert (rows[0]["format"], rows[0]["layout"], rows[0]["printed_at"]) == ("zpl", "4x2-203", None)

    assert main(["print-queue", "drop", str(second), "--db", db_url]) == 0
    assert capsys.readouterr().out == f"Print job {second} (lot R-2 of RESIN, 25 kg) is dropped\n"
    with Listener(port) as printer:
        assert main(["print-queue", "deliver", "--db", db_url]) == 0
        assert printer.wait_for(1) == [zpl("R-1")]
        assert capsys.readouterr().out == "1 label printed\n"
        assert main(["print-queue", "retry", str(second), "--db", db_url]) == 0
        assert main(["print-queue", "deliver", "--db", db_url]) == 0
        assert printer.wait_for(2)[1] == zpl("R-2")

    capsys.readouterr()
    assert main(["print-queue", "--db", db_url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "ID",
        "STATUS",
        "CREATED",
        "TRIES",
        "PRINTER",
        "LABEL",
        "LAST",
        "ERROR",
    ]
    assert table[1].split()[:2] == [str(first), "printed"]
    assert table[1].endswith("lot R-1 of RESIN, 25 kg  -")
    assert main(["print-queue", "drop", "99", "--db", db_url]) == 1
    assert capsys.readouterr().err == "lotscan: There is no print job 99\n"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_a_folder_printer_writes_labels_as_the_umask_says(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path, umask: int, mode: int
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    queue(sessions, f"file://{folder}?format=zpl", "R-1")
    delivered = subprocess.run(
        [sys.executable, "-m", "scanner", "print-queue", "deliver", "--db", db_url],
        capture_output=True,
        text=True,
        env={"LOTSCAN_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
        umask=umask,
    )
    assert delivered.returncode == 0, delivered.stderr
    (label,) = folder.iterdir()
    assert label.read_bytes() == zpl("R-1")
    assert label.stat().st_mode & 0o777 == mode

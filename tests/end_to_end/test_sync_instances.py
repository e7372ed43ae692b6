"""More than one service process on one PostgreSQL (docs/architecture.md, "The service"):
two `lotscan serve` instances behind a load balancer, and `lotscan serve --workers 2`. Each
handheld's requests go to one process after another while the others push at the same
time; after a final sync every invariant holds (nothing lost, nothing applied twice,
per-device order, balances equal to the replay of the ledger).

The balancer is the handheld's own network (`Alternating`): it sends each request to the
next instance in turn, so one sync's pushes, and a duplicated push's two copies, land on
different processes.
"""

from __future__ import annotations

import random
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL
from tests.support.databases import pg_schema
from tests.support.sync_over_http import Fault, Handheld, ServiceProcess, Site, free_port
from tests.support.sync_service import TEST_HTTP_TIMEOUT, lotscan
from tests.support.waiting import until

DEVICES = ("dock", "line", "aisle", "cage")
ROUNDS = 6


class Alternating(httpx.BaseTransport):
    """A round-robin load balancer in front of `ports`: each request goes to the next one."""

    def __init__(self, ports: list[int]) -> None:
        self.inner = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        self.ports = ports
        self.sent: Counter[int] = Counter()
        self._turn = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            port = self.ports[self._turn % len(self.ports)]
            self._turn += 1
            if request.url.path.endswith("/sync/push"):
                self.sent[port] += 1
        request.url = request.url.copy_with(port=port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The test plant's central store on a PostgreSQL schema of its own."""
    if not PG_URL:
        pytest.skip(
            "PostgreSQL tests need LOTSCAN_TEST_PG_URL (set by .ci/run when a server answers)"
        )
    with pg_schema(PG_URL) as url:
        plant = Site(url, tmp_path)
        yield plant
        plant.close()


def started(site: Site, name: str, *, workers: int = 1) -> ServiceProcess:
    """A `lotscan serve` process on the site's database, its logs in a folder of its own."""
    folder = site.root / name
    folder.mkdir()
    service = ServiceProcess(site.db_url, folder, workers=workers)
    service.start()
    site._services.append(service)
    return service


def push_at_once(handhelds: list[Handheld]) -> None:
    """Each handheld scans and syncs in its own thread, all at once: receipts, and moves that
    may leave a location short (flagged, with an exception); small batches, so one sync is
    several pushes; now and then a push delivered twice or its answer lost."""
    errors: list[BaseException] = []

    def load(handheld: Handheld, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(ROUNDS):
                for _ in range(rng.randint(1, 5)):
                    if rng.random() < 0.3:
                        handheld.try_record(
                            lambda ledger: ledger.move("BOLT", 2, "A-02", from_location="A-01")
                        )
                    else:
                        handheld.record(lambda ledger: ledger.receive("BOLT", 1, "A-01"))
                if rng.random() < 0.4:
                    handheld.transport.plan(
                        rng.choice([Fault.DUPLICATE, Fault.LOST_ACK]), path="/sync/push"
                    )
                handheld.try_sync(batch=rng.choice([1, 2, 4]))
        except BaseException as error:  # handed to the test, which fails on it
            errors.append(error)

    threads = [
        threading.Thread(target=load, args=(handheld, seed), daemon=True)
        for seed, handheld in enumerate(handhelds)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors


@pytest.mark.pg
def test_two_instances_on_one_postgresql_lose_and_double_nothing(site: Site) -> None:
    first, second = started(site, "first"), started(site, "second")
    site.url = first.url
    handhelds = [site.enroll(name) for name in DEVICES]
    balancers = []
    for handheld in handhelds:
        balancer = Alternating([first.port, second.port])
        handheld.transport.inner = balancer
        balancers.append(balancer)

    push_at_once(handhelds)
    site.final_sync()

    assert site.violations() == []
    for balancer in balancers:
        assert set(balancer.sent) == {first.port, second.port}, balancer.sent
    assert site.ledger_size() > 0


@pytest.mark.pg
def test_workers_on_postgresql_answer_pushes_from_several_devices(site: Site) -> None:
    service = started(site, "workers", workers=2)
    site.url = service.url
    handhelds = [site.enroll(name) for name in DEVICES]

    push_at_once(handhelds)
    site.final_sync()

    assert site.violations() == []
    with httpx.Client(base_url=service.url, timeout=TEST_HTTP_TIMEOUT) as browser:
        pages = [browser.get("/console/sign-in").status_code for _ in range(8)]
    assert pages == [200] * 8
    service.stop()
    assert service.process is not None and service.process.returncode == 0


@pytest.mark.pg
def test_two_instances_started_at_once_on_a_new_postgresql_database_both_serve(
    tmp_path: Path,
) -> None:
    """Both migrate the empty schema and make it a central store: one waits for the other's
    migration (an advisory lock) and finds the store's clock already there."""
    if not PG_URL:
        pytest.skip(
            "PostgreSQL tests need LOTSCAN_TEST_PG_URL (set by .ci/run when a server answers)"
        )
    with pg_schema(PG_URL) as url:
        services = []
        for name in ("first", "second"):
            (tmp_path / name).mkdir()
            services.append(ServiceProcess(url, tmp_path / name))
        starts = [threading.Thread(target=service.start) for service in services]
        try:
            for start in starts:
                start.start()
            for start in starts:
                start.join(timeout=120)
            for service in services:
                assert httpx.get(f"{service.url}/v1/health").status_code == 200
        finally:
            for service in services:
                service.stop()


@pytest.mark.pg
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"
)
def test_workers_end_when_their_supervisor_is_killed(site: Site) -> None:
    """SIGKILL gives uvicorn's supervisor no chance to stop its workers: they end anyway
    (the kernel's parent-death signal), and nothing answers on the port any more."""
    service = started(site, "killed", workers=2)
    assert service.process is not None
    workers = descendants(service.process.pid)
    assert len(workers) >= 2, workers

    service.kill()

    assert until(lambda: not any(running(pid) for pid in workers)), [
        pid for pid in workers if running(pid)
    ]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{service.url}/v1/health", timeout=TEST_HTTP_TIMEOUT)


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, as Linux lists each one's children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (an ended one nobody has reaped yet
    is a zombie: state Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_workers_are_refused_on_a_sqlite_store(tmp_path: Path) -> None:
    answer = lotscan("serve", "--workers", "2", "--port", str(free_port()), home=tmp_path)

    assert answer.returncode == 1
    assert "--workers 2 needs a PostgreSQL store" in answer.stderr
    assert not (tmp_path / "central.db").exists()

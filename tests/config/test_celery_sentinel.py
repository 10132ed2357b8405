"""A broker behind Redis Sentinel: the settings' options reach the master the Sentinel names."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis
from celery import Celery

from config.celery_options import transport_options
from devtools.stack.servers import redis_server_bin
from tests.conftest import _free_port

MASTER = "tribe-primary"


def wait_answers(port: int, what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return
        except redis.RedisError:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not answer")


class Cluster:
    """A Redis master, its replica and one Sentinel watching them, on free loopback ports."""

    def __init__(self, tmp_path: Path) -> None:
        # A replica's full sync writes dump.rdb into its working directory: keep it in tmp.
        self.cwd = tmp_path
        self.master_port, self.replica_port, self.sentinel_port = (
            _free_port(), _free_port(), _free_port()
        )  # fmt: skip
        conf = tmp_path / "sentinel.conf"
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER} 500\n"
            f"sentinel failover-timeout {MASTER} 5000\n"
        )
        server = [
            str(redis_server_bin()),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.master = self._start([*server, "--port", str(self.master_port)])
        self.replica = self._start(
            [*server, "--port", str(self.replica_port),
             "--replicaof", "127.0.0.1", str(self.master_port)]
        )  # fmt: skip
        self.sentinel = self._start([str(redis_server_bin()), str(conf), "--sentinel"])
        for port in (self.master_port, self.replica_port, self.sentinel_port):
            wait_answers(port, f"redis on {port}")

    procs: list[subprocess.Popen]

    def _start(self, argv: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(
            argv, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self.__dict__.setdefault("procs", []).append(proc)
        return proc

    def master_named(self) -> int:
        address = redis.Redis(port=self.sentinel_port).sentinel_get_master_addr_by_name(MASTER)
        _host, port = cast(tuple[str, int], address)
        return int(port)

    def replica_known(self) -> bool:
        replicas = redis.Redis(port=self.sentinel_port).sentinel_slaves(MASTER)
        return any(
            int(r["port"]) == self.replica_port and r.get("master-link-status") == "ok"
            for r in replicas
        )

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


def test_tasks_follow_the_master_through_a_sentinel_failover(sentinel):
    url = f"sentinel://127.0.0.1:{sentinel.sentinel_port}/0"
    app = Celery(
        "sentinel-probe",
        broker=url,
        broker_transport_options=transport_options(
            url=url, variable="CELERY_BROKER_URL", visibility_timeout=7200, master_name=MASTER
        ),
    )
    # At least once: a publish retried on a dropped connection may land twice (tasks are
    # idempotent); what matters is that it lands on the master the Sentinel names.
    app.send_task("tests.sentinel_probe", args=(1,), queue="money")
    assert redis.Redis(port=sentinel.master_port).llen("money") >= 1

    # The Sentinel learns of the replica from the master (every 10 s at most).
    deadline = time.monotonic() + 30
    while not sentinel.replica_known():
        assert time.monotonic() < deadline, "the Sentinel never saw the replica"
        time.sleep(0.2)

    # The master dies; the Sentinel promotes the replica and the next task goes there.
    sentinel.master.kill()
    sentinel.master.wait(timeout=10)
    deadline = time.monotonic() + 30
    while sentinel.master_named() != sentinel.replica_port:
        assert time.monotonic() < deadline, "the Sentinel did not fail over"
        time.sleep(0.2)
    app.send_task("tests.sentinel_probe", args=(2,), queue="money")
    assert redis.Redis(port=sentinel.replica_port).llen("money") >= 1

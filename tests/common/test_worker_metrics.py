"""A Celery worker node serves its own metrics behind the bearer token."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import ROOT, _free_port

TOKEN = "worker-metrics-token-0123456789"


def get(url: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def worker_with_metrics(tmp_path) -> Iterator[tuple[str, str]]:
    """A worker consuming a private queue, with CELERY_WORKER_METRICS_PORT set."""
    port = _free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_TOKEN": TOKEN,
        "CELERY_WORKER_METRICS_PORT": str(port),
        "CELERY_WORKER_METRICS_HOST": "127.0.0.1",
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
            "--concurrency=1", "--pool=prefork", "-Q", f"metrics-probe-{port}",
            "-n", f"metrics-{port}@%h", "--without-gossip", "--without-mingle",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get(url, None)
            break
        except OSError:
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
    try:
        yield url, f"metrics-probe-{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_worker_node_serves_its_pool_counters_only_to_the_token_holder(worker_with_metrics):
    from config.celery_app import app
    from creators.attribution import clicks as click_queue
    from tests.creators.test_click_buffer import make_link, record

    url, queue = worker_with_metrics
    assert get(url, None)[0] == 401
    assert get(url, "wrong")[0] == 401

    # A pool process flushes two clicks; the main process's exporter adds its count in.
    link = make_link()
    click_queue._push([record(link.pk, "a"), record(link.pk, "b")])
    app.conf.task_always_eager = False
    try:
        assert app.send_task("creators.tasks.clicks_flush", queue=queue).get(timeout=60) == 2
    finally:
        app.conf.task_always_eager = True
    status, body = get(url, TOKEN)
    assert status == 200
    assert "tribe_clicks_flushed_total 2.0" in body
    assert "tribe_celery_queue_length" in body

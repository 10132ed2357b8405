"""A Celery worker node serves its own metrics behind the bearer token."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import _free_port
from tests.worker_helpers import private_worker, worker_env

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
    url = f"http://127.0.0.1:{port}/metrics"
    env = worker_env(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        METRICS_TOKEN=TOKEN,
        CELERY_WORKER_METRICS_PORT=str(port),
        CELERY_WORKER_METRICS_HOST="127.0.0.1",
    )
    queue = f"metrics-probe-{port}"
    with private_worker(
        tmp_path / "worker.log", queue=queue, env=env, ready=lambda: bool(get(url, None))
    ):
        yield url, queue


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

"""A real worker on the real broker runs the project's tasks against the test database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common import tasks
from common.models import IdempotencyRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_real_worker_runs_a_periodic_task_against_the_database(real_worker):
    IdempotencyRecord.objects.create(
        scope="anon", key="old", method="POST", path="/x", fingerprint="f"
    )
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    result = tasks.idempotency_prune.delay()
    assert result.get(timeout=60) == 1
    assert not IdempotencyRecord.objects.exists()


def test_real_worker_logs_json_lines_naming_the_task(real_worker):
    import json
    import time

    from tests.conftest import ROOT

    def lines_of(task_id: str) -> list[dict]:
        found = []
        for raw in (ROOT / "var" / "test-worker.log").read_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # the worker's start-up banner is plain text
            if line.get("task_id") == task_id:
                found.append(line)
        return found

    result = tasks.idempotency_prune.delay()
    assert result.get(timeout=60) == 0
    # The result is stored before the pool process writes its "succeeded" line.
    deadline = time.monotonic() + 20
    while not (mine := lines_of(result.id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mine, "no JSON log line carried the task's id"
    assert {line["task_name"] for line in mine} == {"common.tasks.idempotency_prune"}

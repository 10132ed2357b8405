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

    from tests.conftest import ROOT

    result = tasks.idempotency_prune.delay()
    assert result.get(timeout=60) == 0
    lines = []
    for raw in (ROOT / "var" / "test-worker.log").read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # the worker's start-up banner is plain text
    mine = [line for line in lines if line.get("task_id") == result.id]
    assert mine, "no JSON log line carried the task's id"
    assert {line["task_name"] for line in mine} == {"common.tasks.idempotency_prune"}

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

"""The Celery application: JSON only, late acks, tasks requeued when a worker dies.

Database connections in a worker live as they do in a web process: before and after each
task Django's `close_old_connections` closes a connection that is broken or older than
`CONN_MAX_AGE` (and `CONN_HEALTH_CHECKS` checks a kept one before the task's first query).
Celery's own Django fixup would close every connection around every task instead, a new
PostgreSQL session per task; `CELERY_DB_REUSE_MAX` in the settings keeps it from doing so.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tribe")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_track_started=True,
    broker_connection_retry_on_startup=True,
    result_expires=60 * 60 * 24,
    timezone="UTC",
)


@task_prerun.connect
@task_postrun.connect
def _connections_as_in_requests(task: Any = None, **kwargs: Any) -> None:
    # An eager task runs inside its caller's transaction: its connection is the caller's.
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


app.autodiscover_tasks()

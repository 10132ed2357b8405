"""Queue a Celery task by its registered name, after the caller's transaction commits.

Services never import task modules (no import cycles, no hidden dependency on a higher
app): they name the task, e.g. `enqueue_on_commit("orders.tasks.notify_shipment", 12)`.
A publish that fails after the commit is logged, never raised: the write it follows is
already committed, and a request must not fail for it. Work that must never be lost is
an outbox event (`common.outbox`), not a queued task.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

# One quick reconnect (a pooled connection gone stale), then give up: a caller after commit
# must not wait on a broker that is down.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}


def task_send(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Publish the task `name` now; raises if the broker cannot take it.

    Eager settings (the logic tests) run the registered task in-process instead, as
    `.delay` would.
    """
    from config.celery_app import app

    if app.conf.task_always_eager:
        if name not in app.tasks:
            # Task modules are imported by the worker at start; nothing here imports them.
            app.loader.import_default_modules()
        app.tasks[name].apply_async(args=args, kwargs=kwargs)
        return
    app.send_task(
        name,
        args=args,
        kwargs=kwargs,
        countdown=countdown,
        retry=True,
        retry_policy=RETRY_POLICY,
    )


def task_send_logged(name: str, *args: Any, **kwargs: Any) -> bool:
    """Publish the task `name`; a broker that refuses it is logged, not raised."""
    from config.celery_app import app

    if app.conf.task_always_eager:
        task_send(name, *args, **kwargs)
        return True
    try:
        task_send(name, *args, **kwargs)
    except Exception:
        logger.warning("Could not queue task %s%r; left for its sweep", name, args, exc_info=True)
        return False
    return True


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Queue the task `name` when the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(task_send_logged, name, *args, **kwargs))

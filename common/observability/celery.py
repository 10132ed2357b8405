"""Bind a task's id, name and order id to the log lines it writes."""

from __future__ import annotations

import contextlib
import inspect
from functools import cache
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_init

from common.observability import context

_TOKENS = "_log_context_tokens"


@cache
def _order_arg_position(task_name: str, run: Any) -> int | None:
    try:
        parameters = list(inspect.signature(run).parameters)
    except (TypeError, ValueError):
        return None
    return parameters.index("order_id") if "order_id" in parameters else None


def _order_id(task: Any, args: tuple | list | None, kwargs: dict | None) -> int | None:
    if kwargs and kwargs.get("order_id") is not None:
        return kwargs["order_id"]
    position = _order_arg_position(task.name, task.run)
    if position is not None and args and len(args) > position:
        return args[position]
    return None


@task_prerun.connect(weak=False)
def _bind_task(
    sender: Any = None,
    task_id: str | None = None,
    task: Any = None,
    args=None,
    kwargs=None,
    **_: Any,
) -> None:
    if task is None:
        return
    tokens = context.bind(
        task_id=task_id, task_name=task.name, order_id=_order_id(task, args, kwargs)
    )
    setattr(task.request, _TOKENS, tokens)


@task_postrun.connect(weak=False)
def _unbind_task(sender: Any = None, task: Any = None, **_: Any) -> None:
    tokens = getattr(getattr(task, "request", None), _TOKENS, None)
    if tokens:
        # Tokens made in another context (an eager task inside a request) restore nothing.
        with contextlib.suppress(ValueError):
            context.unbind(tokens)


@worker_init.connect(weak=False)
def _serve_worker_metrics(**_: Any) -> None:
    """A worker node's own /metrics, when `CELERY_WORKER_METRICS_PORT` is set."""
    from django.conf import settings

    if settings.CELERY_WORKER_METRICS_PORT:
        from common.observability.worker_exporter import metrics_serve

        metrics_serve(
            host=settings.CELERY_WORKER_METRICS_HOST, port=settings.CELERY_WORKER_METRICS_PORT
        )

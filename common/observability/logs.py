"""JSON log lines (python-json-logger) with the request, user, task and order they belong to."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from common.observability import context
from common.request_id import current_request_id

CONTEXT_FIELDS = ("request_id", "user_id", "task_id", "task_name", "order_id")


class ContextFilter(logging.Filter):
    """Stamp every record with the request id, user, task and order known at the call."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = context.snapshot()
        request_id = current_request_id()
        if request_id == "-":
            # django.request logs 4xx/5xx after the middleware returned; it attaches the request.
            request = getattr(record, "request", None)
            request_id = getattr(request, "request_id", "-")
            values["user_id"] = values["user_id"] or context.request_user_id(request)
        record.request_id = request_id
        for name, value in values.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, context, then any extras."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", ["asctime", "levelname", "name", "message", *CONTEXT_FIELDS])
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_record, record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        # The request object django.request attaches is not JSON; its id is already there.
        log_record.pop("request", None)
        for name in ("user_id", "task_id", "task_name", "order_id"):
            if log_record.get(name) is None:
                log_record.pop(name, None)

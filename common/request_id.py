"""The id of the request being served, set by the middleware and read by errors and logs.

Imported by the logging configuration before the apps load, so it imports no Django model.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token

_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    """Return the id of the request being served, or '-' outside a request."""
    return _request_id.get()


def request_id_set(request_id: str) -> Token[str]:
    """Make `request_id` current until `request_id_reset(token)`."""
    return _request_id.set(request_id)


def request_id_reset(token: Token[str]) -> None:
    """Restore the request id that was current before `request_id_set`."""
    _request_id.reset(token)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        if request_id == "-":
            # django.request logs 4xx/5xx after the middleware returned; it attaches the request.
            request_id = getattr(getattr(record, "request", None), "request_id", "-")
        record.request_id = request_id
        return True

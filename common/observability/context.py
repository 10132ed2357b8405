"""The request, user, task and order a log line belongs to, held in context variables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from django.utils.functional import empty

_user_id: ContextVar[int | None] = ContextVar("log_user_id", default=None)
_task_id: ContextVar[str | None] = ContextVar("log_task_id", default=None)
_task_name: ContextVar[str | None] = ContextVar("log_task_name", default=None)
_order_id: ContextVar[int | None] = ContextVar("log_order_id", default=None)
# The request being served, so the user can be read once authentication has run (DRF
# authenticates inside the view, after every middleware).
_request: ContextVar[Any] = ContextVar("log_request", default=None)

VARIABLES: dict[str, ContextVar[Any]] = {
    "user_id": _user_id,
    "task_id": _task_id,
    "task_name": _task_name,
    "order_id": _order_id,
    "request": _request,
}


def bind(**values: Any) -> dict[str, Token[Any]]:
    """Set some of the context variables; returns the tokens that `unbind` restores."""
    return {name: VARIABLES[name].set(value) for name, value in values.items()}


def unbind(tokens: dict[str, Token[Any]]) -> None:
    """Restore the variables `bind` set to what they were before."""
    for name, token in tokens.items():
        VARIABLES[name].reset(token)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind the values for the duration of a block."""
    tokens = bind(**values)
    try:
        yield
    finally:
        unbind(tokens)


def order_bind(order_id: int | None) -> None:
    """Mark the rest of this request or task as about one order (reset when it ends)."""
    _order_id.set(order_id)


def request_user_id(request: Any) -> int | None:
    """The id of the request's user once authentication has run; never triggers it."""
    if request is None:
        return None
    user = request.__dict__.get("user")
    if user is None:
        return None
    # Django's lazy user: never evaluate it here (a session query inside a log call).
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:
        return None
    if not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.pk


def snapshot() -> dict[str, Any]:
    """The context of the current log line: user, task and order ids, None where unknown."""
    return {
        "user_id": _user_id.get() or request_user_id(_request.get()),
        "task_id": _task_id.get(),
        "task_name": _task_name.get(),
        "order_id": _order_id.get(),
    }

"""Which handlers react to which event: filled by each app's AppConfig.ready().

A lower app records an event by name and never imports the apps that handle it; a
higher app registers its handlers here at start-up, in the web process and the worker
alike (both run ready()).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from common.outbox.models import OutboxEvent


@dataclass(frozen=True)
class Handler:
    """`name` is stored on each delivery, so it must never change once events are recorded.

    An `atomic` handler runs inside the transaction that marks its delivery done, so its
    effect commits exactly once; it must not open a durable transaction or touch the
    network. A handler that is not atomic (an email, a call to another service) runs with
    no transaction open and must make a second run a no-op itself (a claimed key).
    """

    name: str
    event: str
    fn: Callable[[OutboxEvent], object]
    atomic: bool = True


_BY_NAME: dict[str, Handler] = {}
_BY_EVENT: dict[str, list[Handler]] = {}


def handler_register(
    *, event: str, name: str, fn: Callable[[OutboxEvent], object], atomic: bool = True
) -> Handler:
    """Register `fn` as handler `name` of `event`; registering the same again is a no-op."""
    handler = Handler(name=name, event=event, fn=fn, atomic=atomic)
    existing = _BY_NAME.get(name)
    if existing is not None:
        if existing != handler:
            raise RuntimeError(f"Outbox handler {name!r} is already registered differently.")
        return existing
    _BY_NAME[name] = handler
    _BY_EVENT.setdefault(event, []).append(handler)
    return handler


def handler_unregister(name: str) -> None:
    """Forget a handler (tests only: production registrations last the process)."""
    handler = _BY_NAME.pop(name, None)
    if handler is not None:
        _BY_EVENT[handler.event].remove(handler)


def handlers_for(event: str) -> list[Handler]:
    return list(_BY_EVENT.get(event, ()))


def handler_get(name: str) -> Handler | None:
    return _BY_NAME.get(name)

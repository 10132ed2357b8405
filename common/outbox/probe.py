"""A probe event whose one handler does nothing: the outbox's own end-to-end timing.

Record `common.outbox_probe` and watch its delivery's `done_at`: the time from commit to
done is the dispatch latency of the broker and the worker as they are, with no handler
cost on top (bench/bench_outbox.py measures with it).
"""

from __future__ import annotations

from common.outbox.models import OutboxEvent
from common.outbox.registry import handler_register

PROBE = "common.outbox_probe"


def _nothing(event: OutboxEvent) -> None:
    return None


def register() -> None:
    handler_register(event=PROBE, name=PROBE, fn=_nothing)

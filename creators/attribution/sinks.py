"""Where flushed clicks are written: the plug for an analytics store past PostgreSQL.

`clicks_flush` takes batches of clicks from Redis and hands each batch to the sink named by
`CLICK_SINK`, and drops the batch from Redis only once `write` has returned; a sink that
raises leaves the batch to be retried. Today's sink writes the partitioned raw table and
the daily aggregates (`PostgresClickSink`). docs/scaling.md describes the next one: a sink
that produces each batch to a Kafka/Redpanda topic keyed by link id, consumed into
ClickHouse, with the daily aggregates still computed for the dashboards.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class ClickSink(Protocol):
    # Items are (clicks.ClickRecord, is_unique); typed loosely so this module needs nothing
    # from the one that calls it.
    def write(self, items: list[tuple[Any, bool]]) -> None:
        """Store one batch of (click, is_unique) durably; idempotent for a repeated batch."""


def click_sink() -> ClickSink:
    """The configured sink (`CLICK_SINK`, a dotted path to a class taking no arguments)."""
    return import_string(settings.CLICK_SINK)()

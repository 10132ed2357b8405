"""Raw clicks are partitioned by day: partitions made ahead, retention by dropping them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from creators.attribution import clicks as click_queue
from creators.attribution.partitions import (
    DEFAULT,
    click_partition_days,
    click_partitions_ensure,
    partition_name,
)
from creators.models import Click, ClickDaily
from tests.creators.test_click_buffer import make_link, record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _drop_new_partitions() -> Iterator[None]:
    """Partitions outlive the transactional flush: drop those a test made."""
    before = set(click_partition_days())
    yield
    with connection.cursor() as cursor:
        for day in set(click_partition_days()) - before:
            cursor.execute(f"DROP TABLE {partition_name(day)}")


def table_of(click: Click) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM creators_click WHERE id = %s", [click.pk]
        )
        return cursor.fetchone()[0]


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def flush_click(link, at: datetime) -> Click:
    item = replace(record(link.pk, f"client-{at.timestamp()}"), at=at.timestamp())
    click_queue.click_record(item)
    click_queue.clicks_flush()
    return Click.objects.get(click_id=item.click_id)


def test_the_click_table_is_partitioned_by_time_with_a_default_partition():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table "
            "WHERE partrelid = 'creators_click'::regclass"
        )
        assert cursor.fetchone() == ("r",)
    assert table_exists(DEFAULT)


def test_partitions_are_made_ahead_once():
    today = date(2031, 3, 1)
    created = click_partitions_ensure(days_ahead=2, today=today)
    assert created == [partition_name(today + timedelta(days=n)) for n in range(3)]
    assert click_partitions_ensure(days_ahead=2, today=today) == []
    assert click_partition_days()[-3:] == [today + timedelta(days=n) for n in range(3)]


def test_a_click_lands_in_its_days_partition_or_else_the_default():
    link = make_link()
    today = timezone.now().astimezone(UTC).date()
    click_partitions_ensure(days_ahead=0, today=today)
    now = timezone.now()
    assert table_of(flush_click(link, now)) == partition_name(today)
    assert table_of(flush_click(link, now + timedelta(days=400))) == DEFAULT


def test_a_new_partition_takes_its_days_rows_out_of_the_default():
    link = make_link()
    later = timezone.now() + timedelta(days=30)
    click = flush_click(link, later)
    assert table_of(click) == DEFAULT
    click_partitions_ensure(days_ahead=0, today=later.astimezone(UTC).date())
    assert table_of(click) == partition_name(later.astimezone(UTC).date())
    assert Click.objects.filter(pk=click.pk).count() == 1


def test_retention_drops_old_partitions_and_old_default_rows_but_keeps_daily_counts():
    link = make_link()
    old_day = (timezone.now() - timedelta(days=100)).astimezone(UTC).date()
    click_partitions_ensure(days_ahead=0, today=old_day)
    in_partition = flush_click(link, datetime(*old_day.timetuple()[:3], 12, tzinfo=UTC))
    in_default = flush_click(link, timezone.now() - timedelta(days=120))
    recent = flush_click(link, timezone.now())

    assert click_queue.clicks_prune(older_than_days=90) == 2

    assert not table_exists(partition_name(old_day))
    assert list(Click.objects.values_list("pk", flat=True)) == [recent.pk]
    assert in_partition.pk != in_default.pk
    assert ClickDaily.objects.get(link=link, date=old_day).clicks == 1


def test_a_flush_retried_with_the_same_click_stores_it_once():
    link = make_link()
    item = record(link.pk, "client-retry")
    sink = click_queue.PostgresClickSink()
    sink.write([(item, True)])
    sink.write([(item, True)])  # the flusher died after inserting; the batch came back
    assert Click.objects.filter(click_id=item.click_id).count() == 1


class RecordingSink:
    batches: list[list] = []

    def write(self, items) -> None:
        RecordingSink.batches.append(items)


@override_settings(CLICK_SINK="tests.creators.test_click_partitions.RecordingSink")
def test_the_flush_hands_its_batches_to_the_configured_sink():
    link = make_link()
    RecordingSink.batches = []
    click_queue.click_record(record(link.pk, "client-sink"))
    assert click_queue.clicks_flush() == 1
    assert [[r.link_id for r, _ in batch] for batch in RecordingSink.batches] == [[link.pk]]
    assert not Click.objects.exists()

"""The batch write of the ledger: COPY into a temporary table, then one INSERT ... SELECT.

The COPY path must write exactly the rows the ORM's `bulk_create` would, and skip the same
already-recorded lines.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from commissions.models import CommissionLine
from commissions.services import ledger_load
from commissions.services.recording import commission_record_for_orders
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory

pytestmark = pytest.mark.django_db

COMPARED = [*ledger_load.COLUMNS, "refunded_to_date", "approved_at"]


def _orders(count: int) -> list[int]:
    creator = CreatorFactory.create()
    usd, jpy = variant_of(), variant_of(currency="JPY")
    link = AffiliateLinkFactory.create(creator=creator, product=usd.product)
    paid_at = timezone.now() - timedelta(hours=2, microseconds=123)
    ids = []
    for n in range(count):
        if n % 2:
            order = paid_order((jpy, "1999"), creator=creator, currency="JPY", rate="7.50")
        else:
            order = paid_order(
                (usd, "19.99"), (usd, "5.05"), creator=creator, link=link, rate="12.50",
                paid_at=paid_at,
            )  # fmt: skip
        ids.append(order.pk)
    return ids


def _ledger() -> list[tuple[Any, ...]]:
    return list(CommissionLine.objects.order_by("order_line_id").values_list(*COMPARED))


def _ledger_empty() -> None:
    # The append-only trigger refuses DELETE; TRUNCATE (a test database's) does not fire it.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE creators_commissionline CASCADE")


def _load_with_orm(rows, created_at) -> None:
    """The oracle: the same rows through the ORM's own bulk insert."""
    lines = [dict(zip(ledger_load.COLUMNS, row, strict=True)) for row in rows]
    CommissionLine.objects.bulk_create(
        [CommissionLine(**line, created_at=created_at) for line in lines], ignore_conflicts=True
    )


@pytest.mark.django_db(transaction=True)
def test_the_copy_path_writes_the_same_rows_as_the_orms_bulk_create(monkeypatch):
    order_ids = _orders(6)

    assert commission_record_for_orders(order_ids=order_ids) == 9
    copied = _ledger()
    _ledger_empty()
    monkeypatch.setattr(ledger_load, "_load_copy", _load_with_orm)
    assert commission_record_for_orders(order_ids=order_ids) == 9
    through_orm = _ledger()

    assert len(copied) == 9
    assert copied == through_orm
    amounts = {(row[COMPARED.index("currency")], row[COMPARED.index("amount")]) for row in copied}
    # 19.99 x 12.5% = 2.49875 and 5.05 x 12.5% = 0.63125 in cents; 1999 x 7.5% = 149.925 yen.
    assert amounts == {("USD", Decimal("2.50")), ("USD", Decimal("0.63")), ("JPY", Decimal("150"))}


def test_lines_already_recorded_are_skipped_and_the_rest_written_in_one_batch():
    first, *rest = _orders(4)
    commission_record_for_orders(order_ids=[first])
    recorded = list(CommissionLine.objects.filter(order_id=first).order_by("pk"))

    due = commission_record_for_orders(order_ids=[first, *rest])

    assert due == 6
    assert CommissionLine.objects.count() == 6
    assert list(CommissionLine.objects.filter(order_id=first).order_by("pk")) == recorded


@pytest.mark.django_db(transaction=True)
def test_two_loads_in_one_transaction_each_start_from_an_empty_load_table():
    commission_record_for_orders(order_ids=_orders(4))
    rows = list(CommissionLine.objects.order_by("order_line_id").values_list(*ledger_load.COLUMNS))
    written = _ledger()
    _ledger_empty()

    with transaction.atomic():
        ledger_load.commission_lines_load(rows[:2])
        ledger_load.commission_lines_load(rows[1:])  # one row again: skipped, not doubled

    assert _ledger() == written


@pytest.mark.django_db(transaction=True)
def test_the_loader_refuses_to_run_outside_a_transaction():
    row = ("commission", "pending") + (None,) * (len(ledger_load.COLUMNS) - 2)

    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        ledger_load.commission_lines_load([row])

    assert not CommissionLine.objects.exists()


def test_a_batch_is_a_fixed_number_of_statements_whatever_its_size(
    django_assert_max_num_queries,
):
    order_ids = _orders(40)

    # Reads (lines, creators, links, terms), the load (create, insert, drop; COPY is not a
    # query to Django), the refunds, the savepoint/transaction statements, and the fraud
    # rules' ten reads at most (commissions.services.fraud_holds).
    with django_assert_max_num_queries(12 + 10):
        assert commission_record_for_orders(order_ids=order_ids) == 60

    assert CommissionLine.objects.count() == 60

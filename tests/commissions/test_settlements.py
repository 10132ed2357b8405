"""Brand settlements: gross - refunds - commissions - platform fee = what Tribe owes the brand."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from commissions.models import CommissionLine, Settlement, SettlementLine
from commissions.services.settlements import (
    Entry,
    InvalidSettlementPeriod,
    settlement_compute,
    settlement_create,
)
from common.money import currency_exponent, quantize
from orders.models import Order, OrderLine, OrderShipping, Refund, RefundLine
from shop.models import Brand, BrandMember
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CreatorFactory
from tests.creators.test_admin_collaborations import changelist_pks, login
from tests.shop.factories import BrandFactory

Kind = SettlementLine.Kind
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
MID = START + timedelta(days=10)

# The arithmetic, for any entries in 0-, 2- and 3-decimal currencies

AMOUNTS = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=3)
ENTRY = st.tuples(
    st.sampled_from(
        [Kind.SALE, Kind.DISCOUNT, Kind.SHIPPING, Kind.REFUND, Kind.COMMISSION, Kind.REVERSAL]
    ),
    AMOUNTS,
)


@given(
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
    raw=st.lists(ENTRY, max_size=40),
    fee=st.decimals(min_value=Decimal("0"), max_value=Decimal("30"), places=2),
)
def test_settlement_plus_commissions_fees_and_refunds_equal_gross_to_the_minor_unit(
    currency, raw, fee
):
    entries = [
        Entry(kind=kind, amount=-amount if kind == Kind.REVERSAL else amount)
        for kind, amount in raw
    ]

    statement = settlement_compute(currency=currency, entries=entries, fee_percent=fee)

    exponent = currency_exponent(currency)
    assert (
        statement.amount_due
        + statement.commissions
        + statement.platform_fee
        + statement.refunds
        + statement.discounts
        == statement.gross
    )
    assert sum((amount for _, amount in statement.lines), Decimal(0)) == statement.amount_due
    for total in (
        statement.gross,
        statement.discounts,
        statement.refunds,
        statement.commissions,
        statement.platform_fee,
    ):
        assert total == quantize(total, currency)
        assert total == total.quantize(Decimal(1).scaleb(-exponent))
    gross = sum(
        (quantize(a, currency) for k, a in raw if k in (Kind.SALE, Kind.SHIPPING)), Decimal(0)
    )
    assert statement.gross == gross


# Against the database

pytestmark = pytest.mark.django_db


def _commission(order: Order, creator, amount: str, *, kind: str = "commission", at=MID):
    line = order.lines.get()
    return CommissionLine.objects.create(
        kind=kind,
        creator=creator,
        brand=line.brand,
        order_id=order.pk,
        order_line_id=line.pk,
        refund_id="" if kind == "commission" else f"r{amount}",
        currency=line.currency,
        base=line.line_total if kind == "commission" else -line.line_total,
        rate=Decimal("10.00"),
        amount=Decimal(amount),
        earned_at=at,
        payable_at=at + timedelta(days=30),
    )


def _refund(order: Order, amount: str, *, at=MID, status=Refund.Status.SUCCEEDED) -> Refund:
    line: OrderLine = order.lines.get()
    refund = Refund.objects.create(
        order=order,
        brand=line.brand,
        amount=Decimal(amount),
        currency=order.currency,
        status=status,
        completed_at=at,
    )
    RefundLine.objects.create(
        refund=refund, order_line=line, brand=line.brand, quantity=0, amount=Decimal(amount)
    )
    return refund


@pytest.fixture
def brand() -> Brand:
    return BrandFactory.create(slug="alpha")


def _period_activity(brand: Brand):
    creator = CreatorFactory.create()
    sold = paid_order((variant_of(brand), "100.00"), creator=creator, paid_at=MID, shipping="5.00")
    OrderShipping.objects.create(order=sold, brand=brand, amount=Decimal("5.00"))
    _commission(sold, creator, "10.00")
    refunded = paid_order((variant_of(brand), "40.00"), creator=creator, paid_at=MID, shipping="0")
    _commission(refunded, creator, "4.00")
    _refund(refunded, "40.00")
    _commission(refunded, creator, "-4.00", kind="reversal")
    # Outside the period, another brand's, or not money yet: none of it counts.
    paid_order((variant_of(brand), "999.00"), creator=None, paid_at=END)
    paid_order((variant_of(), "555.00"), creator=None, paid_at=MID)
    _refund(sold, "7.00", status=Refund.Status.PENDING)
    return sold, refunded


def test_statement_is_gross_less_refunds_commissions_and_fee_line_by_line(settings, brand):
    settings.COMMISSION_PLATFORM_FEE_PERCENT = "5"
    _period_activity(brand)

    [settlement] = settlement_create(brand=brand, period_start=START, period_end=END)

    assert settlement.currency == "USD"
    assert settlement.gross == Decimal("145.00")  # 100 + 5 shipping + 40
    assert settlement.refunds == Decimal("40.00")
    assert settlement.commissions == Decimal("10.00")  # 10 + 4 - 4
    assert settlement.platform_fee == Decimal("5.25")  # 5% of 105
    assert settlement.amount_due == Decimal("89.75")
    kinds = sorted(settlement.lines.values_list("kind", "amount"))
    assert kinds == sorted(
        [
            ("sale", Decimal("100.000")),
            ("sale", Decimal("40.000")),
            ("shipping", Decimal("5.000")),
            ("refund", Decimal("-40.000")),
            ("commission", Decimal("-10.000")),
            ("commission", Decimal("-4.000")),
            ("reversal", Decimal("4.000")),
            ("platform_fee", Decimal("-5.250")),
        ]
    )
    assert sum(settlement.lines.values_list("amount", flat=True)) == settlement.amount_due


def test_settling_a_period_twice_returns_the_first_statement_and_writes_nothing(brand):
    _period_activity(brand)
    first = settlement_create(brand=brand, period_start=START, period_end=END)
    lines = SettlementLine.objects.count()
    paid_order((variant_of(brand), "20.00"), creator=None, paid_at=MID)  # late data

    again = settlement_create(brand=brand, period_start=START, period_end=END)

    assert [s.pk for s in again] == [s.pk for s in first]
    assert again[0].gross == first[0].gross
    assert SettlementLine.objects.count() == lines


def test_each_currency_settles_on_its_own(brand):
    paid_order((variant_of(brand), "10.00"), creator=None, paid_at=MID, shipping="0")
    paid_order((variant_of(brand), "1500"), creator=None, paid_at=MID, currency="JPY", shipping="0")

    settlements = settlement_create(brand=brand, period_start=START, period_end=END)

    assert [(s.currency, s.gross) for s in settlements] == [
        ("JPY", Decimal("1500")),
        ("USD", Decimal("10.00")),
    ]


def test_a_period_that_ends_before_it_starts_is_refused(brand):
    with pytest.raises(InvalidSettlementPeriod):
        settlement_create(brand=brand, period_start=END, period_end=START)
    assert not Settlement.objects.exists()


def test_brand_sees_only_its_settlements_read_only_and_exports_them_as_csv(client, brand):
    bravo = BrandFactory.create(slug="bravo")
    _period_activity(brand)
    paid_order((variant_of(bravo), "30.00"), creator=None, paid_at=MID)
    [mine] = settlement_create(brand=brand, period_start=START, period_end=END)
    [theirs] = settlement_create(brand=bravo, period_start=START, period_end=END)
    login(client, brand, role=BrandMember.Role.VIEWER)
    url = "/admin/commissions/settlement/"

    assert changelist_pks(client, url) == {mine.pk}
    assert client.get(f"{url}{theirs.pk}/change/").status_code == 302
    page = client.get(f"{url}{mine.pk}/change/")
    assert page.status_code == 200
    assert b"Save" not in page.content
    response = client.post(url, {"action": "export_csv", "_selected_action": [mine.pk, theirs.pk]})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Type"] == "text/csv"
    assert {row[0] for row in rows[1:]} == {str(mine.pk)}
    assert rows[-1][4:] == ["amount_due", "", "", "", "", "", "89.75"]
    assert len(rows) == 1 + mine.lines.count() + 1


def test_timezone_default_is_irrelevant_to_the_period_bounds(brand):
    paid_order((variant_of(brand), "10.00"), creator=None, paid_at=START, shipping="0")
    paid_order((variant_of(brand), "20.00"), creator=None, paid_at=END, shipping="0")

    [settlement] = settlement_create(brand=brand, period_start=START, period_end=END)

    assert settlement.gross == Decimal("10.00")  # start inclusive, end exclusive
    assert timezone.is_aware(settlement.period_end)


@pytest.mark.django_db(transaction=True)
def test_concurrent_settlements_of_one_period_write_one_statement_per_currency():
    brand = BrandFactory.create(slug="race")
    paid_order((variant_of(brand), "10.00"), creator=None, paid_at=MID, shipping="0")
    paid_order((variant_of(brand), "700"), creator=None, paid_at=MID, currency="JPY", shipping="0")
    barrier = threading.Barrier(5)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def settle() -> None:
        try:
            barrier.wait()
            found = settlement_create(brand=brand, period_start=START, period_end=END)
            results.append([s.pk for s in found])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Settlement.objects.count() == 2
    assert SettlementLine.objects.count() == 2 * 2  # a sale and the fee in each currency
    assert all(pks == results[0] for pks in results)

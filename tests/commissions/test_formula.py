"""The commission formula has one definition, in Python and in SQL, and both agree."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, DecimalField, Value
from django.db.models.functions import Cast

from commissions.amounts import commission_amount, commission_amount_sql

CASES = [
    (Decimal("19.99"), Decimal("10"), "USD"),
    (Decimal("0.05"), Decimal("10"), "EUR"),  # 0.005: half-up to 0.01
    (Decimal("0.15"), Decimal("3.3333"), "USD"),
    (Decimal("1234"), Decimal("12.5"), "JPY"),  # 154.25 -> 154
    (Decimal("1"), Decimal("50"), "JPY"),  # 0.5 -> 1
    (Decimal("10.001"), Decimal("7.5"), "KWD"),  # 0.7500750 -> 0.750
    (Decimal("999999.99"), Decimal("100"), "USD"),
    (Decimal("5.00"), Decimal("0"), "USD"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("base", "rate", "currency"), CASES)
def test_the_sql_estimate_equals_the_ledgers_amount(
    base: Decimal, rate: Decimal, currency: str
) -> None:
    row = (
        ContentType.objects.alias(
            # Typed as the order line's columns are (numeric), not as bare parameters.
            b=Cast(Value(base), DecimalField(max_digits=12, decimal_places=3)),
            r=Cast(Value(rate), DecimalField(max_digits=7, decimal_places=4)),
            c=Value(currency, output_field=CharField()),
        )
        .annotate(amount=commission_amount_sql(base="b", rate="r", currency="c"))
        .values_list("amount", flat=True)
        .first()
    )

    assert row == commission_amount(base=base, rate=rate, currency=currency)

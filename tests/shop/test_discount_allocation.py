"""Properties of a discount's allocation over lines, in 0-, 2- and 3-decimal currencies."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from common.money import currency_exponent, to_minor_units
from shop.discounts import DiscountTooLarge, PricedLine, discount_allocate

CURRENCIES = ("JPY", "USD", "KWD")


@st.composite
def cases(draw):
    currency = draw(st.sampled_from(CURRENCIES))
    exponent = currency_exponent(currency)
    units = draw(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=12))
    lines = [
        PricedLine(key=i, product_id=i, amount=Decimal(u).scaleb(-exponent))
        for i, u in enumerate(units)
    ]
    kind = draw(st.sampled_from(("percentage", "fixed")))
    if kind == "percentage":
        value = Decimal(draw(st.integers(min_value=1, max_value=10000))) / 100
    else:
        value = Decimal(draw(st.integers(min_value=1, max_value=10**7))).scaleb(-exponent)
    return currency, lines, kind, value


@given(cases())
def test_parts_sum_to_the_discount_and_no_line_goes_below_zero(case):
    currency, lines, kind, value = case
    try:
        result = discount_allocate(kind=kind, value=value, lines=lines, currency=currency)
    except DiscountTooLarge:
        assert kind == "fixed"
        assert value > sum(line.amount for line in lines)
        return
    assert sum(result.parts.values(), Decimal(0)) == result.total
    for line in lines:
        share = result.parts[line.key]
        assert Decimal(0) <= share <= line.amount
    # A discount keeps the total chargeable at Stripe (three-decimal: multiples of 0.010).
    assert to_minor_units(result.total, currency) % (10 if exponent_of(currency) == 3 else 1) == 0


def exponent_of(currency: str) -> int:
    return currency_exponent(currency)


@given(st.sampled_from(CURRENCIES))
def test_a_percentage_of_one_line_takes_exactly_that_share(currency):
    line = PricedLine(key=1, product_id=1, amount=Decimal("1000"))
    result = discount_allocate(
        kind="percentage", value=Decimal("10"), lines=[line], currency=currency
    )
    assert result.total == Decimal("100")
    assert result.parts == {1: Decimal("100")}

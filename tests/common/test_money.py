from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.money import (
    Money,
    MoneyError,
    allocate,
    currency_exponent,
    from_minor_units,
    quantize,
    to_minor_units,
)

CURRENCIES = ["USD", "EUR", "JPY", "KRW", "KWD", "BHD"]


def amounts(currency: str):
    exp = currency_exponent(currency)
    step = 10 if exp == 3 else 1
    return st.integers(min_value=-(10**10), max_value=10**10).map(
        lambda units: from_minor_units(units * step, currency)
    )


@st.composite
def currency_and_amount(draw):
    currency = draw(st.sampled_from(CURRENCIES))
    return currency, draw(amounts(currency))


@given(currency_and_amount())
def test_minor_units_round_trip_is_exact(pair):
    currency, amount = pair
    assert from_minor_units(to_minor_units(amount, currency), currency) == amount


@given(
    currency_and_amount(),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30),
)
def test_allocate_parts_always_sum_to_the_whole(pair, weights):
    currency, total = pair
    parts = allocate(total, weights, currency)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    q = Decimal(1).scaleb(-currency_exponent(currency))
    assert all(p == p.quantize(q) for p in parts)


@given(
    st.sampled_from(CURRENCIES),
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=20),
)
def test_allocate_parts_differ_from_exact_share_by_less_than_one_unit(currency, units, weights):
    total = from_minor_units(units, currency)
    parts = allocate(total, weights, currency)
    unit = Decimal(1).scaleb(-currency_exponent(currency))
    for part, weight in zip(parts, weights, strict=True):
        exact = total * weight / sum(weights)
        assert abs(part - exact) < unit


def test_zero_decimal_currency_has_no_minor_units():
    assert to_minor_units(Decimal("1500"), "JPY") == 1500
    assert from_minor_units(1500, "jpy") == Decimal("1500")


def test_three_decimal_currency_must_end_in_zero_for_stripe():
    assert to_minor_units(Decimal("1.230"), "KWD") == 1230
    with pytest.raises(MoneyError):
        to_minor_units(Decimal("1.235"), "KWD")


def test_amount_more_precise_than_currency_is_refused():
    with pytest.raises(MoneyError):
        to_minor_units(Decimal("19.999"), "USD")
    with pytest.raises(MoneyError):
        to_minor_units(Decimal("10.5"), "JPY")


def test_rounding_is_half_up():
    assert quantize(Decimal("0.005"), "USD") == Decimal("0.01")
    assert quantize(Decimal("0.015"), "USD") == Decimal("0.02")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("3")


def test_allocate_gives_leftover_cents_to_largest_remainders():
    assert allocate(Decimal("100.00"), [1, 1, 1], "USD") == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    # Equal remainders (0.5 each): the tie goes to the first part.
    assert allocate(Decimal("0.05"), [3, 7], "USD") == [Decimal("0.02"), Decimal("0.03")]


def test_money_refuses_mixed_currencies():
    with pytest.raises(MoneyError):
        Money(Decimal("1"), "USD") + Money(Decimal("1"), "EUR")


def test_money_serializes_as_decimal_string_and_currency():
    assert Money(Decimal("19.9"), "usd").as_dict() == {"amount": "19.90", "currency": "USD"}


def test_invalid_currency_code_is_refused():
    with pytest.raises(MoneyError):
        Money(Decimal("1"), "US")

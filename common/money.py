"""Money: Decimal amounts with an ISO currency; integer minor units only at the Stripe boundary.

Rounding is ROUND_HALF_UP (commercial rounding: 0.005 -> 0.01), the rule shoppers and
brands expect to see on a receipt. Splits use largest-remainder allocation so the parts
always add up to the whole.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, get_currency_symbol

ROUNDING = ROUND_HALF_UP

# Stripe's zero-decimal currencies (amounts are whole units).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG",
        "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
# Stripe's three-decimal currencies: the minor-unit amount must end in 0.
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


class MoneyError(ValueError):
    """An amount that cannot be represented in its currency."""


def currency_exponent(currency: str) -> int:
    """Return how many decimal places the currency has."""
    code = normalize_currency(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def normalize_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"'{currency}' is not an ISO 4217 currency code.")
    return code


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round an amount to its currency's precision with the house rounding mode."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError) as exc:
        raise MoneyError(f"'{amount}' is not a decimal amount.") from exc
    if not value.is_finite():
        raise MoneyError(f"'{amount}' is not a finite amount.")
    return value.quantize(quantum(currency), rounding=ROUNDING)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Convert an exact amount to Stripe's integer minor units, refusing anything lossy."""
    exponent = currency_exponent(currency)
    scaled = Decimal(amount).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more precision than {currency} allows.")
    units = int(scaled)
    if exponent == 3 and units % 10 != 0:
        raise MoneyError(f"Stripe charges {currency} only in multiples of 0.010; got {amount}.")
    return units


def from_minor_units(units: int, currency: str) -> Decimal:
    """Convert Stripe's integer minor units back to an exact Decimal amount."""
    exponent = currency_exponent(currency)
    return (Decimal(int(units)).scaleb(-exponent)).quantize(quantum(currency))


def allocate(total: Decimal, weights: Sequence[Decimal | int], currency: str) -> list[Decimal]:
    """Split `total` in proportion to `weights` so the parts sum exactly to `total`.

    Largest-remainder method on minor units: every part is first rounded down, then the
    leftover units go one each to the parts with the largest remainders (ties to the first).
    """
    if not weights:
        raise MoneyError("Cannot allocate over no parts.")
    weights_d = [Decimal(w) for w in weights]
    if any(w < 0 for w in weights_d):
        raise MoneyError("Allocation weights must not be negative.")
    exponent = currency_exponent(currency)
    total_units = int(quantize(total, currency).scaleb(exponent))
    weight_sum = sum(weights_d)
    if weight_sum == 0:
        weights_d = [Decimal(1)] * len(weights_d)
        weight_sum = Decimal(len(weights_d))
    sign = -1 if total_units < 0 else 1
    magnitude = abs(total_units)
    exact = [Decimal(magnitude) * w / weight_sum for w in weights_d]
    floors = [int(e) for e in exact]
    leftover = magnitude - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [from_minor_units(sign * units, currency) for units in floors]


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        code = normalize_currency(self.currency)
        object.__setattr__(self, "currency", code)
        object.__setattr__(self, "amount", quantize(self.amount, code))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError("Cannot combine amounts in different currencies.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    def to_minor_units(self) -> int:
        return to_minor_units(self.amount, self.currency)

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        return cls(from_minor_units(units, currency), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def as_dict(self) -> dict[str, str]:
        """Serialize as the API's money object: a decimal string and a currency."""
        return {"amount": format(self.amount, "f"), "currency": self.currency}


@lru_cache(maxsize=64)
def _money_pattern(locale: str, exponent: int) -> tuple[Locale, NumberPattern]:
    parsed = Locale.parse(locale)
    pattern = copy.copy(parsed.currency_formats["standard"])
    pattern.frac_prec = (exponent, exponent)
    return parsed, pattern


def _display_locale() -> str:
    from django.conf import settings
    from django.utils import translation

    return translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)


def format_money(amount: Decimal | int | str, currency: str, *, locale: str | None = None) -> str:
    """An amount as people read it: the currency's symbol and its own decimals ("$16.00",
    "¥1,600", "KWD 1.500"), grouped and placed by the locale (CLDR data through Babel)."""
    code = normalize_currency(currency)
    # Keyed by the text, not the Decimal: -0.00 and 0.00 are equal Decimals.
    return _formatted(format(quantize(amount, code), "f"), code, locale or _display_locale())


# Pages show the same few prices over and over; Babel takes ~0.1 ms to format one.
@lru_cache(maxsize=4096)
def _formatted(amount: str, code: str, locale: str) -> str:
    parsed, pattern = _money_pattern(locale, currency_exponent(code))
    text = pattern.apply(Decimal(amount), parsed, currency=code, currency_digits=False)
    symbol = get_currency_symbol(code, parsed)
    # CLDR's currency spacing, which Babel leaves out: a letter symbol never touches a digit.
    at = text.find(symbol)
    after = at + len(symbol)
    if symbol[-1:].isalpha() and at >= 0 and after < len(text) and text[after].isdigit():
        text = f"{text[:after]}\u00a0{text[after:]}"
    return text

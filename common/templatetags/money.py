"""`{{ amount|money:currency }}`: an amount at its currency's precision, with the code."""

from __future__ import annotations

from decimal import Decimal

from django import template

from common.money import MoneyError, quantize

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    try:
        return f"{quantize(amount, currency)} {currency.upper()}"
    except MoneyError:
        return f"{amount} {currency}"

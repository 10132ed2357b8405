"""`{{ amount|money:currency }}`: an amount as people read it ("$16.00", "¥1,600"), in the
currency's own decimals and the active locale (`common.money.format_money`)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from common.money import MoneyError, format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    try:
        return format_money(amount, currency)
    except (MoneyError, ArithmeticError, ValueError):
        # Never break a page or an email over one odd value: show it as it is.
        return f"{amount} {currency}"

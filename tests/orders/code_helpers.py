"""Builders for codes on carts: a brand discount and a creator code pointing at it."""

from __future__ import annotations

from typing import Any

from creators.models import Creator, CreatorCode
from shop.models import Brand, Discount


def code_for(
    brand: Brand,
    code: str = "MAYA10",
    *,
    creator: Creator | None = None,
    kind: str = "percentage",
    value: str = "10",
    **discount: Any,
) -> CreatorCode:
    made = Discount.objects.create(brand=brand, name=code, kind=kind, value=value, **discount)
    return CreatorCode.objects.create(code=code, brand=brand, discount=made, creator=creator)

"""Reads of creator codes: the one a shopper typed, a brand's and a creator's with their uses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from common.errors import NotFound
from creators.models import Creator, CreatorCode
from shop.models import Discount, DiscountUse

CODE_PATTERN = re.compile(r"^[A-Z0-9_-]{3,40}$")


def code_normalise(code: str) -> str:
    """The stored form of a code: trimmed and upper-case (codes are case-insensitive)."""
    return (code or "").strip().upper()


def code_is_wellformed(normalised: str) -> bool:
    return bool(CODE_PATTERN.match(normalised))


class CodeNotFound(NotFound):
    code = "code_not_found"
    default_message = "No such code."


def code_get_live(*, code: str) -> CreatorCode:
    """The active code a shopper typed, with its discount, brand and creator; else 404.

    The answer is the same for a code that does not exist and one switched off, whoever's
    brand it is, so answers reveal nothing about other brands' codes.
    """
    normalised = code_normalise(code)
    found = (
        CreatorCode.objects.select_related("discount", "brand", "creator__user")
        .filter(code=normalised, is_active=True)
        .first()
        if code_is_wellformed(normalised)
        else None
    )
    if found is None:
        raise CodeNotFound()
    return found


def codes_with_uses(queryset: QuerySet[CreatorCode]) -> QuerySet[CreatorCode]:
    """`queryset` with each code's `uses` (held or paid checkouts), discount and brand."""
    return _with_uses(queryset)


def _with_uses(queryset: QuerySet[CreatorCode]) -> QuerySet[CreatorCode]:
    held = (
        DiscountUse.objects.filter(code=OuterRef("code"), status=DiscountUse.Status.HELD)
        .order_by()
        .values("code")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.select_related("discount", "brand").annotate(uses=Coalesce(Subquery(held), 0))


def code_list_for_creator(*, creator: Creator) -> QuerySet[CreatorCode]:
    """A creator's codes with how many checkouts use them (held or paid), newest first."""
    return _with_uses(CreatorCode.objects.filter(creator=creator))


def code_list_for_brands(*, brand_ids: frozenset[int] | set[int]) -> QuerySet[CreatorCode]:
    return _with_uses(CreatorCode.objects.filter(brand_id__in=brand_ids).select_related("creator"))


def codes_with_discounts(*, codes: Iterable[str] | QuerySet[Any]) -> list[CreatorCode]:
    """The codes named (a list or a subquery of code texts), live or not, in one query: each
    with its discount, brand and creator, and `discount_product_ids`, the products a
    discount limited to chosen products applies to."""
    chosen = ArraySubquery(
        Discount.products.through.objects.filter(discount_id=OuterRef("discount_id"))
        .order_by("product_id")
        .values("product_id")
    )
    return list(
        CreatorCode.objects.filter(code__in=codes)
        .select_related("discount", "brand", "creator__user")
        .annotate(discount_product_ids=chosen)
        .order_by("brand_id")
    )

"""`visitor_cart` in every template: the shopper's open cart token and units, read lazily."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from common import visitor
from orders import selectors


class VisitorCart:
    """The cart named by `?cart=` or the cart cookie; empty when neither names an open one.

    Nothing is read until a template asks, so pages that show no cart cost no query.
    """

    def __init__(self, request: HttpRequest) -> None:
        cookie = request.COOKIES.get(visitor.CART_COOKIE, "")
        self._candidate = visitor.url_token(request, visitor.CART_PARAM) or (
            cookie if "\x00" not in cookie else ""
        )

    @cached_property
    def _count(self) -> int | None:
        if len(self._candidate) > 64:
            return None
        return selectors.cart_count_by_token(token=self._candidate)

    @property
    def token(self) -> str:
        return self._candidate if self._count is not None else ""

    @property
    def count(self) -> int:
        return self._count or 0


def visitor_cart(request: HttpRequest) -> dict[str, Any]:
    return {"visitor_cart": VisitorCart(request)}

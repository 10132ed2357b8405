"""Where a link sends a tap, cached so the redirect's warm path never touches PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef

from creators.models import AffiliateLink, Creator
from shop.models import Product
from shop.selectors import variants_in_stock

# Per-process memo in front of the shared cache: a viral link is served from memory.
_memo: dict[str, tuple[float, dict[str, Any]]] = {}
_MISSING: dict[str, Any] = {"missing": True}


def _cache_key(code: str) -> str:
    return f"link-target:{code}"


def _in_stock(product_id: int) -> bool:
    return variants_in_stock().filter(product_id=product_id).exists()


def _load(code: str) -> dict[str, Any]:
    link = (
        AffiliateLink.objects.select_related("creator", "product__brand", "fallback_product")
        .annotate(sold_out=~Exists(variants_in_stock().filter(product_id=OuterRef("product_id"))))
        .filter(code=code)
        .first()
    )
    if link is None:
        return _MISSING
    product = link.product
    target = product
    fallback = link.fallback_product
    if (
        link.sold_out
        and fallback is not None
        and fallback.status == Product.Status.ACTIVE
        and _in_stock(fallback.pk)
    ):
        target = fallback
    image = product.images.order_by("position", "id").first()
    return {
        "link_id": link.pk,
        "creator_id": link.creator_id,
        "handle": link.creator.handle,
        "active": link.is_active
        and link.creator.status == Creator.Status.ACTIVE
        and product.status == Product.Status.ACTIVE
        and product.brand.is_active,
        "product_id": product.pk,
        "target_product_id": target.pk,
        "sold_out": bool(link.sold_out),
        "window_days": product.brand.attribution_window_days,
        "product": {
            "id": product.pk,
            "title": product.title,
            "brand": product.brand.slug,
            "image": image.url if image else None,
        },
    }


def link_target_get(code: str) -> dict[str, Any] | None:
    """The link's redirect facts; None for an unknown code. Cached for LINK_CACHE_SECONDS."""
    now = time.monotonic()
    hit = _memo.get(code)
    if hit is not None and hit[0] > now:
        data = hit[1]
    else:
        data = cache.get(_cache_key(code))
        if data is None:
            data = _load(code)
            cache.set(_cache_key(code), data, timeout=settings.LINK_CACHE_SECONDS)
        if len(_memo) > 10_000:
            _memo.clear()
        _memo[code] = (now + min(settings.LINK_CACHE_SECONDS, 5), data)
    return None if data.get("missing") else data


def link_target_forget(code: str) -> None:
    """Drop a link's cached target after it changed (retarget, fallback, deactivation)."""
    _memo.pop(code, None)
    cache.delete(_cache_key(code))

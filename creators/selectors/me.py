"""Reads behind the creator's own /me/ endpoints, with their prefetching fixed in one place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet

from common.errors import NotFound
from creators.models import (
    AffiliateLink,
    Collaboration,
    Collection,
    CollectionItem,
    Creator,
    Video,
    VideoProduct,
)
from creators.rates import RateDecision, effective_rate
from shop.models import Product


def collection_queryset(*, creator: Creator) -> QuerySet[Collection]:
    items = CollectionItem.objects.select_related("product__brand").order_by("position", "id")
    return Collection.objects.filter(storefront__creator=creator).prefetch_related(
        Prefetch("items", queryset=items)
    )


def collection_get(*, creator: Creator, collection_id: int) -> Collection:
    collection = collection_queryset(creator=creator).filter(pk=collection_id).first()
    if collection is None:
        raise NotFound("No such collection.", code="collection_not_found")
    return collection


def video_queryset(*, creator: Creator) -> QuerySet[Video]:
    tags = VideoProduct.objects.select_related("product__brand").order_by(
        "position", "appears_at_seconds", "id"
    )
    return Video.objects.filter(creator=creator).prefetch_related(Prefetch("tags", queryset=tags))


def video_get(*, creator: Creator, video_id: int) -> Video:
    video = video_queryset(creator=creator).filter(pk=video_id).first()
    if video is None:
        raise NotFound("No such video.", code="video_not_found")
    return video


def link_queryset(*, creator: Creator) -> QuerySet[AffiliateLink]:
    return AffiliateLink.objects.filter(creator=creator).select_related(
        "product__brand", "fallback_product__brand", "preferred_variant"
    )


def link_get(*, creator: Creator, link_id: int) -> AffiliateLink:
    link = link_queryset(creator=creator).filter(pk=link_id).first()
    if link is None:
        raise NotFound("No such link.", code="link_not_found")
    return link


def collaboration_queryset(*, creator: Creator) -> QuerySet[Collaboration]:
    return Collaboration.objects.filter(creator=creator).select_related("brand", "product__brand")


def collaborations_in_force(
    *, creator: Creator, brand_ids: Iterable[int], at: datetime
) -> list[Collaboration]:
    """The creator's accepted collaborations with these brands whose window holds `at`."""
    return list(
        Collaboration.objects.filter(
            creator=creator,
            brand_id__in=set(brand_ids),
            status=Collaboration.Status.ACCEPTED,
            valid_from__lte=at,
        ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
    )


def best_rates(
    *, products: Iterable[Product], collaborations: Sequence[Collaboration]
) -> dict[int, tuple[Decimal, str]]:
    """`creators.rates.best_rate` for many products at once, from collaborations in force.

    Products need their brand loaded; ties go to the open rate, as in `best_rate`.
    """
    result: dict[int, tuple[Decimal, str]] = {}
    for product in products:
        best, source = product.open_rate, "open"
        for offer in collaborations:
            if offer.brand_id != product.brand_id:
                continue
            if offer.product_id is not None and offer.product_id != product.pk:
                continue
            if offer.rate > best:
                best, source = offer.rate, "collaboration"
        result[product.pk] = (best, source)
    return result


def link_rate_decisions(
    *, creator: Creator, links: Sequence[AffiliateLink], at: datetime
) -> dict[int, RateDecision]:
    """`creators.rates.rate_for_sale` for each of the creator's links, in one query."""
    if not links:
        return {}
    products = [link.product for link in links]
    offers = collaborations_in_force(
        creator=creator, brand_ids=(p.brand_id for p in products), at=at
    )
    current = best_rates(products=products, collaborations=offers)
    decisions: dict[int, RateDecision] = {}
    for link in links:
        current_rate, current_source = current[link.product_id]
        rate, source = effective_rate(
            locked_rate=link.locked_rate,
            lock_ends_at=link.lock_ends_at,
            current_rate=current_rate,
            at=at,
        )
        decisions[link.pk] = RateDecision(
            rate=rate,
            source=source,
            locked_rate=link.locked_rate,
            lock_ends_at=link.lock_ends_at,
            current_rate=current_rate,
            current_source=current_source,
        )
    return decisions

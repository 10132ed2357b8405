"""Affiliate links: one per creator, product and video; the rate is locked at creation."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import NotFound, ValidationFailed
from creators.attribution.links import link_target_forget
from creators.models import AffiliateLink, Creator
from creators.rates import best_rate
from creators.selectors.access import creator_require_active, product_require_taggable
from creators.services.videos import video_get_own
from shop.models import Variant

CODE_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def link_code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def link_url(code: str) -> str:
    return f"{settings.SITE_URL}/r/{code}"


def link_get_own(*, creator: Creator, link_id: int) -> AffiliateLink:
    link = AffiliateLink.objects.filter(pk=link_id, creator=creator).first()
    if link is None:
        raise NotFound("No such link.", code="link_not_found")
    return link


def _variant_of(product_id: int, variant_id: int | None, field: str) -> Variant | None:
    if variant_id is None:
        return None
    variant = Variant.objects.filter(pk=variant_id, product_id=product_id).first()
    if variant is None:
        raise ValidationFailed(
            "That variant is not one of the product's.",
            fields={field: [{"code": "invalid_variant", "message": "Not this product's."}]},
        )
    return variant


def link_create(
    *,
    creator: Creator,
    product_id: int,
    video_id: int | None = None,
    preferred_variant_id: int | None = None,
) -> tuple[AffiliateLink, bool]:
    """Return the creator's link for this product and video, creating it (and locking the
    best rate that applies now) if there is none yet. The bool says whether it is new."""
    creator_require_active(creator)
    product = product_require_taggable(creator=creator, product_id=product_id)
    video = video_get_own(creator=creator, video_id=video_id) if video_id is not None else None
    existing = AffiliateLink.objects.filter(creator=creator, product=product, video=video).first()
    if existing is not None:
        return existing, False
    variant = _variant_of(product.pk, preferred_variant_id, "preferred_variant_id")
    now = timezone.now()
    rate, _ = best_rate(creator=creator, product=product, at=now)
    lock_days = settings.LINK_RATE_LOCK_DAYS
    for _attempt in range(5):
        try:
            with transaction.atomic(durable=True):
                link = AffiliateLink.objects.create(
                    creator=creator,
                    product=product,
                    video=video,
                    preferred_variant=variant,
                    code=link_code_new(),
                    locked_rate=rate,
                    lock_ends_at=now + timedelta(days=lock_days),
                )
            return link, True
        except IntegrityError:
            existing = AffiliateLink.objects.filter(
                creator=creator, product=product, video=video
            ).first()
            if existing is not None:
                return existing, False
            # A code collision: draw again.
    raise RuntimeError("Could not draw a unique link code.")


def link_update(
    *,
    creator: Creator,
    link_id: int,
    product_id: int | None = None,
    fallback_product_id: int | None = None,
    clear_fallback: bool = False,
    preferred_variant_id: int | None = None,
    is_active: bool | None = None,
) -> AffiliateLink:
    """Retarget a link or set its sold-out fallback; the code, locked rate and credit stay."""
    link = link_get_own(creator=creator, link_id=link_id)
    creator_require_active(creator)
    if product_id is not None and product_id != link.product_id:
        link.product = product_require_taggable(creator=creator, product_id=product_id)
        link.preferred_variant = None
    if preferred_variant_id is not None:
        link.preferred_variant = _variant_of(
            link.product_id, preferred_variant_id, "preferred_variant_id"
        )
    if clear_fallback:
        link.fallback_product = None
    elif fallback_product_id is not None:
        if fallback_product_id == link.product_id:
            raise ValidationFailed(
                "The fallback must be another product.",
                fields={
                    "fallback_product_id": [{"code": "same_product", "message": "Same product."}]
                },
            )
        link.fallback_product = product_require_taggable(
            creator=creator, product_id=fallback_product_id
        )
    if is_active is not None:
        link.is_active = is_active
    try:
        with transaction.atomic(durable=True):
            link.save()
            transaction.on_commit(lambda: link_target_forget(link.code))
    except IntegrityError:
        raise ValidationFailed(
            "You already have a link for that product and video.",
            code="link_exists",
            fields={"product_id": [{"code": "link_exists", "message": "Link exists."}]},
        ) from None
    return link

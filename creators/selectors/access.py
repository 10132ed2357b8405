"""Which products a creator may tag, collect and link."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from common.errors import ApplicationError, NotFound, ValidationFailed
from creators.models import Collaboration, Creator
from shop.models import Product


def product_require_taggable(*, creator: Creator, product_id: int) -> Product:
    """An active product of an active brand that is open to all creators or invited this one."""
    product = Product.objects.select_related("brand").filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product.", code="product_not_found")
    if product.status != Product.Status.ACTIVE or not product.brand.is_active:
        raise ValidationFailed(
            "Only active products can be tagged or linked.",
            code="product_not_active",
            fields={"product_id": [{"code": "product_not_active", "message": "Not active."}]},
        )
    if product.brand.open_to_creators:
        return product
    now = timezone.now()
    invited = (
        Collaboration.objects.filter(
            creator=creator,
            brand_id=product.brand_id,
            status__in=[Collaboration.Status.INVITED, Collaboration.Status.ACCEPTED],
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .filter(Q(product__isnull=True) | Q(product=product))
        .exists()
    )
    if not invited:
        raise ValidationFailed(
            "This brand works with invited creators only.",
            code="product_not_allowed",
            fields={"product_id": [{"code": "product_not_allowed", "message": "Not invited."}]},
        )
    return product


def creator_require_active(creator: Creator) -> None:
    """A suspended creator cannot tag, collect or link products."""
    if creator.status != Creator.Status.ACTIVE:
        raise ApplicationError(
            "This creator account is suspended.", code="creator_suspended", status_code=403
        )

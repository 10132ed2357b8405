"""Writes that change what a stored storefront or product page shows retire it.

Any catalog change (a brand, product, variant or image saved, or products' status set in
bulk) retires every stored page, as it retires the catalog's list pages (`shop.cache`).
Stock moves through conditional UPDATEs that send no signal and is read live by the pages.
A creator's own rows retire that creator's pages, and so do their codes and the discounts
those point at (the storefront lists the live ones). Bulk writes send no model signal:
their services call `pages_changed` themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from creators.models import (
    AffiliateLink,
    Collection,
    CollectionItem,
    Creator,
    CreatorCode,
    Storefront,
    Video,
    VideoProduct,
)
from creators.pages.versions import pages_changed
from shop.cache import catalog_change
from shop.models import Discount


@receiver(catalog_change)
def _catalog_changed(**kwargs: Any) -> None:
    pages_changed(catalog=True)


@receiver([post_save, post_delete], sender=Creator)
def _creator_changed(sender: type, instance: Creator, **kwargs: Any) -> None:
    # The handle's entry too: it may be a stored "no such storefront".
    pages_changed(creator_ids=[instance.pk], handles=[instance.handle])


@receiver([post_save, post_delete], sender=Storefront)
@receiver([post_save, post_delete], sender=Video)
@receiver([post_save, post_delete], sender=AffiliateLink)
def _creator_row_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    pages_changed(creator_ids=[instance.creator_id])


@receiver([post_save, post_delete], sender=Collection)
def _collection_changed(sender: type, instance: Collection, **kwargs: Any) -> None:
    creator_id = Storefront.objects.filter(pk=instance.storefront_id).values_list(
        "creator_id", flat=True
    )
    pages_changed(creator_ids=list(creator_id))


@receiver([post_save, post_delete], sender=CollectionItem)
def _collection_item_changed(sender: type, instance: CollectionItem, **kwargs: Any) -> None:
    creator_id = Collection.objects.filter(pk=instance.collection_id).values_list(
        "storefront__creator_id", flat=True
    )
    pages_changed(creator_ids=list(creator_id))


@receiver([post_save, post_delete], sender=VideoProduct)
def _tag_changed(sender: type, instance: VideoProduct, **kwargs: Any) -> None:
    field = VideoProduct._meta.get_field("video")
    if field.is_cached(instance):
        pages_changed(creator_ids=[instance.video.creator_id])
        return
    creator_id = Video.objects.filter(pk=instance.video_id).values_list("creator_id", flat=True)
    pages_changed(creator_ids=list(creator_id))


@receiver([post_save, post_delete], sender=CreatorCode)
def _code_changed(sender: type, instance: CreatorCode, **kwargs: Any) -> None:
    if instance.creator_id is not None:
        pages_changed(creator_ids=[instance.creator_id])


@receiver([post_save, post_delete], sender=Discount)
def _discount_changed(sender: type, instance: Discount, **kwargs: Any) -> None:
    # Its value, dates or status show beside each code pointing at it. Taking a use is a
    # conditional UPDATE that sends no signal: the pages show no use counts.
    creator_ids = CreatorCode.objects.filter(
        discount_id=instance.pk, creator_id__isnull=False
    ).values_list("creator_id", flat=True)
    pages_changed(creator_ids=sorted(set(creator_ids)))

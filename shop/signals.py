"""Any saved or deleted catalog row invalidates the cached public list pages."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from shop.cache import catalog_changed
from shop.models import Brand, Product, ProductImage, Variant


@receiver([post_save, post_delete], sender=Brand)
@receiver([post_save, post_delete], sender=Product)
@receiver([post_save, post_delete], sender=ProductImage)
@receiver([post_save, post_delete], sender=Variant)
def _catalog_row_changed(sender: type, **kwargs: Any) -> None:
    catalog_changed()

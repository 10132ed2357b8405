"""`{% card_slot product appears_at %}`: where a product card goes in a stored storefront."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from creators.selectors.storefront import StorefrontProduct

register = template.Library()

# NUL never occurs in text PostgreSQL stores, so no user-entered text can forge a slot.
CARD_SLOT_PATTERN = "\x00card:([0-9]+):([0-9]*):([0-9:]*)\x00"


@register.simple_tag
def card_slot(product: StorefrontProduct, appears_at: str = "") -> SafeString:
    fallback = product.fallback.id if product.fallback is not None else ""
    return mark_safe(f"\x00card:{product.id}:{fallback}:{appears_at}\x00")  # noqa: S308 - ids only

"""`{% carry atk cart %}` after a link, `{% visitor_fill shared atk cart %}` for a shared part."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from common import visitor

register = template.Library()


@register.simple_tag
def carry(atk: str = "", cart: str = "", **extra: str) -> str:
    """The query carrying the visitor's tokens (autoescaped where it is used)."""
    return visitor.carry_query(atk=atk or "", cart=cart or "", **extra)


@register.simple_tag
def visitor_fill(shared: str, atk: str = "", cart: str = "") -> SafeString:
    return visitor.fill(shared, atk=atk or "", cart=cart or "")

"""Kept only because migration shop 0005 imports `default_mapping` from this path; the
models live in shop.models.feeds. Remove when the migrations are squashed."""

from shop.models.feeds import default_mapping

__all__ = ["default_mapping"]

"""Kept only because migration orders 0003 imports `new_webhook_secret` from this path;
the model lives in orders.models.webhooks. Remove when the migrations are squashed."""

from orders.models.webhooks import new_webhook_secret

__all__ = ["new_webhook_secret"]

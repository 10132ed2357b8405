"""Admins of the common app (the outbox's undelivered deliveries)."""

from common.outbox import admin as outbox_admin  # noqa: F401

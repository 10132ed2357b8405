"""Admins of the common app (the outbox's undelivered deliveries) and of Celery beat."""

from common import beat_admin  # noqa: F401
from common.outbox import admin as outbox_admin  # noqa: F401

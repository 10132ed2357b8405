"""Start-up checks of settings that would otherwise fail quietly under load."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

# Every delay a task is sent or retried with comes from one of these (seconds), and no task
# may run longer than the time limit: a message unacked for longer than the visibility
# timeout is handed to a second worker while the first still holds it.
COUNTDOWN_SETTINGS = (
    "WEBHOOK_RETRY_MAX_SECONDS",
    "FEED_RETRY_MAX_SECONDS",
    "OUTBOX_RETRY_MAX_SECONDS",
    "CELERY_TASK_TIME_LIMIT",
)
# Celery's own cap on autoretry backoff (`retry_backoff_max`), which no task raises.
CELERY_RETRY_BACKOFF_MAX = 600


def longest_countdown() -> tuple[str, int]:
    """The setting holding the longest delay a message may wait or run, and that delay."""
    candidates = [("retry_backoff_max", CELERY_RETRY_BACKOFF_MAX)]
    candidates += [
        (name, int(getattr(settings, name)))
        for name in COUNTDOWN_SETTINGS
        if getattr(settings, name, None) is not None
    ]
    return max(candidates, key=lambda item: item[1])


@register()
def visibility_timeout_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    name, longest = longest_countdown()
    if longest < settings.CELERY_VISIBILITY_TIMEOUT:
        return []
    return [
        Error(
            f"CELERY_VISIBILITY_TIMEOUT ({settings.CELERY_VISIBILITY_TIMEOUT}s) must be above "
            f"the longest countdown, {name} ({longest}s): Redis would deliver a delayed or "
            "running task a second time.",
            hint="Raise CELERY_VISIBILITY_TIMEOUT or lower the countdown.",
            id="tribe.E001",
        )
    ]

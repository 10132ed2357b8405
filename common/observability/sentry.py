"""Error reporting through sentry-sdk, active only when a DSN is configured."""

from __future__ import annotations

from typing import Any


def sentry_init(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float, **options: Any
) -> bool:
    """Start sentry-sdk with the Django and Celery integrations; without a DSN, do nothing."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        # Users are sent as ids only; no request bodies, cookies or addresses.
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration(), LoggingIntegration()],
        **options,
    )
    return True

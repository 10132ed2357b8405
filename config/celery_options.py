"""Celery broker options from the environment: Redis, or Redis behind Sentinel.

`CELERY_BROKER_URL=sentinel://:pw@s1:26379;sentinel://:pw@s2:26379;sentinel://:pw@s3:26379/0`
points kombu at the Sentinels, which name the current master; the master's name comes from
`CELERY_SENTINEL_MASTER_NAME` (and the Sentinels' own password, if they have one, from
`CELERY_SENTINEL_PASSWORD`). The same holds for a `sentinel://` result backend.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

SENTINEL_SCHEME = "sentinel://"


def transport_options(
    *,
    url: str,
    variable: str,
    visibility_timeout: int | None,
    master_name: str,
    sentinel_password: str = "",
) -> dict[str, Any]:
    """The transport options of a broker or result-backend URL."""
    options: dict[str, Any] = {}
    if visibility_timeout is not None:
        options["visibility_timeout"] = visibility_timeout
    if url.startswith(SENTINEL_SCHEME):
        if not master_name:
            raise ImproperlyConfigured(
                f"Environment variable {variable} uses Redis Sentinel: "
                "set CELERY_SENTINEL_MASTER_NAME to the name of the master."
            )
        options["master_name"] = master_name
        if sentinel_password:
            options["sentinel_kwargs"] = {"password": sentinel_password}
    return options

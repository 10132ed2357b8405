"""Sign-in lockout (django-axes): who is counted, and what a locked-out client is told.

Failures are counted per username and client address together, the address taken only
through the trusted proxies (`common.client_ip`), so a spoofed X-Forwarded-For neither
escapes a lockout nor locks someone else out. The admin's sign-in page answers a locked-out
client with a page in words; the API's token endpoint with the error envelope and the
stable code `login_locked`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import status

from common.errors import ApplicationError, api_error_response

LOCKED_CODE = "login_locked"


def cooloff_minutes() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    return max(1, int(cooloff.total_seconds() // 60)) if cooloff else 0


def locked_message() -> str:
    minutes = cooloff_minutes()
    wait = (
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}"
        if minutes
        else ("Ask a platform administrator to unlock it")
    )
    return f"Too many failed sign-ins for this account from your address. {wait}."


class LoginLocked(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = LOCKED_CODE
    retryable = True

    def __init__(self) -> None:
        minutes = cooloff_minutes()
        super().__init__(
            locked_message(), details={"retry_after": minutes * 60} if minutes else None
        )


def login_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The username a sign-in attempt named: the admin posts `username`, the API `email`."""
    sources: list[Any] = [credentials or {}]
    data = getattr(request, "data", None)
    if data is not None:
        sources.append(data)
    sources.append(getattr(request, "POST", {}))
    for source in sources:
        for field in ("username", "email"):
            value = source.get(field) if hasattr(source, "get") else None
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return ""


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """What a locked-out client gets instead of the sign-in page's answer."""
    error = LoginLocked()
    if request.path.startswith("/api/"):
        response: HttpResponse = api_error_response(
            error.status_code, error.code, error.message, details=error.details, retryable=True
        )
    else:
        response = render(
            request,
            "accounts/locked_out.html",
            {"title": "Sign-in locked", "message": error.message},
            status=error.status_code,
        )
    minutes = cooloff_minutes()
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response

"""`Idempotency-Key` for creating POSTs: a repeat within the TTL replays the first response.

Only successful (2xx) responses are kept, as Stripe does: a request that failed validation
or errored can be retried with the same key once corrected. The same key with a different
body is refused with 422; a repeat that arrives while the first is still running gets 409.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from common.errors import Conflict, UnprocessableEntity, ValidationFailed
from common.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


def _scope(request: Request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "anon"


def canonical_body(data: Any) -> str:
    """The parsed request body as canonical JSON: key order and whitespace do not count."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def body_fingerprint(data: Any) -> str:
    """A digest of the whole parsed body; two requests differ iff their bodies do."""
    return hashlib.sha256(canonical_body(data).encode()).hexdigest()


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(canonical_body(request.data).encode())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.status_code)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a DRF view's `post` so an `Idempotency-Key` header makes it safe to retry."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(
                "Idempotency-Key is too long.",
                code="idempotency_key_invalid",
                fields={HEADER: [f"At most {MAX_KEY_LENGTH} characters."]},
            )
        scope = _scope(request)
        fingerprint = _fingerprint(request)
        cutoff = timezone.now() - settings.IDEMPOTENCY_TTL
        IdempotencyRecord.objects.filter(scope=scope, key=key, created_at__lt=cutoff).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    method=request.method or "",
                    path=request.path,
                    fingerprint=fingerprint,
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.get(scope=scope, key=key)
            if existing.fingerprint != fingerprint:
                raise UnprocessableEntity(
                    "This Idempotency-Key was used with a different request.",
                    code="idempotency_key_reused",
                ) from None
            if existing.completed_at is None:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed.",
                    code="idempotency_request_in_progress",
                    retryable=True,
                ) from None
            return _replay(existing)

        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if not 200 <= response.status_code < 300:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        body = (
            json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code, response_body=body, completed_at=timezone.now()
        )
        return response

    return wrapper


def idempotency_prune() -> int:
    """Delete records older than the replay window; returns how many went."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted

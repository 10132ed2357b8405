"""Application errors with stable codes, and the one envelope every API error goes out in."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from common.request_id import current_request_id

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A failure the client can act on; `code` is stable and machine-readable."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "bad_request"
    default_message = "The request could not be processed."
    retryable = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        fields: dict[str, Any] | None = None,
        status_code: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        if retryable is not None:
            self.retryable = retryable
        self.details = details or {}
        self.fields = fields or {}
        super().__init__(self.message)

    @property
    def response_headers(self) -> dict[str, str]:
        """Headers the answer carries, in the API and on web pages alike: `Retry-After` when
        the error says when to come back (`details.retry_after`, seconds)."""
        retry_after = self.details.get("retry_after")
        if isinstance(retry_after, int) and retry_after > 0:
            return {"Retry-After": str(retry_after)}
        return {}


class ValidationFailed(ApplicationError):
    code = "invalid"
    default_message = "Invalid input."


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = "Not found."


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = "The request conflicts with the current state."


class UnprocessableEntity(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "unprocessable"
    default_message = "The request cannot be processed."


class UpstreamUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "upstream_unavailable"
    default_message = "A service we depend on is unavailable; try again shortly."
    retryable = True


def error_body(
    *,
    code: str,
    message: str,
    fields: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    retryable: bool = False,
) -> dict[str, Any]:
    """Build the standard error envelope."""
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": fields or {},
            "details": details or {},
            "request_id": current_request_id(),
            "retryable": retryable,
        }
    }


def _drf_code(exc: drf_exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code if isinstance(exc.default_code, str) else "error"


def _fields_of(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn every exception raised in a DRF view into the standard envelope."""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        body = error_body(
            code=exc.code,
            message=exc.message,
            fields=exc.fields,
            details=exc.details,
            retryable=exc.retryable,
        )
        set_rollback()
        return Response(body, status=exc.status_code, headers=exc.response_headers)

    if isinstance(exc, drf_exceptions.ValidationError):
        body = error_body(
            code="invalid", message="Invalid input.", fields=_fields_of(exc.get_full_details())
        )
        set_rollback()
        return Response(body, status=exc.status_code)

    if isinstance(exc, drf_exceptions.APIException):
        retryable = isinstance(exc, drf_exceptions.Throttled)
        details: dict[str, Any] = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf_exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(int(wait))
            details["retry_after"] = int(wait)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else exc.default_detail
        if isinstance(detail, dict) and "detail" in detail:
            message = str(detail["detail"])
        body = error_body(
            code=_drf_code(exc), message=str(message), details=details, retryable=retryable
        )
        set_rollback()
        return Response(body, status=exc.status_code, headers=headers)

    return None


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def json_or_html(request: HttpRequest, status_code: int, code: str, message: str, **kw: Any):
    """Answer API paths with the envelope and everything else with a small HTML page."""
    if _wants_json(request):
        return api_error_response(status_code, code, message, **kw)
    from django.shortcuts import render

    return render(
        request,
        "error.html",
        {"status_code": status_code, "message": message, "request_id": current_request_id()},
        status=status_code,
    )


def api_error_response(status_code: int, code: str, message: str, **kw: Any) -> JsonResponse:
    """The envelope as a plain Django response, for answers made outside DRF."""
    return JsonResponse(error_body(code=code, message=message, **kw), status=status_code)


# Exempt, as every DRF view is: the CSRF check would otherwise answer an unsafe method on
# an unknown /api/ path with Django's HTML 403 page instead of the 404 it is.
@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any path under /api/ that no route matches: 404 in JSON, even with DEBUG on."""
    return api_error_response(404, "not_found", "Not found.")


def handler400(request: HttpRequest, exception: Exception | None = None):
    return json_or_html(request, 400, "bad_request", "Bad request.")


def handler403(request: HttpRequest, exception: Exception | None = None):
    return json_or_html(request, 403, "permission_denied", "Permission denied.")


def handler404(request: HttpRequest, exception: Exception | None = None):
    return json_or_html(request, 404, "not_found", "Not found.")


def handler500(request: HttpRequest):
    return json_or_html(
        request, 500, "server_error", "Something went wrong on our side.", retryable=True
    )

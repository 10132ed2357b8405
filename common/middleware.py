"""Request ids: accepted from the client or generated, echoed back and stamped on every log line."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse

from common.errors import api_error_response
from common.observability import context
from common.request_id import request_id_reset, request_id_set

REQUEST_ID_HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
logger = logging.getLogger("django.request")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        token = request_id_set(request_id)
        # The log context of this request only: a thread serving the next one starts clean.
        log_tokens = context.bind(
            request=request, user_id=None, task_id=None, task_name=None, order_id=None
        )
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            context.unbind(log_tokens)
            request_id_reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


API_PREFIX = "/api/"
_JSON_TYPES = ("application/json", "application/merge-patch+json")


class ApiErrorMiddleware:
    """The API answers every error with the JSON envelope, whatever DEBUG says.

    Django's own debug pages (DEBUG on) and error handlers know nothing of the API. Under
    `/api/` this answers a body that is not JSON with 400 `parse_error` before any view runs
    (DRF parses lazily, so a view that never reads the body would accept it), and an exception
    that escapes a view with 500 `server_error` and the request id; the traceback goes to the log.
    Unknown routes under `/api/` reach `common.errors.api_not_found` (config/urls.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            refused = self._refuse_body(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    @staticmethod
    def _refuse_body(request: HttpRequest) -> HttpResponse | None:
        content_type = request.content_type or ""
        if content_type not in _JSON_TYPES:
            return None
        try:
            body = request.body
        except RequestDataTooBig:
            return api_error_response(413, "payload_too_large", "The request body is too large.")
        if not body:
            return None
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return api_error_response(
                400, "parse_error", f"The request body is not valid JSON: {exc}"
            )
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, Http404):
            return api_error_response(404, "not_found", "Not found.")
        if isinstance(exception, PermissionDenied):
            return api_error_response(403, "permission_denied", "Permission denied.")
        logger.error(
            "Unhandled exception on %s %s", request.method, request.path, exc_info=exception
        )
        return api_error_response(
            500, "server_error", "Something went wrong on our side.", retryable=True
        )

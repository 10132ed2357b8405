"""The OpenAPI schema documents the error answers every operation can really give.

Views declare their own outcomes (409 `out_of_stock`, 422 `idempotency_key_reused`...);
the answers that come from the framework around them are added here, from what the view
is: 400 when it reads a body or query parameters (validation, `parse_error`), 401 when it
authenticates (a bad or expired token, or none where one is needed) or hands out tokens
(wrong credentials), 404 when its path or a cursor names something, 429 when it is
throttled. All use the one error envelope.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework_simplejwt.views import TokenViewBase

from common.serializers import ErrorSchema


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in self._framework_errors(operation):
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSchema, status)
        return operation

    def _framework_errors(self, operation: dict[str, Any]) -> list[str]:
        parameters = operation.get("parameters", [])
        where = {parameter["in"] for parameter in parameters}
        names = {parameter["name"] for parameter in parameters}
        errors = []
        if "requestBody" in operation or "query" in where:
            errors.append("400")
        if self.view.get_authenticators() or isinstance(self.view, TokenViewBase):
            errors.append("401")
        if "path" in where or "cursor" in names:
            errors.append("404")
        if self.view.get_throttles():
            errors.append("429")
        return errors

import re
from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from common.errors import ValidationFailed

_WHOLE_NUMBER = re.compile(r"^[0-9]+$")


class IdCursorPagination(CursorPagination):
    """Newest first, ties broken on id so pages never skip or repeat rows."""

    ordering = ("-id",)
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        """The page size asked for, capped; anything but a whole number from 1 is a 400.

        DRF falls back to the default for `page_size=null` or `-3`, so a client that sent
        nonsense could not tell; the schema says a positive integer, and so do we.
        """
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0")
        if not _WHOLE_NUMBER.match(raw) or not digits:
            raise ValidationFailed(
                "page_size must be a whole number from 1.",
                fields={
                    self.page_size_query_param: [
                        {"code": "invalid", "message": "A whole number from 1."}
                    ]
                },
            )
        # Longer than nine digits is past any cap (and int() of thousands of digits is slow).
        return min(int(digits) if len(digits) <= 9 else self.max_page_size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Results per page (default {self.page_size}; more than "
                    f"{self.max_page_size} is capped to {self.max_page_size})."
                )
        return parameters

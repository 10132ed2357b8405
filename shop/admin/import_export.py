"""CSV imports in the brand-scoped admin: a preview of every row, then the valid ones.

django-import-export offers to confirm an import only when no row failed. A brand uploading
a sheet wants the valid rows in and the others listed, so `BrandCsvImportMixin` offers the
confirmation when some rows failed validation and others are valid (never after an
unexpected error), and says afterwards how many rows were left out. Writers of any brand,
and superusers, may import; the resources keep each row inside the user's brands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from unfold.contrib.import_export.forms import ImportForm

from shop.admin.scoping import WRITE_ROLES, brand_ids_for_request, is_unrestricted

if TYPE_CHECKING:
    from django.contrib import admin
    from import_export.admin import ImportMixin

    class _ImportBase(ImportMixin, admin.ModelAdmin[Any]): ...

else:
    _ImportBase = object


class BrandCsvImportMixin(_ImportBase):
    """Put before django-import-export's ImportMixin (or ImportExportMixin) in the bases."""

    import_form_class = ImportForm  # the admin theme's widgets

    def has_import_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request) or bool(brand_ids_for_request(request, WRITE_ROLES))

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Preview every row; offer to import the valid ones even when others have errors."""
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if isinstance(response, TemplateResponse) and context is not None:
            result = context.get("result")
            if (
                result is not None
                and "confirm_form" not in context
                and not result.has_errors()
                and result.has_validation_errors()
                and result.valid_rows()
            ):
                context["confirm_form"] = self.create_confirm_form(
                    request, import_form=context["form"]
                )
        return response

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        response = super().process_result(result, request)
        if result.has_validation_errors():
            self.message_user(
                request,
                f"{len(result.invalid_rows)} row(s) had errors and were not imported.",
                messages.WARNING,
            )
        return response

"""The ledger reconciliation in the admin: platform staff run it on demand and see the result.

A button on the commission lines' change list (superusers only) posts to `reconcile/`, which
runs the same service as the daily beat job and reports its count and sum per currency, in
words (the reasons' codes are in the service's log line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from commissions.services.reconciliation import ledger_reconcile
from shop.admin.scoping import is_unrestricted

if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class LedgerReconcileAdminMixin(_AdminBase):
    """Adds `reconcile/` (POST, superusers) and the button's flag to the change list."""

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(require_POST(self.reconcile_view))
        name = "commissions_commissionline_reconcile"
        return [path("reconcile/", view, name=name), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {**(extra_context or {}), "can_reconcile": is_unrestricted(request)}
        return super().changelist_view(request, extra)

    def reconcile_view(self, request: HttpRequest) -> HttpResponse:
        if not is_unrestricted(request):
            raise PermissionDenied
        report = ledger_reconcile()
        level = messages.WARNING if report.unresolved else messages.SUCCESS
        self.message_user(request, report.in_words(), level)
        target = reverse("admin:commissions_commissionline_changelist")
        if report.appended:
            target += "?kind__exact=adjustment"
        return HttpResponseRedirect(target)

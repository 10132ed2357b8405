"""A settlement's statement in the admin: printable HTML and CSV, for the brand that owns it.

Both are reached from the settlement's page and scoped as the change list is: a brand member
gets only their brands' settlements (anything else is 404), superusers every one.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from commissions.models import Settlement
from commissions.services.settlements import settlement_lines_csv_rows
from common.money import quantize

if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class SettlementStatementAdminMixin(_AdminBase):
    """Adds `<id>/statement/` (printable) and `<id>/statement.csv` to the settlements admin."""

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:settlement_id>/statement/",
                wrap(self.statement_view),
                name="commissions_settlement_statement",
            ),
            path(
                "<int:settlement_id>/statement.csv",
                wrap(self.statement_csv_view),
                name="commissions_settlement_statement_csv",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="statement")
    def statement(self, obj: Settlement) -> str:
        if obj.pk is None:
            return ""
        html = reverse("admin:commissions_settlement_statement", args=[obj.pk])
        csv_url = reverse("admin:commissions_settlement_statement_csv", args=[obj.pk])
        return format_html(
            '<a href="{}">Printable statement</a> · <a href="{}">CSV</a>', html, csv_url
        )

    def _visible(self, request: HttpRequest, settlement_id: int) -> Settlement:
        found = (
            self.get_queryset(request)
            .select_related("brand")
            .prefetch_related("lines")
            .filter(pk=settlement_id)
            .first()
        )
        if found is None:
            raise Http404("No such settlement.")
        return found

    def statement_view(self, request: HttpRequest, settlement_id: int) -> HttpResponse:
        settlement = self._visible(request, settlement_id)
        code = settlement.currency
        lines = [
            {"line": line, "amount": quantize(line.amount, code)} for line in settlement.lines.all()
        ]
        totals = [
            ("Gross sales", settlement.gross),
            ("Discounts (codes)", -settlement.discounts),
            ("Refunds", -settlement.refunds),
            ("Creator commissions", -settlement.commissions),
            (f"Platform fee ({settlement.platform_fee_percent}%)", -settlement.platform_fee),
            ("Disputes (taken back by banks, less reinstated)", -settlement.disputes),
            ("Dispute fees", -settlement.dispute_fees),
            ("Amount due for the period", settlement.amount_due),
            ("Debt carried in from the previous period", settlement.carried_in),
            ("Payable", settlement.payable),
        ]
        context = {
            "settlement": settlement,
            "lines": lines,
            "totals": [(label, quantize(value, code)) for label, value in totals],
        }
        return TemplateResponse(request, "admin/commissions/settlement/statement.html", context)

    def statement_csv_view(self, request: HttpRequest, settlement_id: int) -> HttpResponse:
        settlement = self._visible(request, settlement_id)
        buffer = io.StringIO()
        csv.writer(buffer).writerows(settlement_lines_csv_rows([settlement]))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="tribe-settlement-{settlement.pk}.csv"'
        )
        return response

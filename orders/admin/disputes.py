"""Disputes in the admin: each brand sees the disputes of payments holding its lines, with
only its own shares, and answers a dispute whose lines are all its own; a payment covering
several brands is answered by the platform's staff (superusers).

Evidence (text and files) is sent from a dispute's "Evidence" page through
orders.services.disputes, which uploads the files to Stripe's Files API first.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline

from common.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from common.errors import ApplicationError
from orders.models import Dispute, DisputeEvidenceFile, DisputeLine
from orders.services.disputes import (
    EVIDENCE_FILE_FIELDS,
    MAX_EVIDENCE_TEXT,
    EvidenceFile,
    dispute_evidence_submit,
    dispute_may_answer,
    evidence_files_from,
    evidence_files_oversized,
)
from shop.admin.scoping import BrandScopedAdminMixin, brand_ids_for_request, is_unrestricted

logger = logging.getLogger(__name__)


class DisputeLineInline(ReadOnlyInlineMixin, TabularInline):
    model = DisputeLine
    fields = ("brand", "order_line", "shipping", "amount", "fee")
    readonly_fields = fields
    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # shown on a dispute the user may view (DisputeAdmin), own brand's rows only

    def get_queryset(self, request: HttpRequest) -> QuerySet[DisputeLine]:
        queryset = super().get_queryset(request).select_related("brand", "order_line")
        if is_unrestricted(request):
            return queryset
        return queryset.filter(brand_id__in=brand_ids_for_request(request))


class DisputeEvidenceFileInline(ReadOnlyInlineMixin, TabularInline):
    model = DisputeEvidenceFile
    fields = ("evidence_field", "filename", "size", "stripe_file_id", "uploaded_by", "created_at")
    readonly_fields = fields
    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # shown only to those who answer the dispute (DisputeAdmin)


class EvidenceForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea,
        required=False,
        max_length=MAX_EVIDENCE_TEXT,
        help_text="What happened: delivery, the shopper's messages, why the charge is valid.",
    )
    receipt = forms.FileField(required=False)
    shipping_documentation = forms.FileField(required=False, help_text="Proof of delivery.")
    customer_communication = forms.FileField(required=False)
    uncategorized_file = forms.FileField(required=False, label="Other file")
    submit = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Submit to the bank now; leave unticked to keep adding evidence.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in evidence_files_oversized(data):
            self.add_error(name, "A file may be 4 MB at most.")
        if not data.get("text") and not any(data.get(n) for n in EVIDENCE_FILE_FIELDS):
            raise forms.ValidationError("Give some evidence: text or a file.")
        return data

    def files_given(self) -> list[EvidenceFile]:
        return evidence_files_from(self.cleaned_data)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ModelAdmin):
    """Chargebacks of payments holding the brand's lines, and their evidence."""

    brand_path = "lines__brand"
    list_display = (
        "id",
        "order",
        "status",
        "reason",
        "amount",
        "currency",
        "evidence_due_by",
        "opened_at",
        "closed_at",
    )
    list_filter = ("status", "reason")
    search_fields = ("stripe_dispute_id", "order__id")
    readonly_fields = (
        "order",
        "stripe_dispute_id",
        "stripe_charge_id",
        "status",
        "reason",
        "amount",
        "fee",
        "reinstated",
        "currency",
        "evidence_due_by",
        "evidence_submitted_at",
        "evidence_submission_count",
        "opened_at",
        "closed_at",
        "evidence_link",
    )
    fields = readonly_fields
    inlines = (DisputeLineInline, DisputeEvidenceFileInline)

    def scope_queryset(
        self, request: HttpRequest, queryset: QuerySet[Any], *, roles: Any
    ) -> QuerySet[Any]:
        if is_unrestricted(request):
            return queryset
        ids = brand_ids_for_request(request, roles)
        mine = DisputeLine.objects.filter(dispute_id=OuterRef("pk"), brand_id__in=ids)
        return queryset.filter(Exists(mine))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        queryset = super().get_queryset(request).select_related("order")
        return queryset

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None or is_unrestricted(request):
            return super().has_view_permission(request, obj)
        return self.scope_queryset(
            request, Dispute.objects.filter(pk=obj.pk), roles=self.view_roles
        ).exists()

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        inlines = super().get_inline_instances(request, obj)
        if obj is not None and not is_unrestricted(request) and not self._answers(request, obj):
            # Several brands' payment: its evidence is the platform staff's.
            inlines = [i for i in inlines if not isinstance(i, DisputeEvidenceFileInline)]
        return inlines

    def _answers(self, request: HttpRequest, dispute: Dispute) -> bool:
        return dispute_may_answer(
            dispute=dispute,
            user=request.user,  # type: ignore[arg-type]
            writable_brand_ids=sorted(self.brand_ids(request, write=True)),
        )

    @admin.display(description="evidence")
    def evidence_link(self, obj: Dispute) -> str:
        if not obj.is_open:
            return "Closed"
        url = reverse("admin:orders_dispute_evidence", args=[obj.pk])
        return format_html('<a href="{}">Send evidence</a>', url)

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<int:dispute_id>/evidence/",
                self.admin_site.admin_view(self.evidence_view),
                name="orders_dispute_evidence",
            )
        ]
        return extra + super().get_urls()

    def evidence_view(self, request: HttpRequest, dispute_id: int) -> HttpResponse:
        dispute = self.get_queryset(request).filter(pk=dispute_id).first()
        if dispute is None:
            raise Http404("No such dispute.")
        change_url = reverse("admin:orders_dispute_change", args=[dispute.pk])
        if not self._answers(request, dispute):
            several = len({p.brand_id for p in DisputeLine.objects.filter(dispute=dispute)}) > 1
            self.message_user(
                request,
                "This payment covers several brands' lines: Tribe's staff answer its dispute."
                if several
                else "You may view this dispute but not answer it.",
                messages.WARNING,
            )
            return HttpResponseRedirect(change_url)
        form = EvidenceForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
        )
        status = 200
        if request.method == "POST" and form.is_valid():
            try:
                dispute_evidence_submit(
                    dispute_id=dispute.pk,
                    user=request.user,  # type: ignore[arg-type]
                    writable_brand_ids=sorted(self.brand_ids(request, write=True)),
                    text=form.cleaned_data["text"],
                    files=form.files_given(),
                    submit=form.cleaned_data["submit"],
                )
            except ApplicationError as exc:
                logger.info("dispute %s evidence refused: %s", dispute.pk, exc.code)
                form.add_error(None, exc.message)
                status = 409
            else:
                self.message_user(request, "Evidence sent to Stripe.", messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Evidence for the dispute of order {dispute.order_id}",
            "dispute": dispute,
            "form": form,
        }
        return TemplateResponse(
            request, "admin/orders/dispute/evidence.html", context, status=status
        )

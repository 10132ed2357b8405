"""Creators working with a brand: their links, invitations, sales and refund rate.

A proxy of Creator (creators.BrandCreator) scoped to creators with an invitation from, or a
link to, one of the user's brands. Its sales and refund counts read paid orders, so it is
registered here, above orders, rather than in the creators admin.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from unfold.admin import ModelAdmin, TabularInline

from commissions import fraud
from commissions.selectors.order_lines import creator_refund_count_subqueries
from common.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from creators.models import AffiliateLink, BrandCreator, Collaboration
from shop.admin.scoping import brand_ids_for_request, is_unrestricted

NOT_YET = "\u2014"  # shown where there is nothing to count yet


def brand_scope(request: HttpRequest) -> frozenset[int] | None:
    """Ids of the brands the user may view; None for superusers, who see every brand."""
    return None if is_unrestricted(request) else brand_ids_for_request(request)


# --- Creators working with a brand ------------------------------------------------------


class _BrandReadOnlyInline(ReadOnlyInlineMixin, TabularInline):
    """Rows of the user's brands only, and never editable from a creator's page."""

    brand_lookup: ClassVar[str]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        ids = brand_scope(request)
        return queryset if ids is None else queryset.filter(**{self.brand_lookup: ids})

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return brand_scope(request) != frozenset()


class BrandLinkInline(_BrandReadOnlyInline):
    model = AffiliateLink
    fk_name = "creator"
    brand_lookup = "product__brand_id__in"
    fields = ("code", "product", "locked_rate", "lock_ends_at", "is_active", "created_at")
    readonly_fields = fields
    verbose_name_plural = "links to our products"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("product")


class BrandInvitationInline(_BrandReadOnlyInline):
    model = Collaboration
    fk_name = "creator"
    brand_lookup = "brand_id__in"
    fields = ("brand", "product", "rate", "valid_from", "valid_until", "status", "created_at")
    readonly_fields = fields
    verbose_name_plural = "our invitations"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("brand", "product")


class RefundFlagFilter(admin.SimpleListFilter):
    title = "refund rate"
    parameter_name = "refund_flag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("flagged", "Flagged (refund rate over the threshold)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "flagged":
            return fraud.filter_flagged(queryset)
        return queryset


@admin.register(BrandCreator)
class BrandCreatorAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Creators with an invitation from, or a link to a product of, one of the user's brands.

    Counts and statuses only ever read the user's brands' rows: sales are the paid orders
    credited to the creator on the user's brands' products, the refund rate the share of
    them with a refund, flagged past the threshold (commissions.fraud).
    """

    list_display = ("handle", "display_name", "links", "invitation", "sales", "refund_rate")
    list_filter = (RefundFlagFilter,)
    search_fields = ("handle", "display_name")
    fields = (
        "handle",
        "display_name",
        "bio",
        "avatar_url",
        "social_accounts",
        "status",
        "sales",
        "refund_rate",
    )
    readonly_fields = fields
    inlines = (BrandLinkInline, BrandInvitationInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        ids = brand_scope(request)
        links = AffiliateLink.objects.filter(creator_id=OuterRef("pk"))
        invitations = Collaboration.objects.filter(creator_id=OuterRef("pk"))
        if ids is not None:
            links = links.filter(product__brand_id__in=ids)
            invitations = invitations.filter(brand_id__in=ids)
        link_count = links.order_by().values("creator_id").annotate(n=Count("pk")).values("n")
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                link_count=Coalesce(Subquery(link_count, output_field=IntegerField()), 0),
                invitation_status=Subquery(
                    invitations.order_by("-created_at", "-pk").values("status")[:1]
                ),
                **creator_refund_count_subqueries(creator_ref="pk", brand_ids=ids),
            )
        )
        if ids is not None:
            queryset = queryset.filter(Exists(links) | Exists(invitations))
        return queryset

    @admin.display(description="Links to our products", ordering="link_count")
    def links(self, obj: Any) -> int:
        return obj.link_count

    @admin.display(description="Invitation", ordering="invitation_status")
    def invitation(self, obj: Any) -> str:
        status = obj.invitation_status
        return Collaboration.Status(status).label if status else NOT_YET

    @admin.display(description="Sales", ordering="sales_orders")
    def sales(self, obj: Any) -> int:
        return obj.sales_orders

    @admin.display(description="Refund rate")
    def refund_rate(self, obj: Any) -> str:
        rate = fraud.refund_rate(orders=obj.sales_orders, refunded=obj.refunded_orders)
        if rate is None:
            return NOT_YET
        text = f"{rate}% ({obj.refunded_orders} of {obj.sales_orders})"
        if fraud.is_flagged(orders=obj.sales_orders, refunded=obj.refunded_orders):
            return f"{text} \u2691 flagged"
        return text

    def has_module_permission(self, request: HttpRequest) -> bool:
        return brand_scope(request) != frozenset()

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Object-level scoping is get_queryset's: other creators' pages are "not found".
        return brand_scope(request) != frozenset()

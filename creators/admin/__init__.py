"""The creators admin: brands see the creators working with them; the rest is superusers'.

Brand members (see `shop.admin.scoping`) get three views: their invitations (invite through
`collaboration_invite`, revoke through `collaboration_revoke`, no other edits), the affiliate
links to their products (read-only: links are the creator's), and "Creators working with
us", a proxy of Creator scoped to creators with an invitation from, or a link to, one of
their brands. Creator and Video themselves are superuser-only; brand writers reach creators'
handles only through the invite form's autocomplete.

Brand members also get their brand's creator codes (`codes`: issue through `code_issue`,
switch on and off through `code_set_active`, never deleted).

Modules: `forms` (the invitation form), `codes` (creator codes); the rest is here.
"Creators working with us" shows sales and refund rates, which are the commissions app's
reads, so its admin lives in commissions/admin/creators.py (above orders).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin, TabularInline

from accounts.models import User
from common.admin_mixins import ReadOnlyAdminMixin
from creators.admin import codes as _codes  # noqa: F401  (registers the codes admin)
from creators.admin.forms import CollaborationInviteForm
from creators.models import (
    AffiliateLink,
    Collaboration,
    Creator,
    CreatorCode,
    Video,
    VideoProduct,
)
from creators.services.collaborations import collaboration_invite, collaboration_revoke
from shop.admin.scoping import (
    WRITE_ROLES,
    BrandScopedAdminMixin,
    brand_ids_for_request,
    is_unrestricted,
)


def brand_scope(request: HttpRequest) -> frozenset[int] | None:
    """Ids of the brands the user may view; None for superusers, who see every brand."""
    return None if is_unrestricted(request) else brand_ids_for_request(request)


def _is_invite_autocomplete(request: HttpRequest) -> bool:
    """The creator autocomplete of the invitation and code forms, and nothing else."""
    match = getattr(request, "resolver_match", None)
    params = request.GET
    return bool(
        match
        and match.url_name == "autocomplete"
        and params.get("app_label") == Collaboration._meta.app_label
        and params.get("model_name")
        in (Collaboration._meta.model_name, CreatorCode._meta.model_name)
        and params.get("field_name") == "creator"
    )


# --- Invitations ------------------------------------------------------------------


@admin.register(Collaboration)
class CollaborationAdmin(BrandScopedAdminMixin, ModelAdmin):
    """Invite and revoke; an invitation is never edited, so an accepted rate never moves."""

    brand_path = "brand"
    form = CollaborationInviteForm
    list_display = (
        "creator_handle",
        "brand",
        "product",
        "rate",
        "valid_from",
        "valid_until",
        "status",
        "invited_by",
        "created_at",
    )
    list_select_related = ("creator", "brand", "product", "invited_by")
    list_filter = ("status", "brand")
    search_fields = ("creator__handle",)
    autocomplete_fields = ("creator", "product")
    actions = ("revoke",)
    add_fields = CollaborationInviteForm.Meta.fields
    detail_fields = (
        *add_fields,
        "status",
        "invited_by",
        "created_at",
        "responded_at",
    )

    @admin.display(description="Creator", ordering="creator__handle")
    def creator_handle(self, obj: Collaboration) -> str:
        return str(obj.creator)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fields if obj is None else self.detail_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return self.detail_fields
        return super().get_readonly_fields(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "creator":
            # Creators belong to no brand: any active one may be invited.
            kwargs["queryset"] = Creator.objects.filter(status=Creator.Status.ACTIVE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- permissions: add (invite) and revoke only ---------------------------
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request) or bool(self.brand_ids(request, write=True))

    # --- inviting through the service -------------------------------------------
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.assign_brand(request, obj)
        self.require_writable(request, obj)
        created = collaboration_invite(
            brand=obj.brand,
            creator=obj.creator,
            product=obj.product,
            rate=obj.rate,
            valid_from=form.cleaned_data.get("valid_from"),
            valid_until=obj.valid_until,
            invited_by=cast(User, request.user),
            message=obj.message,
            codes_allowed=obj.codes_allowed,
            code_max_percent=obj.code_max_percent,
            code_max_count=obj.code_max_count,
        )
        for field in Collaboration._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))

    # --- revoking ------------------------------------------------------------------
    @admin.action(description="Revoke selected invitations", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Collaboration]) -> None:
        open_statuses = (Collaboration.Status.INVITED, Collaboration.Status.ACCEPTED)
        revoked = 0
        for collaboration in queryset.filter(status__in=open_statuses).order_by("pk"):
            collaboration_revoke(collaboration=collaboration)
            revoked += 1
        self.message_user(request, f"{revoked} invitation(s) revoked.", messages.SUCCESS)


# --- Affiliate links ------------------------------------------------------------------


@admin.register(AffiliateLink)
class AffiliateLinkAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ModelAdmin):
    """Links to the brand's products; read-only for everyone, because links are the creator's."""

    brand_path = "product__brand"
    list_display = ("code", "creator", "product", "locked_rate", "lock_ends_at", "is_active")
    list_select_related = ("creator", "product")
    list_filter = ("is_active", "product__brand")
    search_fields = ("code", "creator__handle", "product__title")
    member_fields = (
        "code",
        "creator",
        "product",
        "preferred_variant",
        "locked_rate",
        "lock_ends_at",
        "is_active",
        "created_at",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if is_unrestricted(request):
            return (*self.member_fields, "video", "fallback_product")
        # A fallback may be another brand's product: members never see it.
        return self.member_fields


# --- Superusers: creators and videos ------------------------------------------------------


class _SuperuserOnlyAdmin(ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unrestricted(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unrestricted(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_unrestricted(request)


@admin.register(Creator)
class CreatorAdmin(_SuperuserOnlyAdmin):
    """Every creator, for superusers; brand writers only search active handles to invite."""

    list_display = ("handle", "display_name", "user", "status", "created_at")
    list_select_related = ("user",)
    list_filter = ("status",)
    search_fields = ("handle", "display_name", "user__email")
    autocomplete_fields = ("user",)

    def _invite_lookup(self, request: HttpRequest) -> bool:
        return (
            not is_unrestricted(request)
            and _is_invite_autocomplete(request)
            and bool(brand_ids_for_request(request, WRITE_ROLES))
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Creator]:
        queryset = super().get_queryset(request)
        if self._invite_lookup(request):
            return queryset.filter(status=Creator.Status.ACTIVE)
        return queryset

    def get_search_fields(self, request: HttpRequest) -> Any:
        return ("handle",) if self._invite_lookup(request) else self.search_fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None and self._invite_lookup(request):
            return True
        return super().has_view_permission(request, obj)


class VideoProductInline(TabularInline):
    model = VideoProduct
    autocomplete_fields = ("product",)
    fields = ("product", "appears_at_seconds", "position")
    extra = 0


@admin.register(Video)
class VideoAdmin(_SuperuserOnlyAdmin):
    list_display = ("__str__", "creator", "platform", "posted_at", "created_at")
    list_select_related = ("creator",)
    list_filter = ("platform",)
    search_fields = ("creator__handle", "external_id", "caption")
    autocomplete_fields = ("creator",)
    inlines = (VideoProductInline,)

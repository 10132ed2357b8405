"""Admin for inventory feeds and their runs, scoped to the signed-in user's brands.

Members manage their feeds, start a fetch, upload a feed file, and confirm runs held by the
zero guard. Runs are read-only: counts, first errors with row numbers, and the progress
phase while a run is going.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin

from common.admin_mixins import ReadOnlyAdminMixin
from common.errors import ApplicationError
from shop.admin.scoping import BrandScopedAdminMixin, brand_ids_for_request, is_unrestricted
from shop.feeds.netguard import FeedURLRefused, validate_feed_url
from shop.feeds.parse import parse_as_of
from shop.feeds.services import feed_push, feed_run_confirm, feed_run_enqueue
from shop.models import InventoryFeed, StockSyncRun

MAPPING_KEYS = {"sku", "quantity", "as_of", "items"}


class InventoryFeedForm(forms.ModelForm):
    url = forms.URLField(
        max_length=2000,
        required=False,
        assume_scheme="https",
        help_text=InventoryFeed._meta.get_field("url").help_text,
    )

    class Meta:
        model = InventoryFeed
        fields = (
            "brand",
            "name",
            "format",
            "column_mapping",
            "as_of_header",
            "auth_header",
            "auth_env",
            "interval_minutes",
            "max_zero_share",
            "is_active",
        )

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "")
        if url:
            try:
                validate_feed_url(url)
            except FeedURLRefused as exc:
                raise forms.ValidationError(str(exc)) from exc
        return url

    def clean_auth_env(self) -> str:
        name = self.cleaned_data.get("auth_env", "")
        prefix = settings.FEED_AUTH_ENV_PREFIX
        if name and not name.startswith(prefix):
            raise forms.ValidationError(f"The variable's name must start with {prefix}.")
        return name

    def clean_column_mapping(self) -> dict[str, str]:
        mapping = self.cleaned_data.get("column_mapping") or {}
        if not isinstance(mapping, dict) or not all(
            key in MAPPING_KEYS and isinstance(value, str) and value
            for key, value in mapping.items()
        ):
            raise forms.ValidationError(
                f"An object of names for {', '.join(sorted(MAPPING_KEYS))}, e.g. "
                '{"sku": "SKU", "quantity": "Qty"}.'
            )
        return mapping

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "auth_header" in self.errors or "auth_env" in self.errors:
            return data
        if bool(data.get("auth_header")) != bool(data.get("auth_env")):
            raise forms.ValidationError("Give both the auth header and its variable, or neither.")
        return data


class FeedUploadForm(forms.Form):
    file = forms.FileField(help_text="A CSV or JSON file in the feed's format.")
    as_of = forms.CharField(
        required=False,
        help_text="When the file's levels were taken (ISO 8601); empty means now.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.FEED_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {settings.FEED_MAX_BYTES} bytes.")
        return upload

    def clean_as_of(self) -> Any:
        text = self.cleaned_data.get("as_of", "")
        if not text:
            return None
        parsed = parse_as_of(text)
        if parsed is None:
            raise forms.ValidationError("Enter a date and time such as 2025-05-01T09:30:00Z.")
        return parsed


@admin.register(InventoryFeed)
class InventoryFeedAdmin(BrandScopedAdminMixin, ModelAdmin):
    brand_path = "brand"
    form = InventoryFeedForm
    list_display = ("name", "brand", "format", "url", "interval_minutes", "is_active", "last_run")
    list_select_related = ("brand",)
    list_filter = ("is_active", "format", "brand")
    search_fields = ("name", "url")
    autocomplete_fields = ("brand",)
    readonly_fields = ("next_run_at", "etag", "last_modified", "applied_as_of", "upload_link")
    fields = (
        "brand",
        "name",
        "url",
        "format",
        "column_mapping",
        "as_of_header",
        "auth_header",
        "auth_env",
        "interval_minutes",
        "max_zero_share",
        "is_active",
        "next_run_at",
        "etag",
        "last_modified",
        "applied_as_of",
        "upload_link",
    )
    actions = ("sync_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InventoryFeed]:
        last = StockSyncRun.objects.filter(feed_id=OuterRef("pk")).order_by("-id")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_run_id=Subquery(last.values("pk")[:1]),
                last_run_state=Subquery(last.values("state")[:1]),
            )
        )

    @admin.display(description="Last run")
    def last_run(self, obj: Any) -> str:
        if obj.last_run_id is None:
            return "-"
        url = reverse("admin:shop_stocksyncrun_change", args=[obj.last_run_id])
        state = StockSyncRun.State(obj.last_run_state).label
        return format_html('<a href="{}">{} ({})</a>', url, state, obj.last_run_id)

    @admin.display(description="Upload")
    def upload_link(self, obj: InventoryFeed) -> str:
        if not obj.pk:
            return "Save the feed first."
        url = reverse("admin:shop_inventoryfeed_upload", args=[obj.pk])
        return format_html('<a href="{}">Upload a feed file</a>', url)

    def get_urls(self) -> list[Any]:
        upload = path(
            "<path:object_id>/upload/",
            self.admin_site.admin_view(self.upload_view),
            name="shop_inventoryfeed_upload",
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        feed = self.get_object(request, object_id)
        if feed is None:
            raise Http404
        if not self.has_change_permission(request, feed):
            raise PermissionDenied
        form = FeedUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = feed_push(
                    feed=feed,
                    payload=form.cleaned_data["file"].read(),
                    as_of=form.cleaned_data["as_of"],
                    actor_id=request.user.pk,
                    origin=StockSyncRun.Origin.UPLOAD,
                )
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Run {run.pk} queued.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:shop_stocksyncrun_change", args=[run.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Upload a feed file: {feed}",
            "form": form,
            "feed": feed,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/shop/inventoryfeed/upload.html", context)

    @admin.action(description="Fetch the selected feeds now", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[InventoryFeed]) -> None:
        queued = 0
        for feed in queryset.exclude(url=""):
            _, created = feed_run_enqueue(feed_id=feed.pk, actor_id=request.user.pk)
            queued += created
        self.message_user(request, f"{queued} feed run(s) queued.", messages.SUCCESS)


@admin.register(StockSyncRun)
class StockSyncRunAdmin(ReadOnlyAdminMixin, BrandScopedAdminMixin, ModelAdmin):
    """Runs are a record: read-only, except confirming one held by the zero guard."""

    brand_path = "feed__brand"
    list_display = (
        "id",
        "feed",
        "origin",
        "state",
        "progress",
        "rows",
        "changed",
        "unchanged",
        "unknown_sku",
        "invalid",
        "below_reserved",
        "as_of",
        "created_at",
    )
    list_select_related = ("feed__brand",)
    list_filter = ("state", "origin", "feed__brand")
    search_fields = ("feed__name", "message")
    date_hierarchy = "created_at"
    actions = ("confirm_held",)
    fieldsets = (
        (None, {"fields": ("feed", "origin", "state", "progress", "message", "actor")}),
        (
            "Counts",
            {
                "fields": (
                    ("rows", "changed", "unchanged"),
                    ("unknown_sku", "invalid", "zeroed", "below_reserved"),
                )
            },
        ),
        ("Problems", {"fields": ("error_table", "conflict_table")}),
        ("Times", {"fields": ("as_of", "created_at", "started_at", "finished_at", "attempts")}),
    )

    readonly_fields = ("progress", "error_table", "conflict_table")

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockSyncRun]:
        return super().get_queryset(request).defer("payload")  # up to FEED_MAX_BYTES each

    @admin.display(description="Progress")
    def progress(self, obj: StockSyncRun) -> str:
        if obj.state == StockSyncRun.State.RUNNING:
            done = f", {obj.rows_done} applied" if obj.phase == "applying" else ""
            return f"{obj.phase or 'starting'}{done}"
        if obj.state == StockSyncRun.State.QUEUED:
            return obj.phase or "waiting for a worker"
        return "not modified" if obj.not_modified else "-"

    @admin.display(description="First errors")
    def error_table(self, obj: StockSyncRun) -> str:
        if not obj.errors:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.get("row"), e.get("sku"), e.get("code"), e.get("message")) for e in obj.errors),
        )
        return format_html(
            "<table><tr><th>Row</th><th>SKU</th><th>Code</th><th>Message</th></tr>{}</table>", rows
        )

    @admin.display(description="Below reserved")
    def conflict_table(self, obj: StockSyncRun) -> str:
        if not obj.conflicts:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c.get("sku"), c.get("on_hand"), c.get("reserved")) for c in obj.conflicts),
        )
        return format_html(
            "<table><tr><th>SKU</th><th>On hand</th><th>Reserved</th></tr>{}</table>", rows
        )

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request) or bool(brand_ids_for_request(request, self.write_roles))

    @admin.action(description="Confirm and apply the selected held runs", permissions=["confirm"])
    def confirm_held(self, request: HttpRequest, queryset: QuerySet[StockSyncRun]) -> None:
        confirmed = 0
        for run in queryset.filter(state=StockSyncRun.State.HELD):
            try:
                feed_run_confirm(run_id=run.pk, actor_id=request.user.pk)
            except ApplicationError as exc:
                self.message_user(request, f"Run {run.pk}: {exc.message}", messages.ERROR)
            else:
                confirmed += 1
        self.message_user(request, f"{confirmed} held run(s) confirmed.", messages.SUCCESS)

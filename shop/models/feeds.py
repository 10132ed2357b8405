"""Inventory feeds and their sync runs (imported by `shop.models`, so app label `shop`)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

ENV_NAME_VALIDATOR = RegexValidator(
    r"^[A-Z][A-Z0-9_]{0,99}$", "Upper-case letters, digits and underscores."
)
HEADER_NAME_VALIDATOR = RegexValidator(r"^[A-Za-z0-9-]{1,100}$", "A header name, e.g. X-Api-Key.")


def default_mapping() -> dict[str, str]:
    return {"sku": "sku", "quantity": "quantity", "as_of": "as_of", "items": "items"}


class InventoryFeed(models.Model):
    """Where a brand's own stock levels come from, and when to fetch them."""

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        CSV = "csv", "CSV"

    brand = models.ForeignKey("shop.Brand", on_delete=models.CASCADE, related_name="feeds")
    name = models.CharField(max_length=200)
    url = models.URLField(
        max_length=2000,
        blank=True,
        help_text="The http(s) address Tribe fetches; empty for push- or upload-only feeds.",
    )
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.CSV)
    column_mapping = models.JSONField(
        default=default_mapping,
        blank=True,
        help_text=(
            'Names in the feed for "sku" and "quantity" (CSV columns or JSON keys), the JSON '
            'key holding the rows ("items") and the feed-level "as_of" key.'
        ),
    )
    as_of_header = models.CharField(
        max_length=100,
        blank=True,
        default="X-Inventory-As-Of",
        validators=[HEADER_NAME_VALIDATOR],
        help_text="Response header carrying the time the levels were taken.",
    )
    auth_header = models.CharField(
        max_length=100,
        blank=True,
        validators=[HEADER_NAME_VALIDATOR],
        help_text="E.g. Authorization.",
    )
    auth_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[ENV_NAME_VALIDATOR],
        help_text=(
            "Name of the environment variable holding the header's value (must start with "
            "FEED_AUTH_ENV_PREFIX); the secret itself is never stored here."
        ),
    )
    interval_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(5), MaxValueValidator(60 * 24 * 7)]
    )
    max_zero_share = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("50"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Hold a run for confirmation if it would zero more than this % of the catalog.",
    )
    is_active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # What the last fetched content was, for conditional requests and unchanged re-runs.
    etag = models.CharField(max_length=255, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    content_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    content_as_of = models.DateTimeField(null=True, blank=True, editable=False)
    applied_as_of = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="As-of time of the newest applied run."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("brand_id", "name", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(url="") | Q(url__startswith="http://") | Q(url__startswith="https://"),
                name="feed_url_http_only",
            ),
            models.CheckConstraint(
                condition=Q(max_zero_share__gte=0) & Q(max_zero_share__lte=100),
                name="feed_zero_share_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StockSyncRun(models.Model):
    """One application of a feed: what it held, what changed, and what was wrong."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        HELD = "held", "Held for confirmation"

    class Origin(models.TextChoices):
        FETCH = "fetch", "Fetched"
        PUSH = "push", "Pushed through the API"
        UPLOAD = "upload", "Uploaded in the admin"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)
    MAX_ERRORS = 50

    feed = models.ForeignKey(InventoryFeed, on_delete=models.CASCADE, related_name="runs")
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.FETCH)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    phase = models.CharField(max_length=40, blank=True, help_text="Progress while running.")
    attempts = models.PositiveSmallIntegerField(default=0)
    not_modified = models.BooleanField(default=False, help_text="The feed had not changed.")
    confirmed = models.BooleanField(default=False, help_text="Applied despite the zero guard.")
    as_of = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    unknown_sku = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    zeroed = models.PositiveIntegerField(default=0)
    below_reserved = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first errors, with rows.")
    conflicts = models.JSONField(default=list, blank=True, help_text="Levels below reserved.")
    message = models.TextField(blank=True)
    payload = models.BinaryField(null=True, blank=True, editable=False)
    payload_as_of = models.DateTimeField(null=True, blank=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["feed"],
                condition=Q(state__in=["queued", "running"]),
                name="feed_one_active_run",
            )
        ]
        indexes = [models.Index(fields=["feed", "state"], name="run_feed_state")]

    def __str__(self) -> str:
        return f"run {self.pk} of feed {self.feed_id} ({self.state})"

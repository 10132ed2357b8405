"""Creators, their storefronts and videos, brand collaborations, and affiliate links."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from shop.models import Brand, Product, Variant

RATE_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class Creator(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creator"
    )
    handle = models.CharField(max_length=30, unique=True)
    display_name = models.CharField(max_length=100)
    bio = models.TextField(blank=True, max_length=1000)
    avatar_url = models.URLField(blank=True, max_length=1000)
    social_accounts = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"platform": "tiktok", "handle": "...", "url": "..."}]',
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("handle",)
        constraints = [
            models.CheckConstraint(
                condition=Q(handle__regex=r"^[a-z0-9_.]{3,30}$"), name="creator_handle_format"
            )
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class Storefront(models.Model):
    creator = models.OneToOneField(Creator, on_delete=models.CASCADE, related_name="storefront")
    title = models.CharField(max_length=120, blank=True)
    theme_color = models.CharField(max_length=7, default="#111111")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(theme_color__regex=r"^#[0-9A-Fa-f]{6}$"), name="storefront_theme_hex"
            )
        ]

    def __str__(self) -> str:
        return self.title or f"@{self.creator_id}"


class Collection(models.Model):
    storefront = models.ForeignKey(Storefront, on_delete=models.CASCADE, related_name="collections")
    title = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.title


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        constraints = [
            models.UniqueConstraint(fields=["collection", "product"], name="collection_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.collection_id}:{self.product_id}"


class Video(models.Model):
    class Platform(models.TextChoices):
        TIKTOK = "tiktok", "TikTok"
        INSTAGRAM = "instagram", "Instagram"
        YOUTUBE = "youtube", "YouTube"
        OTHER = "other", "Other"

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="videos")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    external_id = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=1000)
    caption = models.TextField(blank=True, max_length=2200)
    posted_at = models.DateTimeField(null=True, blank=True)
    thumbnail_url = models.URLField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-posted_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "platform", "external_id"],
                condition=~Q(external_id=""),
                name="video_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id or self.pk}"


class VideoProduct(models.Model):
    """A product shown in a video, at the second it appears."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="tags")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    appears_at_seconds = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "appears_at_seconds", "id")
        constraints = [
            models.UniqueConstraint(fields=["video", "product"], name="video_product_unique")
        ]

    def __str__(self) -> str:
        return f"{self.video_id}@{self.appears_at_seconds}s:{self.product_id}"


class Collaboration(models.Model):
    """A brand's targeted offer to one creator: a higher rate for a window of time."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="collaborations")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="collaborations")
    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: every product of the brand.",
    )
    rate = models.DecimalField(max_digits=5, decimal_places=2, validators=RATE_VALIDATORS)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVITED)
    message = models.TextField(blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    # The brand's limits on codes the creator makes for themselves while it is in force.
    codes_allowed = models.BooleanField(
        default=False, help_text="The creator may make their own discount codes for the brand."
    )
    code_max_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(10),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
        help_text="The largest percentage off a code of theirs may give.",
    )
    code_max_count = models.PositiveSmallIntegerField(
        default=1, help_text="How many codes for the brand they may have in all."
    )
    # Claimed by the invitation email before it is sent, so it is sent once.
    invite_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="collaboration_rate_0_100"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="collaboration_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(code_max_percent__gt=0) & Q(code_max_percent__lte=100),
                name="collaboration_code_percent_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand_id} x {self.creator_id} ({self.status})"


class AffiliateLink(models.Model):
    """A creator's short link to a product; the rate it locked at creation travels with it."""

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="links")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    preferred_variant = models.ForeignKey(
        Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    video = models.ForeignKey(
        Video, on_delete=models.SET_NULL, null=True, blank=True, related_name="links"
    )
    fallback_product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    code = models.CharField(max_length=16, unique=True)
    locked_rate = models.DecimalField(max_digits=5, decimal_places=2, validators=RATE_VALIDATORS)
    lock_ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "product", "video"],
                condition=Q(video__isnull=False),
                name="link_unique_creator_product_video",
            ),
            models.UniqueConstraint(
                fields=["creator", "product"],
                condition=Q(video__isnull=True),
                name="link_unique_creator_product_no_video",
            ),
            models.CheckConstraint(
                condition=Q(locked_rate__gte=0) & Q(locked_rate__lte=100), name="link_rate_0_100"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class BrandCreator(Creator):
    """A creator as brands see them: the admin scopes it to the creators working with a brand."""

    class Meta:
        proxy = True
        verbose_name = "creator working with us"
        verbose_name_plural = "creators working with us"


class Click(models.Model):
    """One tap on an affiliate link, as flushed from Redis (or written directly when degraded).

    The table is partitioned by day on `clicked_at` (migration 0009): its primary key is
    (id, clicked_at) in the database, and a click id is unique together with its time, which
    the click carries from the moment it is taken, so a flush retried after a crash inserts
    the same pair and the conflict drops the duplicate.
    """

    class Source(models.TextChoices):
        WEB = "web", "Web redirect"
        APP = "app", "App"

    click_id = models.CharField(max_length=32)
    link = models.ForeignKey(AffiliateLink, on_delete=models.CASCADE, related_name="clicks")
    client_hash = models.CharField(max_length=64)
    ip_hash = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    is_unique = models.BooleanField(default=True)
    is_bot = models.BooleanField(default=False)
    clicked_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("-clicked_at", "-id")
        indexes = [models.Index(fields=["link", "clicked_at"], name="click_link_time")]
        constraints = [
            models.UniqueConstraint(fields=["click_id", "clicked_at"], name="click_unique_id_time")
        ]

    def __str__(self) -> str:
        return self.click_id


class ClickDaily(models.Model):
    """Daily click counts per link; kept after raw clicks are pruned."""

    link = models.ForeignKey(AffiliateLink, on_delete=models.CASCADE, related_name="daily")
    date = models.DateField()
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    bot_clicks = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-date", "link_id")
        constraints = [models.UniqueConstraint(fields=["link", "date"], name="click_daily_unique")]

    def __str__(self) -> str:
        return f"{self.link_id} {self.date}"


class AttributionCounter(models.Model):
    """Daily counts of what attribution refused: forged, tampered or expired tokens, bots."""

    date = models.DateField()
    kind = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-date", "kind")
        constraints = [
            models.UniqueConstraint(fields=["date", "kind"], name="attribution_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.kind}={self.count}"


class PaymentFingerprint(models.Model):
    """A card a creator is known to pay with (Stripe's card fingerprint, never the number).

    A purchase paid with it through the creator's own link or storefront earns nothing,
    whoever is logged in and whatever email the checkout gave.
    """

    class Source(models.TextChoices):
        PURCHASE = "purchase", "The creator's own purchase while logged in"
        PAYOUT = "payout", "A payout or verification card"

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="payment_fingerprints"
    )
    fingerprint = models.CharField(max_length=64)
    source = models.CharField(max_length=20, choices=Source.choices)
    reference = models.CharField(max_length=100, blank=True, help_text='e.g. "order:42"')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("creator_id", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "fingerprint"], name="payment_fingerprint_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.creator_id} {self.source}"


class CreatorCode(models.Model):
    """A public discount code (`MAYA10`): one brand discount, optionally crediting a creator.

    Stored normalised (trimmed, upper-case), so the unique constraint makes codes
    case-insensitively unique.
    """

    code = models.CharField(max_length=40, unique=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="codes")
    discount = models.ForeignKey("shop.Discount", on_delete=models.PROTECT, related_name="codes")
    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, null=True, blank=True, related_name="codes"
    )
    is_active = models.BooleanField(default=True)
    # Made by the creator within their collaboration's limits, not issued by the brand.
    made_by_creator = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z0-9_-]{3,40}$"), name="creator_code_normalised"
            )
        ]

    def __str__(self) -> str:
        return self.code


class PageVersion(models.Model):
    """The version stored storefront and product pages are stamped with (`creators.pages`).

    One row for the whole catalog and one per creator, set to a new random token in the
    transaction of every write that changes what those pages show, so a page's stamp and the
    rows it was built from change together. A page request reads its versions in the same
    statement as its live stock. A key with no row has never changed: its version is "".
    Rows are never deleted, so a version can never come back to an older value.
    """

    key = models.CharField(max_length=64, primary_key=True)
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.key}={self.token}"

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models


class UserManager(DjangoUserManager["User"]):
    """Users sign in with their email address; there is no username."""

    use_in_migrations = True

    def _create_user_email(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user_email(email, password, **extra)

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user_email(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=100, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.email


class MoneyAuditEntry(models.Model):
    """One money action taken for a brand (a refund, a shipment, a payout, a settlement
    payment, a held commission released or reversed): who, what, how much, when.

    Append-only: written by `accounts.audit.audit_record` only, and the database refuses to
    change or delete a row (a trigger, see the migration). The brand is kept by id: brands
    live in an app above this one, and the record outlives what it names.
    """

    class Action(models.TextChoices):
        REFUND = "refund", "Refund"
        SHIP = "ship", "Shipment"
        PAYOUT = "payout", "Creator payout"
        PAYOUT_MANUAL_PAID = "payout_manual_paid", "Creator payout marked paid"
        PAYOUT_MANUAL_FAILED = "payout_manual_failed", "Creator payout marked failed"
        SETTLEMENT_PAYMENT = "settlement_payment", "Settlement payment"
        SETTLEMENT_MANUAL_PAID = "settlement_manual_paid", "Settlement marked paid"
        SETTLEMENT_MANUAL_FAILED = "settlement_manual_failed", "Settlement marked failed"
        COMMISSION_RELEASE = "commission_release", "Held commission released"
        COMMISSION_REVERSE = "commission_reverse", "Held commission reversed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    brand_id = models.BigIntegerField(db_index=True)
    # PROTECT: who moved money is never erased; deactivate the account instead.
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(
        max_length=254, help_text="The actor's email then, or the system part that acted."
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    subject_type = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=64)
    subject_label = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "money audit entry"
        verbose_name_plural = "money audit"
        indexes = [models.Index(fields=["brand_id", "-created_at"], name="money_audit_brand_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | ~models.Q(currency=""),
                name="money_audit_amount_has_currency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.subject_label}"

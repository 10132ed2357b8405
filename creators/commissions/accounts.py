"""A creator's payout account: a Stripe Connect Express account and its onboarding link.

Stripe is called outside any transaction, with idempotency keys derived from our ids; the
account's status follows Stripe's `account.updated` events, re-fetching the account each
time so that the order and number of events never matter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import ApplicationError
from creators.commissions import conf
from creators.commissions.errors import CreatorSuspended, PayoutAccountIsManual
from creators.commissions.models import PayoutAccount
from creators.models import Creator
from orders.stripe.client import stripe_client, upstream_error


@dataclass(frozen=True)
class OnboardingLink:
    url: str
    expires_at: datetime


def _stripe_failure(exc: stripe.StripeError) -> ApplicationError:
    error = upstream_error(exc)
    if error.code == "payment_provider_unavailable":
        error.code = "payout_provider_unavailable"
        error.message = "The payout provider cannot be reached; try again."
    elif error.code == "payment_provider_error":
        error.code = "payout_provider_error"
        error.message = "The payout provider returned an error; try again."
    return error


def _account_create(creator: Creator) -> PayoutAccount:
    try:
        remote = stripe_client().v1.accounts.create(
            params={
                "type": "express",
                "email": creator.user.email,
                "capabilities": {"transfers": {"requested": True}},
                "business_type": "individual",
                "metadata": {"creator_id": str(creator.pk), "handle": creator.handle},
            },
            options={"idempotency_key": f"tribe-creator-{creator.pk}-connect-account"},
        )
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from exc
    try:
        with transaction.atomic(durable=True):
            return PayoutAccount.objects.create(
                creator=creator,
                provider=PayoutAccount.Provider.STRIPE,
                stripe_account_id=remote.id,
                status=PayoutAccount.Status.ONBOARDING,
            )
    except IntegrityError:
        # A concurrent request stored it first (the idempotency key gave it the same account).
        return PayoutAccount.objects.get(creator=creator)


def payout_account_connect(*, creator: Creator) -> tuple[PayoutAccount, OnboardingLink, bool]:
    """The creator's Connect account (created on first call) and a fresh onboarding link.

    Returns (account, link, created). Refused for a suspended creator and for creators paid
    by bank transfer.
    """
    if creator.status != Creator.Status.ACTIVE:
        raise CreatorSuspended()
    account = PayoutAccount.objects.filter(creator=creator).first()
    created = account is None
    if account is None:
        account = _account_create(creator)
    if account.provider != PayoutAccount.Provider.STRIPE or not account.stripe_account_id:
        raise PayoutAccountIsManual()
    refresh_url, return_url = conf.connect_urls()
    kind = "account_update" if account.details_submitted else "account_onboarding"
    # Links expire within minutes: one per account, kind and minute is plenty.
    minute = timezone.now().strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(f"{kind}|{refresh_url}|{return_url}".encode()).hexdigest()[:12]
    try:
        link = stripe_client().v1.account_links.create(
            params={
                "account": account.stripe_account_id,
                "type": kind,
                "refresh_url": refresh_url,
                "return_url": return_url,
            },
            options={
                "idempotency_key": f"tribe-payout-account-{account.pk}-link-{minute}-{digest}"
            },
        )
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from exc
    expires_at = datetime.fromtimestamp(link.expires_at, tz=UTC)
    return account, OnboardingLink(url=link.url, expires_at=expires_at), created


def _status_of(remote: Any) -> tuple[str, str]:
    requirements = remote.get("requirements") or {}
    reason = requirements.get("disabled_reason") or ""
    capabilities = remote.get("capabilities") or {}
    if (
        remote.get("payouts_enabled")
        and remote.get("details_submitted")
        and capabilities.get("transfers") == "active"
    ):
        return PayoutAccount.Status.READY, ""
    if remote.get("details_submitted"):
        return PayoutAccount.Status.RESTRICTED, reason or "requirements.pending_verification"
    return PayoutAccount.Status.ONBOARDING, reason


def payout_account_sync(*, stripe_account_id: str) -> PayoutAccount | None:
    """Bring our copy of a Connect account in step with Stripe's (re-fetched, not the event)."""
    if not PayoutAccount.objects.filter(stripe_account_id=stripe_account_id).exists():
        return None
    remote = stripe_client().v1.accounts.retrieve(stripe_account_id).to_dict()
    status, reason = _status_of(remote)
    requirements = remote.get("requirements") or {}
    with transaction.atomic(durable=True):
        PayoutAccount.objects.filter(stripe_account_id=stripe_account_id).update(
            status=status,
            payouts_enabled=bool(remote.get("payouts_enabled")),
            details_submitted=bool(remote.get("details_submitted")),
            disabled_reason=reason,
            currently_due=list(requirements.get("currently_due") or []),
            synced_at=timezone.now(),
            updated_at=timezone.now(),
        )
    return PayoutAccount.objects.get(stripe_account_id=stripe_account_id)


def stripe_account_event_handle(payload: dict[str, Any]) -> None:
    """The webhook handler for `account.*` events (orders.services.payments.HANDLERS)."""
    obj = (payload.get("data") or {}).get("object") or {}
    if obj.get("object") == "account" and obj.get("id"):
        payout_account_sync(stripe_account_id=obj["id"])

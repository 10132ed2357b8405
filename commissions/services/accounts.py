"""Payout accounts: a creator's, or a brand's, Stripe Connect Express account and its link.

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
from stripe.params import AccountCreateParams

from commissions import conf
from commissions.errors import CreatorSuspended, PayoutAccountIsManual
from commissions.models import BrandPayoutAccount, ConnectedAccount, PayoutAccount
from common.errors import ApplicationError
from creators.models import Creator
from payments.stripe.client import stripe_client, upstream_error
from shop.models import Brand


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


def payout_account_connect(
    *, creator: Creator, urls: tuple[str, str] | None = None
) -> tuple[PayoutAccount, OnboardingLink, bool]:
    """The creator's Connect account (created on first call) and a fresh onboarding link.

    Returns (account, link, created). `urls` (refresh, return), already checked by the
    caller, replace the default pages. Refused for a suspended creator and for creators
    paid by bank transfer.
    """
    if creator.status != Creator.Status.ACTIVE:
        raise CreatorSuspended()
    account = PayoutAccount.objects.filter(creator=creator).first()
    created = account is None
    if account is None:
        account = _account_create(creator)
    if account.provider != PayoutAccount.Provider.STRIPE or not account.stripe_account_id:
        raise PayoutAccountIsManual()
    link = _onboarding_link(
        account.stripe_account_id,
        key=f"tribe-payout-account-{account.pk}",
        details_submitted=account.details_submitted,
        urls=urls or conf.connect_urls(),
    )
    return account, link, created


def _onboarding_link(
    stripe_account_id: str, *, key: str, details_submitted: bool, urls: tuple[str, str]
) -> OnboardingLink:
    refresh_url, return_url = urls
    kind = "account_update" if details_submitted else "account_onboarding"
    # Links expire within minutes: one per account, kind and minute is plenty.
    minute = timezone.now().strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(f"{kind}|{refresh_url}|{return_url}".encode()).hexdigest()[:12]
    try:
        link = stripe_client().v1.account_links.create(
            params={
                "account": stripe_account_id,
                "type": kind,
                "refresh_url": refresh_url,
                "return_url": return_url,
            },
            options={"idempotency_key": f"{key}-link-{minute}-{digest}"},
        )
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from exc
    return OnboardingLink(url=link.url, expires_at=datetime.fromtimestamp(link.expires_at, tz=UTC))


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


def _sync(model: type[ConnectedAccount], stripe_account_id: str) -> bool:
    """Bring our copy of a Connect account in step with Stripe's; False if it is not ours."""
    if not model._default_manager.filter(stripe_account_id=stripe_account_id).exists():
        return False
    remote = stripe_client().v1.accounts.retrieve(stripe_account_id).to_dict()
    status, reason = _status_of(remote)
    requirements = remote.get("requirements") or {}
    with transaction.atomic(durable=True):
        model._default_manager.filter(stripe_account_id=stripe_account_id).update(
            status=status,
            payouts_enabled=bool(remote.get("payouts_enabled")),
            details_submitted=bool(remote.get("details_submitted")),
            disabled_reason=reason,
            currently_due=list(requirements.get("currently_due") or []),
            synced_at=timezone.now(),
            updated_at=timezone.now(),
        )
    return True


def payout_account_sync(*, stripe_account_id: str) -> PayoutAccount | None:
    """Bring a creator's account in step with Stripe's (re-fetched, not the event)."""
    if not _sync(PayoutAccount, stripe_account_id):
        return None
    return PayoutAccount.objects.get(stripe_account_id=stripe_account_id)


def brand_payout_account_sync(*, stripe_account_id: str) -> BrandPayoutAccount | None:
    """Bring a brand's account in step with Stripe's (re-fetched, not the event)."""
    if not _sync(BrandPayoutAccount, stripe_account_id):
        return None
    return BrandPayoutAccount.objects.get(stripe_account_id=stripe_account_id)


def stripe_account_event_handle(payload: dict[str, Any]) -> None:
    """The webhook handler for `account.*` events, registered with payments in CreatorsConfig."""
    obj = (payload.get("data") or {}).get("object") or {}
    if obj.get("object") == "account" and obj.get("id"):
        payout_account_sync(stripe_account_id=obj["id"])
        brand_payout_account_sync(stripe_account_id=obj["id"])


# --- Brands: the account Tribe pays settlements to, set up by the platform in the admin ---


def brand_payout_account_connect(*, brand: Brand) -> tuple[BrandPayoutAccount, OnboardingLink]:
    """The brand's Connect account (created at Stripe on first call) and a fresh onboarding
    link for the brand to finish. Refused for a brand paid by bank transfer."""
    account, _ = BrandPayoutAccount.objects.get_or_create(brand=brand)
    if account.provider != BrandPayoutAccount.Provider.STRIPE:
        raise PayoutAccountIsManual("This brand is paid by bank transfer; there is no account.")
    stripe_id = account.stripe_account_id
    if not stripe_id:
        stripe_id = _brand_account_create(brand)
        with transaction.atomic(durable=True):
            # A concurrent call got the same account from Stripe (same key): either stores it.
            BrandPayoutAccount.objects.filter(pk=account.pk, stripe_account_id=None).update(
                stripe_account_id=stripe_id, updated_at=timezone.now()
            )
        account.refresh_from_db()
    link = _onboarding_link(
        stripe_id,
        key=f"tribe-brand-payout-account-{account.pk}",
        details_submitted=account.details_submitted,
        urls=conf.brand_connect_urls(),
    )
    return account, link


def _brand_account_create(brand: Brand) -> str:
    params: AccountCreateParams = {
        "type": "express",
        "capabilities": {"transfers": {"requested": True}},
        "business_type": "company",
        "metadata": {"brand_id": str(brand.pk), "slug": brand.slug},
    }
    if brand.contact_email:
        params["email"] = brand.contact_email
    try:
        remote = stripe_client().v1.accounts.create(
            params=params,
            options={"idempotency_key": f"tribe-brand-{brand.pk}-connect-account"},
        )
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from exc
    return str(remote.id)

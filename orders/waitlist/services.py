"""Joining, leaving and being told: a waitlist that keeps the creator's credit.

A shopper joins a sold-out variant's waitlist with the attribution of the link they came
from. When stock returns (a feed, an admin edit, a refund), the scan opens a restock and
tells as many shoppers as there are units, in the order they joined; each holds a place
until `WAITLIST_NOTIFY_HOLD_MINUTES` pass or they buy, and then the next in line is told
while units remain. Every email carries a freshly issued token for the original link, so
the creator's attribution window starts again at the notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from common.errors import Conflict, NotFound
from common.outbox import events_record
from common.tasks_queue import task_send
from creators.attribution.tokens import (
    Claims,
    TokenRejected,
    token_for_click,
    token_for_storefront,
    token_read,
)
from creators.selectors.attribution import attribution_token_choose
from creators.selectors.demand import creator_contacts, creator_contacts_for_links
from orders.events import WAITLIST_NOTIFIED
from orders.models import OrderLine
from orders.models.waitlist import WaitlistEntry, WaitlistNotification, WaitlistRestock
from orders.state import PAID_STATUSES
from shop.models import Product, Variant
from shop.selectors import in_stock_filter, variants_in_stock

E = WaitlistEntry.Status
UNSUBSCRIBE_SALT = "tribe.waitlist.unsubscribe.v1"


@dataclass(frozen=True)
class JoinResult:
    entry: WaitlistEntry
    created: bool


def _variant_for_waitlist(variant_id: int) -> Variant:
    variant = (
        Variant.objects.select_related("product__brand")
        .filter(
            pk=variant_id,
            product__status=Product.Status.ACTIVE,
            product__brand__is_active=True,
        )
        .first()
    )
    if variant is None:
        raise NotFound("No such variant.", code="variant_not_found")
    return variant


def _claims_within_window(token: str, variant: Variant, at: datetime) -> Claims | None:
    """The token's claims if it still credits now; a stale token must not be revived."""
    if not token:
        return None
    try:
        claims = token_read(token)
    except TokenRejected:
        return None
    window = timedelta(days=variant.product.brand.attribution_window_days)
    return claims if at - claims.issued_at <= window else None


def waitlist_join(*, variant_id: int, email: str, tokens: list[str]) -> JoinResult:
    """Put a shopper on a sold-out variant's waitlist; the same email again is a no-op."""
    now = timezone.now()
    email = email.strip().lower()
    variant = _variant_for_waitlist(variant_id)
    if variant.available > 0:
        raise Conflict("This variant is in stock: buy it now.", code="in_stock")
    token = attribution_token_choose(tokens=tokens, product_id=variant.product_id)
    claims = _claims_within_window(token, variant, now)
    attribution: dict[str, object] = {
        "attribution_kind": claims.kind if claims else "",
        "attribution_click_id": (claims.click_id or "") if claims else "",
        "attribution_link_id": claims.link_id if claims else None,
        "attribution_creator_id": claims.creator_id if claims else None,
    }
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                entry, created = WaitlistEntry.objects.get_or_create(
                    variant_id=variant.pk, email=email, defaults=attribution
                )
        except IntegrityError:  # joined twice at once: the other request made it
            entry, created = WaitlistEntry.objects.get(variant_id=variant.pk, email=email), False
        if not created:
            changed: list[str] = []
            if entry.status == E.UNSUBSCRIBED:
                entry.status, entry.unsubscribed_at = E.WAITING, None
                changed += ["status", "unsubscribed_at"]
            if claims is not None:  # the last link the shopper came through earns the credit
                for field, value in attribution.items():
                    setattr(entry, field, value)
                changed += list(attribution)
            if changed:
                entry.save(update_fields=changed)
    return JoinResult(entry=entry, created=created)


def unsubscribe_token(entry_id: int) -> str:
    return signing.dumps({"e": entry_id}, salt=UNSUBSCRIBE_SALT)


def waitlist_unsubscribe(*, token: str) -> WaitlistEntry:
    """Leave the waitlist through the signed link of an email; doing it twice is harmless."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        entry_id = int(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("That unsubscribe link is not valid.", code="unsubscribe_invalid") from None
    with transaction.atomic(durable=True):
        entry = WaitlistEntry.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None:
            raise NotFound("That unsubscribe link is not valid.", code="unsubscribe_invalid")
        if entry.status != E.UNSUBSCRIBED:
            entry.status, entry.unsubscribed_at = E.UNSUBSCRIBED, timezone.now()
            entry.save(update_fields=["status", "unsubscribed_at"])
    return entry


def _active_entries() -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(status__in=WaitlistEntry.ACTIVE_STATUSES)


def _untold() -> QuerySet[WaitlistEntry]:
    """Active entries not yet told of their variant's open restock (if there is one)."""
    told = WaitlistNotification.objects.filter(
        entry_id=OuterRef("pk"), restock__closed_at__isnull=True
    )
    return _active_entries().filter(~Exists(told))


def waitlist_scan(*, now: datetime | None = None) -> list[int]:
    """Find variants with stock and waiting shoppers; queue a notify task for each.

    Three queries whatever the number of variants: mark buyers, close restocks that sold
    out again, and find the variants to notify for.
    """
    now = now or timezone.now()
    # A notified shopper who bought the variant since is done and frees their place.
    bought = OrderLine.objects.filter(
        variant_id=OuterRef("variant_id"),
        order__email__iexact=OuterRef("email"),
        order__status__in=PAID_STATUSES,
        order__paid_at__gte=OuterRef("notified_at"),
    )
    WaitlistEntry.objects.filter(status=E.NOTIFIED).filter(Exists(bought)).update(
        status=E.PURCHASED
    )
    WaitlistRestock.objects.filter(~in_stock_filter("variant__"), closed_at__isnull=True).update(
        closed_at=now
    )
    variant_ids = list(
        variants_in_stock()
        .filter(Exists(_untold().filter(variant_id=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for variant_id in variant_ids:  # a lost one is found again by the next scan
        task_send("orders.tasks.waitlist_notify_variant", variant_id)
    return variant_ids


def _fresh_token(entry: WaitlistEntry) -> str:
    """A new token for the original link: the signer stamps now as its issue time."""
    if entry.attribution_kind == "link" and entry.attribution_link_id is not None:
        return token_for_click(
            click_id=entry.attribution_click_id, link_id=entry.attribution_link_id
        )
    if entry.attribution_kind == "storefront" and entry.attribution_creator_id is not None:
        return token_for_storefront(creator_id=entry.attribution_creator_id)
    return ""


def waitlist_notify_variant(*, variant_id: int, now: datetime | None = None) -> list[int]:
    """Tell the next shoppers in line, as many as units are free; returns notification ids."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # The variant's row lock serialises notify runs of one variant (not checkouts:
        # reservations update the row with a conditional UPDATE that waits only briefly).
        variant = Variant.objects.select_for_update(of=("self",)).filter(pk=variant_id).first()
        if variant is None or variant.available <= 0:
            return []
        restock = WaitlistRestock.objects.filter(
            variant_id=variant_id, closed_at__isnull=True
        ).first()
        if restock is None:
            last = WaitlistRestock.objects.filter(variant_id=variant_id).aggregate(
                m=Max("sequence")
            )
            restock = WaitlistRestock.objects.create(
                variant_id=variant_id, sequence=(last["m"] or 0) + 1, opened_at=now
            )
        holding = WaitlistNotification.objects.filter(
            restock=restock, lapses_at__gt=now, entry__status=E.NOTIFIED
        ).count()
        budget = variant.available - holding
        if budget <= 0:
            return []
        entries = list(
            _active_entries()
            .filter(variant_id=variant_id)
            .exclude(notifications__restock=restock)
            .order_by("created_at", "id")[:budget]
        )
        if not entries:
            return []
        lapses_at = now + timedelta(minutes=settings.WAITLIST_NOTIFY_HOLD_MINUTES)
        notifications = WaitlistNotification.objects.bulk_create(
            [
                WaitlistNotification(
                    entry=entry,
                    restock=restock,
                    attribution_token=_fresh_token(entry),
                    created_at=now,
                    lapses_at=lapses_at,
                )
                for entry in entries
            ]
        )
        WaitlistEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
            status=E.NOTIFIED, notified_at=now
        )
        ids = [n.pk for n in notifications]
        # The shopper's place is held from now: the email must not be lost with a message.
        events_record(name=WAITLIST_NOTIFIED, payloads=[{"notification_id": i} for i in ids])
    return ids


def _product_url(entry: WaitlistEntry, token: str, product_id: int) -> str:
    handle = ""
    if entry.attribution_kind == "link" and entry.attribution_link_id is not None:
        contact = creator_contacts_for_links(link_ids=[entry.attribution_link_id]).get(
            entry.attribution_link_id
        )
        handle = contact.handle if contact else ""
    elif entry.attribution_creator_id is not None:
        contact = creator_contacts(creator_ids=[entry.attribution_creator_id]).get(
            entry.attribution_creator_id
        )
        handle = contact.handle if contact else ""
    if not handle:  # no creator to credit (or gone): the product's API page is all we have
        return f"{settings.SITE_URL}/api/v1/products/{product_id}/"
    query: dict[str, str | int] = {"product": product_id}
    if token:
        query["atk"] = token
    return f"{settings.SITE_URL}/@{handle}?{urlencode(query)}#product-{product_id}"


def waitlist_notification_send(*, notification_id: int) -> bool:
    """Email one notification, once; an unsubscribed shopper is not emailed."""
    notification = (
        WaitlistNotification.objects.select_related("entry__variant__product__brand")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.sent_at is not None:
        return False
    entry = notification.entry
    if entry.status == E.UNSUBSCRIBED:
        return False
    variant = entry.variant
    product = variant.product
    unsubscribe_url = f"{settings.SITE_URL}/waitlist/unsubscribe/{unsubscribe_token(entry.pk)}/"
    context = {
        "product": product,
        "variant": variant,
        "brand": product.brand,
        "product_url": _product_url(entry, notification.attribution_token, product.pk),
        "unsubscribe_url": unsubscribe_url,
        "lapses_at": notification.lapses_at,
        "site_url": settings.SITE_URL,
    }
    message = EmailMultiAlternatives(
        subject=f"{product.title} is back in stock",
        body=render_to_string("orders/emails/waitlist_back.txt", context).strip() + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[entry.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string("orders/emails/waitlist_back.html", context), "text/html"
    )
    # Claim before sending: a concurrent run of the same task sends nothing.
    claimed = WaitlistNotification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return False
    try:
        message.send()
    except Exception:
        WaitlistNotification.objects.filter(pk=notification.pk).update(sent_at=None)
        raise
    return True

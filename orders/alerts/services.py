"""Sell-out alerts: project each selling variant's time to sell out from the last hour.

A variant that sold `u` units in the window and has `a` available sells out in
`a / (u / window minutes)` minutes at that pace. Below `SELLOUT_ALERT_THRESHOLD_MINUTES`
an alert opens (one open alert per variant, the database says so), the brand's endpoints
get a `variant.selling_out` webhook event, and the brand's members and the creators whose
links drove the window's sales are emailed once each (those creators also see it under
`/api/v1/creators/me/alerts/`). A scan that finds an open alert's variant with nothing
available marks it sold out and sends `variant.sold_out`. The alert resolves when the
variant is restocked (more available than when it opened); only then may a new alert open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from common.outbox import events_record
from creators.selectors.demand import creator_contacts_for_links
from orders.alerts.webhooks import sellout_webhooks_emit
from orders.events import SELLOUT_ALERT_OPENED
from orders.models import OrderLine
from orders.models.alerts import SellOutAlert, SellOutAlertEmail
from orders.services.notifications import _brand_emails
from orders.state import PAID_STATUSES
from shop.selectors import VariantSales, variant_sales_since


@dataclass(frozen=True)
class ScanResult:
    opened: list[int]
    resolved: int


def _minutes_to_sell_out(sales: VariantSales, window_minutes: int) -> Decimal:
    per_minute = Decimal(sales.units) / Decimal(window_minutes)
    return (Decimal(sales.available) / per_minute).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def sellout_scan(*, now: datetime | None = None) -> ScanResult:
    """Resolve restocked alerts, mark sold-out ones, open new ones; a fixed number of queries.

    The brand's webhook events (`variant.selling_out`, `variant.sold_out`) are written in the
    same transaction, so they exist exactly when the alert (or its sold-out mark) does.
    """
    now = now or timezone.now()
    window = int(settings.SELLOUT_VELOCITY_WINDOW_MINUTES)
    threshold = Decimal(settings.SELLOUT_ALERT_THRESHOLD_MINUTES)
    since = now - timedelta(minutes=window)
    with transaction.atomic(durable=True):
        open_alerts = list(
            SellOutAlert.objects.filter(resolved_at__isnull=True).select_related("variant__product")
        )
        restocked = {a.pk for a in open_alerts if a.variant.available > a.available_at_alert}
        if restocked:
            SellOutAlert.objects.filter(pk__in=restocked).update(resolved_at=now)
        still_open = [a for a in open_alerts if a.pk not in restocked]
        sold_out = _mark_sold_out(still_open, now)
        opened = _open_alerts(
            since=since,
            now=now,
            window=window,
            threshold=threshold,
            skip_variants={a.variant_id for a in still_open},
        )
        sellout_webhooks_emit(opened=opened, sold_out=sold_out, window_minutes=window, now=now)
        # Opened once: the emails must not be lost with a message.
        events_record(name=SELLOUT_ALERT_OPENED, payloads=[{"alert_id": a.pk} for a in opened])
    return ScanResult(opened=[a.pk for a in opened], resolved=len(restocked))


def _mark_sold_out(alerts: Sequence[SellOutAlert], now: datetime) -> list[SellOutAlert]:
    """Mark the open alerts whose variant has nothing available as sold out."""
    empty = [a for a in alerts if a.sold_out_at is None and a.variant.available == 0]
    if empty:
        SellOutAlert.objects.filter(pk__in=[a.pk for a in empty], sold_out_at__isnull=True).update(
            sold_out_at=now
        )
        for alert in empty:
            alert.sold_out_at = now
    return empty


def _open_alerts(
    *, since: datetime, now: datetime, window: int, threshold: Decimal, skip_variants: set[int]
) -> list[SellOutAlert]:
    """Open an alert for every variant selling out within the threshold; [] if beaten to it."""
    due = [
        (sales, minutes)
        for sales in variant_sales_since(since=since)
        if sales.variant_id not in skip_variants
        and (minutes := _minutes_to_sell_out(sales, window)) < threshold
    ]
    if not due:
        return []
    drivers = _driving_links([s.variant_id for s, _ in due], since)
    alerts = [
        SellOutAlert(
            brand_id=sales.brand_id,
            variant_id=sales.variant_id,
            units_last_hour=sales.units,
            available_at_alert=sales.available,
            minutes_to_sell_out=minutes,
            link_ids=sorted(drivers.get(sales.variant_id, {})),
            creator_ids=sorted(set(drivers.get(sales.variant_id, {}).values())),
            opened_at=now,
            sold_out_at=now if sales.available == 0 else None,
        )
        for sales, minutes in due
    ]
    try:
        with transaction.atomic():
            # PostgreSQL returns the new ids: the alerts come back with their pk set.
            return SellOutAlert.objects.bulk_create(alerts)
    except IntegrityError:  # another scan opened them first: it tells everyone
        return []


def _driving_links(variant_ids: Sequence[int], since: datetime) -> dict[int, dict[int, int]]:
    """Variant id -> {link id: creator id} of the attributed paid lines since `since`."""
    rows = (
        OrderLine.objects.filter(
            variant_id__in=variant_ids,
            order__status__in=PAID_STATUSES,
            order__paid_at__gte=since,
            attributed_link_id__isnull=False,
            attributed_creator_id__isnull=False,
        )
        .values_list("variant_id", "attributed_link_id", "attributed_creator_id")
        .distinct()
    )
    drivers: dict[int, dict[int, int]] = {}
    for variant_id, link_id, creator_id in rows:
        if link_id is not None and creator_id is not None:
            drivers.setdefault(variant_id, {})[link_id] = creator_id
    return drivers


def _send_once(
    *,
    alert: SellOutAlert,
    key: str,
    recipients: list[str],
    template: str,
    subject: str,
    context: dict[str, Any],
) -> bool:
    if not recipients:
        return False
    email, _ = SellOutAlertEmail.objects.get_or_create(
        alert=alert, key=key, defaults={"recipients": recipients}
    )
    claimed = SellOutAlertEmail.objects.filter(pk=email.pk, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return False
    context = {**context, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"orders/emails/{template}.txt", context).strip() + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(
        render_to_string(f"orders/emails/{template}.html", context), "text/html"
    )
    try:
        message.send()
    except Exception:
        SellOutAlertEmail.objects.filter(pk=email.pk).update(sent_at=None)
        raise
    return True


def sellout_alert_notify(*, alert_id: int) -> int:
    """Email the brand's members and each driving creator about one alert, once each."""
    alert = (
        SellOutAlert.objects.select_related("brand", "variant__product").filter(pk=alert_id).first()
    )
    if alert is None:
        return 0
    context: dict[str, Any] = {
        "alert": alert,
        "brand": alert.brand,
        "variant": alert.variant,
        "product": alert.variant.product,
    }
    subject = f"{alert.variant.product.title} may sell out in {alert.minutes_to_sell_out} minutes"
    sent = int(
        _send_once(
            alert=alert,
            key="brand",
            recipients=_brand_emails([alert.brand_id]).get(alert.brand_id, []),
            template="sellout_brand",
            subject=subject,
            context=context,
        )
    )
    contacts = creator_contacts_for_links(link_ids=alert.link_ids)
    by_creator = {c.creator_id: c for c in contacts.values()}
    for creator_id, contact in sorted(by_creator.items()):
        sent += _send_once(
            alert=alert,
            key=f"creator:{creator_id}",
            recipients=[contact.email] if contact.email else [],
            template="sellout_creator",
            subject=subject,
            context={**context, "creator": contact},
        )
    return sent

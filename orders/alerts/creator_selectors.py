"""A creator's sell-out alerts: the variants their links are selling out, while it lasts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from common.errors import NotFound
from creators.models import AffiliateLink, Creator
from orders.alerts.selectors import sellout_alert_queryset

if TYPE_CHECKING:
    from orders.models.alerts import SellOutAlert


@dataclass(frozen=True)
class DrivingLink:
    id: int
    code: str
    video_id: int | None
    fallback_product_id: int | None


def creator_alert_queryset(*, creator: Creator) -> QuerySet[SellOutAlert]:
    """The creator's active alerts (not restocked yet), with variant, product and brand."""
    return sellout_alert_queryset(creator_id=creator.pk, active_only=True)


def creator_alert_get(*, creator: Creator, alert_id: int) -> SellOutAlert:
    """One of the creator's alerts, active or resolved; 404 `sellout_alert_not_found`."""
    alert = sellout_alert_queryset(creator_id=creator.pk, active_only=False).filter(pk=alert_id)
    found = alert.first()
    if found is None:
        raise NotFound("No such sell-out alert.", code="sellout_alert_not_found")
    return found


def creator_alert_links(
    *, creator: Creator, alerts: Iterable[SellOutAlert]
) -> dict[int, list[DrivingLink]]:
    """Alert id -> the creator's own links among those that drove it, in one query."""
    alerts = list(alerts)
    wanted = {link_id for alert in alerts for link_id in alert.link_ids}
    if not wanted:
        return {}
    links = {
        link.pk: DrivingLink(
            id=link.pk,
            code=link.code,
            video_id=link.video_id,
            fallback_product_id=link.fallback_product_id,
        )
        for link in AffiliateLink.objects.filter(creator=creator, pk__in=sorted(wanted)).only(
            "pk", "code", "video_id", "fallback_product_id"
        )
    }
    return {alert.pk: [links[i] for i in sorted(alert.link_ids) if i in links] for alert in alerts}

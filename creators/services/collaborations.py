"""Brand invitations to a targeted collaboration, and the creator's answer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from common.errors import Conflict, NotFound, ValidationFailed
from common.outbox import event_record
from creators.models import Collaboration, Creator
from creators.services.notifications import COLLABORATION_INVITED
from shop.models import Brand, Product


def collaboration_invite(
    *,
    brand: Brand,
    creator: Creator,
    rate: Decimal,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    product: Product | None = None,
    invited_by: User | None = None,
    message: str = "",
    codes_allowed: bool = False,
    code_max_percent: Decimal = Decimal(10),
    code_max_count: int = 1,
) -> Collaboration:
    if not Decimal(0) <= rate <= Decimal(100):
        raise ValidationFailed(
            "A rate is a percentage between 0 and 100.",
            fields={"rate": [{"code": "out_of_range", "message": "0 to 100."}]},
        )
    if product is not None and product.brand_id != brand.pk:
        raise ValidationFailed(
            "The product must be the brand's own.",
            fields={"product": [{"code": "invalid", "message": "Another brand's product."}]},
        )
    if not Decimal(0) < code_max_percent <= Decimal(100):
        raise ValidationFailed(
            "A code's percentage cap is above 0 and at most 100.",
            fields={"code_max_percent": [{"code": "out_of_range", "message": "0 to 100."}]},
        )
    start = valid_from or timezone.now()
    if valid_until is not None and valid_until <= start:
        raise ValidationFailed(
            "The collaboration must end after it starts.",
            fields={"valid_until": [{"code": "invalid", "message": "Before the start."}]},
        )
    # It composes, so the admin may call it inside its own transaction.
    with transaction.atomic():
        collaboration = Collaboration.objects.create(
            brand=brand,
            creator=creator,
            product=product,
            rate=rate,
            valid_from=start,
            valid_until=valid_until,
            invited_by=invited_by,
            message=message,
            codes_allowed=codes_allowed,
            code_max_percent=code_max_percent,
            code_max_count=code_max_count,
        )
        # The creator hears of it once it commits, even if the broker is down then.
        event_record(
            name=COLLABORATION_INVITED,
            payload={"collaboration_id": collaboration.pk},
            key=f"collaboration:{collaboration.pk}",
        )
        return collaboration


def collaboration_respond(
    *, creator: Creator, collaboration_id: int, accept: bool
) -> Collaboration:
    with transaction.atomic(durable=True):
        collaboration = (
            Collaboration.objects.select_for_update()
            .filter(pk=collaboration_id, creator=creator)
            .first()
        )
        if collaboration is None:
            raise NotFound("No such invitation.", code="collaboration_not_found")
        if collaboration.status != Collaboration.Status.INVITED:
            raise Conflict(
                f"This invitation is already {collaboration.status}.",
                code="collaboration_closed",
            )
        collaboration.status = (
            Collaboration.Status.ACCEPTED if accept else Collaboration.Status.DECLINED
        )
        collaboration.responded_at = timezone.now()
        collaboration.save(update_fields=["status", "responded_at"])
        return collaboration


def collaboration_revoke(*, collaboration: Collaboration) -> Collaboration:
    """End a collaboration; links keep the rate they locked while their lock holds."""
    with transaction.atomic(durable=True):
        Collaboration.objects.filter(pk=collaboration.pk).exclude(
            status=Collaboration.Status.REVOKED
        ).update(status=Collaboration.Status.REVOKED, responded_at=timezone.now())
    collaboration.refresh_from_db()
    return collaboration

"""Emails to creators: a brand's invitation to collaborate.

Sent by an outbox handler after the invitation commits (`COLLABORATION_INVITED`). The
handler leaves the process, so it is not atomic: it claims the invitation's `invite_sent_at`
before it sends, and a second run sends nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from common.outbox import handler_register
from common.outbox.models import OutboxEvent
from creators.models import Collaboration

COLLABORATION_INVITED = "creators.collaboration_invited"


def collaboration_invite_notify(*, collaboration_id: int) -> bool:
    """Email the creator a brand's invitation once; False when sent before or moot."""
    claimed = Collaboration.objects.filter(pk=collaboration_id, invite_sent_at__isnull=True).update(
        invite_sent_at=timezone.now()
    )
    if not claimed:
        return False
    collaboration = (
        Collaboration.objects.select_related("brand", "creator__user", "product")
        .filter(pk=collaboration_id)
        .first()
    )
    if collaboration is None or collaboration.status != Collaboration.Status.INVITED:
        return False  # answered or revoked before the email went: nothing to tell
    email = collaboration.creator.user.email
    if not email:
        return False
    context = {"collaboration": collaboration, "site_url": settings.SITE_URL}
    try:
        send_mail(
            subject=f"{collaboration.brand.name} invites you to collaborate at "
            f"{collaboration.rate}%",
            message=render_to_string("creators/emails/collaboration_invited.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[email],
        )
    except Exception:
        Collaboration.objects.filter(pk=collaboration_id).update(invite_sent_at=None)
        raise
    return True


def on_collaboration_invited(event: OutboxEvent) -> bool:
    return collaboration_invite_notify(collaboration_id=int(event.payload["collaboration_id"]))


def register() -> None:
    """Register the handler; its name is stored on deliveries and never changes."""
    handler_register(
        event=COLLABORATION_INVITED,
        name="creators.notify_collaboration_invited",
        fn=on_collaboration_invited,
        atomic=False,
    )

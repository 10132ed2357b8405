"""A creator hears of a brand's invitation by email, once, after it commits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.outbox.models import OutboxDelivery
from creators.models import Collaboration
from creators.services.collaborations import collaboration_invite, collaboration_respond
from creators.services.notifications import collaboration_invite_notify
from tests.creators.factories import CreatorFactory
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db


def invite(creator, **kwargs) -> Collaboration:
    return collaboration_invite(
        brand=BrandFactory.create(name="Glow Labs"),
        creator=creator,
        rate=Decimal("22.50"),
        message="Come glow with us",
        **kwargs,
    )


def test_an_invitation_emails_the_creator_once_it_commits(
    django_capture_on_commit_callbacks, mailoutbox
):
    creator = CreatorFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        collaboration = invite(creator)
    assert [m.to for m in mailoutbox] == [[creator.user.email]]
    assert "Glow Labs" in mailoutbox[0].subject
    assert "22.50%" in mailoutbox[0].subject
    assert "Come glow with us" in mailoutbox[0].body
    assert OutboxDelivery.objects.get(event__key=f"collaboration:{collaboration.pk}").done_at


def test_the_invitation_email_is_sent_once_however_often_its_handler_runs(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        collaboration = invite(CreatorFactory.create())
    assert collaboration_invite_notify(collaboration_id=collaboration.pk) is False
    assert len(mailoutbox) == 1


def test_an_invitation_answered_before_its_email_goes_is_not_told(mailoutbox):
    creator = CreatorFactory.create()
    collaboration = invite(creator)
    collaboration_respond(creator=creator, collaboration_id=collaboration.pk, accept=False)
    assert collaboration_invite_notify(collaboration_id=collaboration.pk) is False
    assert mailoutbox == []

"""What orders' demand features (waitlist, sell-out alerts) need to know about creators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from creators.models import AffiliateLink, Creator


@dataclass(frozen=True)
class CreatorContact:
    creator_id: int
    handle: str
    display_name: str
    email: str


def _contact(creator: Creator) -> CreatorContact:
    return CreatorContact(
        creator_id=creator.pk,
        handle=creator.handle,
        display_name=creator.display_name,
        email=creator.user.email if creator.user.is_active else "",
    )


def creator_contacts_for_links(*, link_ids: Iterable[int]) -> dict[int, CreatorContact]:
    """Link id -> its active creator's contact, in one query."""
    links = AffiliateLink.objects.filter(
        pk__in=sorted(set(link_ids)), creator__status=Creator.Status.ACTIVE
    ).select_related("creator__user")
    return {link.pk: _contact(link.creator) for link in links}


def creator_contacts(*, creator_ids: Iterable[int]) -> dict[int, CreatorContact]:
    """Creator id -> contact of the active ones, in one query."""
    creators = Creator.objects.filter(
        pk__in=sorted(set(creator_ids)), status=Creator.Status.ACTIVE
    ).select_related("user")
    return {creator.pk: _contact(creator) for creator in creators}

"""Reads of creators; feature-specific reads live in the modules beside this one."""

from __future__ import annotations

from accounts.models import User
from common.errors import NotFound
from creators.models import Creator


def creator_for_user(*, user: User) -> Creator:
    """The signed-in user's creator profile; 404 `not_a_creator` when they have none."""
    creator = (
        Creator.objects.select_related("storefront").filter(user_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if creator is None:
        raise NotFound("Become a creator first.", code="not_a_creator")
    return creator

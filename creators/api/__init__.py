"""The creator's own API under /api/v1/creators/me/: profile, storefront, videos, links."""

from __future__ import annotations

from rest_framework import generics, permissions

from accounts.selectors import authenticated_user
from creators.models import Creator
from creators.selectors import creator_for_user


class MeAPIView(generics.GenericAPIView):
    """A signed-in creator's endpoint; someone who is not a creator gets 404 `not_a_creator`.

    A view with a PUT must define `get_queryset` (the creator's rows): DRF's OPTIONS
    answer calls `get_object` for PUT.
    """

    permission_classes = [permissions.IsAuthenticated]
    _creator: Creator | None = None

    def creator(self) -> Creator:
        """The request's creator, loaded once per request."""
        if self._creator is None:
            self._creator = creator_for_user(user=authenticated_user(self.request))
        return self._creator

"""Small helpers shared by the API views."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

if TYPE_CHECKING:
    from accounts.models import User


def authenticated_user(request: Request) -> User:
    """The signed-in user of a request whose view requires authentication."""
    if not request.user or not request.user.is_authenticated:
        raise NotAuthenticated()
    return cast("User", request.user)

"""Reads of accounts."""

from __future__ import annotations

from typing import cast

from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from accounts.models import User


def authenticated_user(request: Request) -> User:
    """The signed-in user of a request whose view requires authentication."""
    if not request.user or not request.user.is_authenticated:
        raise NotAuthenticated()
    return cast("User", request.user)

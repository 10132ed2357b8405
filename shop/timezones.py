"""Each brand's time zone in the admin: its staff read times, days and weeks in it.

A member of brands that share one time zone sees the admin in it (the dashboard's "today"
and "this week" follow, since they count days in the current time zone). A member of brands
in different zones, and platform staff, see the site's zone (TIME_ZONE). The API is left in
UTC: its timestamps carry their offset and the apps show them in the phone's zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from common.admin_mixins import is_admin_path
from shop.admin.scoping import brand_timezones_for_request, is_unrestricted


def admin_timezone_for(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The zone the admin is shown in for this user, or None for the site's default."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return None
    if is_unrestricted(request):
        return None
    zones = brand_timezones_for_request(request)
    if len(zones) != 1:
        return None
    try:
        return zoneinfo.ZoneInfo(next(iter(zones)))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class BrandTimezoneMiddleware:
    """Activate the brand's time zone for the admin pages its staff open."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = admin_timezone_for(request) if is_admin_path(request.path) else None
        if zone is None:
            return self.get_response(request)
        # Template responses are rendered inside get_response, so in the zone too.
        with timezone.override(zone):
            return self.get_response(request)

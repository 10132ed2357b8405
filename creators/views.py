"""Server-rendered pages of creators, and the deep-link documents the apps verify."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_safe

from common.errors import NotFound
from common.middleware import current_request_id
from creators.attribution.views import ATTRIBUTION_COOKIE
from creators.selectors.landing import LandingToken, landing_token_get
from creators.selectors.storefront import StorefrontPage, storefront_page_get

# The app opens storefronts and affiliate links itself when it is installed.
APP_LINK_PATHS = ("/@*", "/r/*")
WELL_KNOWN_MAX_AGE = 60 * 60


def _ink_on(hex_color: str) -> str:
    """Black or white, whichever reads better on the theme colour (WCAG relative luminance)."""
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#111111" if luminance > 0.179 else "#ffffff"


def _description(page: StorefrontPage) -> str:
    bio = " ".join(page.creator.bio.split())
    if bio:
        return bio if len(bio) <= 200 else bio[:199].rstrip() + "…"
    return f"Shop the products {page.creator.display_name} shows in their videos, on Tribe."


def _carry_token(response: HttpResponse, landing: LandingToken) -> HttpResponse:
    """Keep a link token in the first-party cookie as the redirect does; never cache the page.

    The page now holds one shopper's token (in its forms, and maybe in a Set-Cookie), so no
    shared cache may store it, whatever that cache keys on; the page without `atk` stays
    cacheable.
    """
    if landing.cookie_max_age is not None:
        response.set_cookie(
            ATTRIBUTION_COOKIE,
            landing.token,
            max_age=landing.cookie_max_age,
            httponly=True,
            samesite="Lax",
            secure=not settings.DEBUG,
        )
    add_never_cache_headers(response)
    return response


@require_safe
def storefront_page(request: HttpRequest, handle: str) -> HttpResponse:
    canonical = handle.lower()
    if handle != canonical or request.path.endswith("/"):
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(f"/@{canonical}" + (f"?{query}" if query else ""))
    try:
        page = storefront_page_get(handle=canonical)
    except NotFound:
        return render(
            request,
            "error.html",
            {
                "status_code": 404,
                "message": f"We could not find a storefront at @{canonical}.",
                "request_id": current_request_id(),
            },
            status=404,
        )
    context: dict[str, Any] = {
        "page": page,
        "ink": _ink_on(page.theme_color),
        "description": _description(page),
        "share_image": page.share_image_url,
        "atk": "",
    }
    landing = landing_token_get(
        token=request.GET.get("atk", ""),
        creator_id=page.creator.pk,
        cookie_token=request.COOKIES.get(ATTRIBUTION_COOKIE, ""),
    )
    if landing is None:
        return render(request, "creators/storefront.html", context)
    context["atk"] = landing.token
    return _carry_token(render(request, "creators/storefront.html", context), landing)


def _well_known(body: Any) -> JsonResponse:
    response = JsonResponse(body, safe=False)
    patch_cache_control(response, public=True, max_age=WELL_KNOWN_MAX_AGE)
    return response


@require_safe
def apple_app_site_association(request: HttpRequest) -> JsonResponse:
    """Universal links: iOS 13+ reads appIDs and components, older iOS appID and paths."""
    details = [
        {
            "appID": app_id,
            "appIDs": [app_id],
            "paths": list(APP_LINK_PATHS),
            "components": [{"/": path} for path in APP_LINK_PATHS],
        }
        for app_id in settings.APPLE_APP_IDS
        if app_id
    ]
    return _well_known({"applinks": {"apps": [], "details": details}})


@require_safe
def assetlinks(request: HttpRequest) -> JsonResponse:
    """Android App Links: the app may handle every URL of this site."""
    package = settings.ANDROID_APP_PACKAGE
    fingerprints = [f for f in settings.ANDROID_CERT_FINGERPRINTS if f]
    statements = []
    if package and fingerprints:
        statements.append(
            {
                "relation": ["delegate_permission/common.handle_all_urls"],
                "target": {
                    "namespace": "android_app",
                    "package_name": package,
                    "sha256_cert_fingerprints": fingerprints,
                },
            }
        )
    return _well_known(statements)

"""Server-rendered pages of creators (home, storefront, product), and the deep-link documents."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_safe

from common import visitor
from common.errors import NotFound
from common.request_id import current_request_id
from creators.attribution.views import ATTRIBUTION_COOKIE
from creators.selectors.landing import LandingToken, landing_token_get
from creators.selectors.product_page import ProductPage, product_page_get, storefront_list
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


def _carry_token(response: HttpResponse, landing: LandingToken | None) -> HttpResponse:
    """Keep a link token in the first-party cookie as the redirect does.

    The page then holds one shopper's token (in its forms, and maybe in a Set-Cookie), so
    no shared cache may store it, whatever that cache keys on.
    """
    if landing is not None and landing.cookie_max_age is not None:
        response.set_cookie(
            ATTRIBUTION_COOKIE,
            landing.token,
            max_age=landing.cookie_max_age,
            httponly=True,
            samesite="Lax",
            secure=not settings.DEBUG,
        )
    if landing is not None:
        visitor.token_page(response)
    return response


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "error.html",
        {"status_code": 404, "message": message, "request_id": current_request_id()},
        status=404,
    )


def _canonical_redirect(request: HttpRequest, handle: str, path: str) -> HttpResponse | None:
    if handle == handle.lower() and not request.path.endswith("/"):
        return None
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(path + (f"?{query}" if query else ""))


def _landing(request: HttpRequest, creator_id: int) -> LandingToken | None:
    return landing_token_get(
        token=visitor.url_token(request, visitor.ATK_PARAM),
        creator_id=creator_id,
        cookie_token=request.COOKIES.get(ATTRIBUTION_COOKIE, ""),
    )


def _product_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@require_safe
def storefront_page(request: HttpRequest, handle: str) -> HttpResponse:
    """The storefront, with the product a link was for shown first and open.

    The shared part (header, videos, collections) is rendered without the visitor: their
    tokens go into its slots afterwards (`common.visitor`); the linked product, the cart
    link and the tokens are the per-visitor part.
    """
    canonical = handle.lower()
    redirect_to = _canonical_redirect(request, handle, f"/@{canonical}")
    if redirect_to is not None:
        return redirect_to
    try:
        page = storefront_page_get(handle=canonical)
    except NotFound:
        return _not_found(request, f"We could not find a storefront at @{canonical}.")
    landing = _landing(request, page.creator.pk)
    product_id = _product_id(request.GET.get("product", ""))
    if product_id is None and landing is not None:
        product_id = landing.product_id
    featured = None
    if product_id is not None:
        try:
            featured = product_page_get(
                handle=canonical, product_id=product_id, creator=page.creator
            )
        except NotFound:
            featured = None  # a stale or mistyped ?product= still shows the storefront
    shared = render_to_string(
        "creators/_storefront_shared.html",
        {"page": page, "carry": visitor.QUERY_SLOT, "atk_inputs": visitor.ATK_INPUTS_SLOT},
    )
    context: dict[str, Any] = {
        "page": page,
        "ink": _ink_on(page.theme_color),
        "description": _description(page),
        "share_image": page.share_image_url,
        "atk": landing.token if landing is not None else "",
        # For a product other than the link's: the creator's storefront credit.
        "satk": landing.storefront_token if landing is not None else "",
        "featured": featured,
        "chosen": _first_open(featured),
        "shared": shared,
    }
    response = render(request, "creators/storefront.html", context)
    return _carry_token(visitor.visitor_page(request, response), landing)


@require_safe
def product_page(request: HttpRequest, handle: str, product_id: str) -> HttpResponse:
    """One product of a storefront: images, price, variants with live stock, add to cart."""
    canonical = handle.lower()
    redirect_to = _canonical_redirect(request, handle, f"/@{canonical}/p/{product_id}")
    if redirect_to is not None:
        return redirect_to
    try:
        page = product_page_get(handle=canonical, product_id=int(product_id))
    except NotFound:
        return _not_found(request, "We could not find that product on this storefront.")
    landing = _landing(request, page.creator.pk)
    context = {
        "page": page,
        "ink": _ink_on(page.theme_color),
        "atk": landing.token if landing is not None else "",
        # For a product other than the link's: the creator's storefront credit.
        "satk": landing.storefront_token if landing is not None else "",
        "chosen": _chosen_variant(request, page),
    }
    response = render(request, "creators/product.html", context)
    # Live stock: a stored copy would offer what has sold out since.
    visitor.token_page(response)
    return _carry_token(response, landing)


def _chosen_variant(request: HttpRequest, page: ProductPage) -> int | None:
    wanted = _product_id(request.GET.get("variant", ""))
    ids = {v.id for v in page.variants if not v.is_sold_out}
    if wanted in ids:
        return wanted
    return _first_open(page)


def _first_open(page: ProductPage | None) -> int | None:
    variant = page.first_open_variant if page is not None else None
    return variant.id if variant is not None else None


@require_safe
def payout_return_page(request: HttpRequest) -> HttpResponse:
    """Where Stripe's Connect onboarding sends a creator back when they are done."""
    return _payout_page(
        request,
        title="Thanks, your payout details are with Stripe",
        lines=[
            "Stripe checks them, usually within minutes. Your payout status in the Tribe "
            "app turns ready once it has; approved commissions are paid from then on.",
            "You can close this page and go back to the app.",
        ],
    )


@require_safe
def payout_refresh_page(request: HttpRequest) -> HttpResponse:
    """Where an expired or already used onboarding link sends a creator."""
    return _payout_page(
        request,
        title="That payout setup link has expired",
        lines=[
            "Links to Stripe's setup last a few minutes. Nothing you entered is lost.",
            "Open Payouts in the Tribe app and choose Connect again for a fresh link.",
        ],
    )


def _payout_page(request: HttpRequest, *, title: str, lines: list[str]) -> HttpResponse:
    response = render(request, "creators/payout_return.html", {"title": title, "lines": lines})
    # Stripe may add its own query; nothing here is per visitor, but nothing is worth storing.
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
def home_page(request: HttpRequest) -> HttpResponse:
    """The site's front page: the storefronts one can shop."""
    response = render(request, "creators/home.html", {"storefronts": storefront_list()})
    return visitor.visitor_page(request, response)


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

"""Server-rendered pages of creators (home, storefront, product), and the deep-link documents."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_safe

from common import visitor
from common.errors import NotFound
from common.request_id import current_request_id
from creators.attribution.views import ATTRIBUTION_COOKIE
from creators.pages.links import link_terms_reader
from creators.pages.product import (
    StoredProduct,
    chosen_variant,
    live_page,
    live_parts,
    product_kept,
    product_page_html,
    product_stored_get,
)
from creators.pages.storefront import (
    StoredStorefront,
    storefront_html,
    storefront_kept,
    storefront_stored_get,
)
from creators.pages.versions import live_read
from creators.selectors.landing import LandingToken, landing_claims, landing_from_claims
from creators.selectors.product_page import storefront_list
from creators.selectors.storefront import storefront_path
from shop.selectors import IdArray

# The app opens storefronts and affiliate links itself when it is installed.
APP_LINK_PATHS = ("/@*", "/r/*")
WELL_KNOWN_MAX_AGE = 60 * 60


def _carry_token(response: HttpResponse, landing: LandingToken | None) -> HttpResponse:
    """Keep a link token in the first-party cookie as the redirect does.

    The page then holds one shopper's token (in its forms, and maybe in a Set-Cookie), so
    no shared cache may store it, whatever that cache keys on: the callers have sent it
    through `visitor.token_page` already (the product page always, the storefront through
    `visitor.visitor_page` whenever the URL carries a token, as every landing's does).
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
    return response


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "error.html",
        {"status_code": 404, "message": message, "request_id": current_request_id()},
        status=404,
    )


def _canonical_redirect(
    request: HttpRequest, handle: str, path: str, *, always: bool = False
) -> HttpResponse | None:
    if not always and handle == handle.lower() and not request.path.endswith("/"):
        return None
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(path + (f"?{query}" if query else ""))


class _Arrival:
    """The link token a visitor arrived with, read once per request (a refused one is
    counted once), however many times the request reads its page."""

    def __init__(self, request: HttpRequest) -> None:
        self.token = visitor.url_token(request, visitor.ATK_PARAM)
        self.cookie_token = request.COOKIES.get(ATTRIBUTION_COOKIE, "")
        self.at = timezone.now()
        self.claims = landing_claims(token=self.token, at=self.at)

    def landing(self, page: StoredStorefront | StoredProduct) -> LandingToken | None:
        """The token `page` carries into the cart; its link's terms kept under the versions
        `page` was built under."""
        assert page.creator_id is not None
        return landing_from_claims(
            token=self.token,
            claims=self.claims,
            creator_id=page.creator_id,
            cookie_token=self.cookie_token,
            at=self.at,
            link_terms=link_terms_reader(
                catalog_version=page.catalog_version, creator_version=page.creator_version
            ),
        )


def _product_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@require_safe
def storefront_page(request: HttpRequest, handle: str, number: str = "") -> HttpResponse:
    """The storefront (page `number` of it, `/@handle/page/N`), with the product a link was
    for shown first and open on the first page.

    Served from its stored shared part (`creators.pages`): per request one statement reads
    the stock of its products and the versions of what this process keeps, then the
    visitor's tokens, cart and the linked product go in. Kept parts whose versions have
    changed are read again (or built) and the stock with them.
    """
    canonical = handle.lower()
    page_number = int(number) if number else 1
    if page_number < 1:
        return _not_found(request, f"@{canonical} has no page {number}.")
    path = storefront_path(canonical, page_number)
    # /page/1 is the storefront itself, /page/02 is /page/2.
    renumbered = number not in ("", str(page_number)) or number == "1"
    redirect_to = _canonical_redirect(request, handle, path, always=renumbered)
    if redirect_to is not None:
        return redirect_to
    arrival = _Arrival(request)
    versions = None  # as a live read found them when it retired the kept page
    kept = storefront_kept(handle=canonical, number=page_number)
    if kept is not None:
        answer = _storefront_response(request, canonical, kept, arrival, kept=True)
        if isinstance(answer, HttpResponse):
            return answer
        versions = answer
    try:
        stored = storefront_stored_get(handle=canonical, number=page_number, versions=versions)
    except NotFound as error:
        if error.code == "storefront_page_not_found":
            return _not_found(request, f"@{canonical} has no page {page_number}. {error.message}")
        return _not_found(request, f"We could not find a storefront at @{canonical}.")
    answer = _storefront_response(request, canonical, stored, arrival, kept=False)
    assert isinstance(answer, HttpResponse)
    return answer


def _storefront_response(
    request: HttpRequest,
    canonical: str,
    stored: StoredStorefront,
    arrival: _Arrival,
    *,
    kept: bool,
) -> HttpResponse | dict[str, str]:
    """The page from `stored`; when it is `kept` and its versions have changed, the current
    versions its live read found instead."""
    landing = arrival.landing(stored)
    product_id = _product_id(request.GET.get("product", ""))
    if product_id is None and landing is not None:
        product_id = landing.product_id
    featured = None
    if product_id is not None and stored.number == 1:
        try:
            featured = product_stored_get(
                handle=canonical, product_id=product_id, versions=stored.versions
            )
        except NotFound:
            featured = None  # a stale or mistyped ?product= still shows the storefront
    product_ids = stored.product_ids
    if featured is not None and featured.fallback is not None:
        product_ids = product_ids.plus([featured.fallback.id])
    versions, stock = live_read(
        version_keys=stored.version_keys,
        product_ids=product_ids,
        variant_product_ids=IdArray.of(
            [featured.page.product.id] if featured and featured.page else []
        ),
    )
    if kept and stored.stale(versions):
        return versions
    atk = landing.token if landing is not None else ""
    page = live_page(featured, stock) if featured is not None else None
    live = live_parts(
        request,
        handle=canonical,
        atk=atk,
        # For a product other than the link's: the creator's storefront credit.
        satk=landing.storefront_token if landing is not None else "",
        page=page,
        chosen=chosen_variant(page, None),
        stamp=featured.stamp if featured is not None else "",
    )
    html = storefront_html(stored, scarce=stock.scarce, live=live, atk=atk, featured=featured)
    response = HttpResponse(html)
    return _carry_token(visitor.visitor_page(request, response), landing)


@require_safe
def product_page(request: HttpRequest, handle: str, product_id: str) -> HttpResponse:
    """One product of a storefront: images, price, variants with live stock, add to cart.

    Served as the storefront is: one statement reads its stock and the versions of the
    page this process keeps.
    """
    canonical = handle.lower()
    redirect_to = _canonical_redirect(request, handle, f"/@{canonical}/p/{product_id}")
    if redirect_to is not None:
        return redirect_to
    arrival = _Arrival(request)
    versions = None  # as a live read found them when it retired the kept page
    kept = product_kept(handle=canonical, product_id=int(product_id))
    if kept is not None and kept.page is not None:
        answer = _product_response(request, kept, arrival, kept=True)
        if isinstance(answer, HttpResponse):
            return answer
        versions = answer
    try:
        stored = product_stored_get(handle=canonical, product_id=int(product_id), versions=versions)
    except NotFound:
        return _not_found(request, "We could not find that product on this storefront.")
    answer = _product_response(request, stored, arrival, kept=False)
    assert isinstance(answer, HttpResponse)
    return answer


def _product_response(
    request: HttpRequest, stored: StoredProduct, arrival: _Arrival, *, kept: bool
) -> HttpResponse | dict[str, str]:
    """The page from `stored`; when it is `kept` and its versions have changed, the current
    versions its live read found instead."""
    assert stored.page is not None
    landing = arrival.landing(stored)
    fallback = stored.fallback
    versions, stock = live_read(
        version_keys=stored.version_keys,
        product_ids=IdArray.of([fallback.id] if fallback is not None else []),
        variant_product_ids=IdArray.of([stored.page.product.id]),
    )
    if kept and stored.stale(versions):
        return versions
    html = product_page_html(
        request,
        stored,
        stock=stock,
        atk=landing.token if landing is not None else "",
        # For a product other than the link's: the creator's storefront credit.
        satk=landing.storefront_token if landing is not None else "",
        variant_id=_product_id(request.GET.get("variant", "")),
    )
    # Live stock: a stored copy would offer what has sold out since.
    response = visitor.token_page(HttpResponse(html))
    return _carry_token(response, landing)


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

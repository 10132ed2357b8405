"""What one shopper carries from page to page: the attribution token and the cart token.

Browsers that keep no cookie of ours (in-app browsers, tracking prevention) still carry
both in the URL, as `?atk=` and `?cart=`. A page's shared part is rendered once with slots
where a visitor's tokens go (`QUERY_SLOT` after a link, `ATK_INPUTS_SLOT` inside a form) and
`fill` puts them in per request, so the shared part never holds anyone's token and can be
stored as it is. Pages that carry a token send `Referrer-Policy: same-origin`, so the token
never leaves the site in a Referer header.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

ATK_PARAM = "atk"
CART_PARAM = "cart"
# The cookie a browser keeps its cart token in (the API's web clients use it too).
CART_COOKIE = "tribe_cart"
QUERY_SLOT = "tribe-visitor-query-slot"
ATK_INPUTS_SLOT = "tribe-visitor-inputs-slot"
MAX_TOKEN_LENGTH = 500


def url_token(request: HttpRequest, name: str) -> str:
    """A token from the query string, or "" when absent or never one of ours (too long, or
    holding a NUL, which PostgreSQL refuses in text)."""
    value = request.GET.get(name, "")
    return value if len(value) <= MAX_TOKEN_LENGTH and "\x00" not in value else ""


def carry_query(*, atk: str = "", cart: str = "", **extra: str) -> str:
    """`?atk=...&cart=...` (only the non-empty ones, then `extra`), or "" when nothing."""
    pairs = [(k, v) for k, v in ((ATK_PARAM, atk), (CART_PARAM, cart), *extra.items()) if v]
    return "?" + urlencode(pairs) if pairs else ""


def atk_inputs(atk: str) -> SafeString:
    if not atk:
        return mark_safe("")
    return format_html('<input type="hidden" name="{}" value="{}">', ATK_PARAM, atk)


def fill(shared: str, *, atk: str = "", cart: str = "") -> SafeString:
    """The shared HTML with this visitor's tokens in its slots (`shared` is trusted HTML)."""
    return fill_query(shared, query_html=escape(carry_query(atk=atk, cart=cart)), atk=atk)


def fill_query(shared: str, *, query_html: str, atk: str = "") -> SafeString:
    """`fill` with the query already rendered and escaped (`{% carry %}` in a template)."""
    return filler(query_html=query_html, atk=atk)(shared)


def filler(*, query_html: str, atk: str = "") -> Callable[[str], SafeString]:
    """`fill_query` for several pieces of one visitor's page, the inputs rendered once."""
    inputs = atk_inputs(atk)

    def fill_one(shared: str) -> SafeString:
        return mark_safe(  # noqa: S308 - rendered by our own template; the tokens are escaped
            shared.replace(QUERY_SLOT, query_html).replace(ATK_INPUTS_SLOT, inputs)
        )

    return fill_one


def carries_tokens(request: HttpRequest) -> bool:
    """Whether this request names a visitor's attribution or cart token."""
    return bool(
        request.GET.get(ATK_PARAM) or request.GET.get(CART_PARAM) or CART_COOKIE in request.COOKIES
    )


def names_cart(request: HttpRequest) -> bool:
    """Whether this request names a cart (`?cart=` or the cart cookie), open or not."""
    return bool(request.GET.get(CART_PARAM) or request.COOKIES.get(CART_COOKIE))


def token_page(response: HttpResponse) -> HttpResponse:
    """A page holding a visitor's token: no shared cache stores it, no Referer carries it."""
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "same-origin"
    return response


def visitor_page(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """`token_page` when the request carried a token; else a page that varies on cookies."""
    if carries_tokens(request):
        return token_page(response)
    patch_vary_headers(response, ["Cookie"])
    response["Referrer-Policy"] = "same-origin"
    return response

"""The cart page and its forms: add, change a quantity, remove.

Every form here is authorised by the cart token in its URL and by nothing else: no cookie,
no session. A cross-site page cannot learn that token, so it cannot forge these posts, and
they are exempt from CSRF (which would need a cookie that in-app browsers often drop). Only
`cart_start` takes no token: it makes a new cart, which gives a forger nothing, and it keeps
the cart cookie only for a same-site post. Pages carrying a token send
`Referrer-Policy: same-origin` and are never cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from common import visitor
from common.errors import ApplicationError, NotFound
from creators.attribution.views import ATTRIBUTION_COOKIE
from orders import selectors
from orders.models import Cart, CartLine
from orders.pricing import brand_charges
from orders.services import carts
from orders.web.forms import HANDLE, AddForm, QuantityForm
from orders.web.wording import shopper_message
from shop.models import Brand

CART_COOKIE_MAX_AGE = 60 * 60 * 24 * 30


@dataclass
class BrandGroup:
    brand: Brand
    lines: list[CartLine] = field(default_factory=list)
    items: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)

    @property
    def free_shipping_left(self) -> Decimal | None:
        """How much more earns free shipping; None when the brand never ships free."""
        threshold = self.brand.free_shipping_threshold
        if threshold is None:
            return None
        return max(Decimal(0), threshold - self.items)

    @property
    def free_shipping_percent(self) -> int:
        threshold = self.brand.free_shipping_threshold
        if not threshold:
            return 100
        return min(100, int(self.items * 100 / threshold))


def _groups(cart: Cart) -> list[BrandGroup]:
    """Lines by brand, each brand's items and shipping as `orders.pricing` charges them."""
    groups: dict[int, BrandGroup] = {}
    for line in cart.lines.all():
        brand = line.variant.product.brand
        group = groups.setdefault(brand.pk, BrandGroup(brand=brand))
        group.lines.append(line)
        group.items += line.variant.price * line.quantity
    for group in groups.values():
        group.items, group.shipping = brand_charges(group.brand, group.items, cart.currency)
    return sorted(groups.values(), key=lambda g: g.brand.pk)


def _carry(request: HttpRequest) -> dict[str, str]:
    """What the cart's pages pass on: the attribution token and the storefront to go back to."""
    shop = request.GET.get("shop", "")
    return {
        "atk": visitor.url_token(request, visitor.ATK_PARAM),
        "shop": shop.lower() if HANDLE.match(shop) else "",
    }


def cart_url(token: str, *, atk: str = "", shop: str = "") -> str:
    return reverse("web-cart", args=[token]) + visitor.carry_query(atk=atk, shop=shop)


def line_titles(cart: Cart | None) -> dict[str, str]:
    if cart is None:
        return {}
    return {line.variant.sku: _line_title(line) for line in cart.lines.all()}


def _line_title(line: CartLine) -> str:
    variant = line.variant
    return f"{variant.product.title} ({variant.title})" if variant.title else variant.product.title


def render_cart(
    request: HttpRequest,
    cart: Cart | None,
    *,
    error: str = "",
    status: int = 200,
    back: str = "",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    carry = _carry(request)
    groups = _groups(cart) if cart is not None else []
    totals = selectors.cart_totals(cart) if cart is not None else None
    context = {
        "cart": cart,
        "open": cart is not None and cart.status == Cart.Status.OPEN,
        "groups": groups,
        "totals": totals,
        "error": error,
        "back": back,
        "query": visitor.carry_query(**carry),
        "shop": carry["shop"],
        "atk": carry["atk"],
        **(extra or {}),
    }
    return visitor.token_page(render(request, "orders/web/cart.html", context, status=status))


def cart_or_404(request: HttpRequest, token: str) -> Cart | HttpResponse:
    try:
        return selectors.cart_get_by_token(token=token)
    except NotFound:
        return visitor.token_page(
            render(
                request,
                "error.html",
                {
                    "status_code": 404,
                    "message": "We could not find that cart. Check the link, or start again "
                    "from a storefront.",
                },
                status=404,
            )
        )


def _tokens(request: HttpRequest, form_atk: str = "", form_satk: str = "") -> list[str]:
    # The storefront token last: of equal rank, the first given wins.
    return [
        form_atk,
        visitor.url_token(request, visitor.ATK_PARAM),
        _cookie_atk(request),
        form_satk,
    ]


def _cookie_atk(request: HttpRequest) -> str:
    return request.COOKIES.get(ATTRIBUTION_COOKIE, "")


def _back_to_product(data: dict[str, Any], atk: str, cart_token: str = "") -> str:
    shop, product = data.get("shop"), data.get("product")
    if not shop:
        return "/"
    path = f"/@{shop.lower()}" + (f"/p/{product}" if product else "")
    return path + visitor.carry_query(atk=atk, cart=cart_token)


def _add_refused(
    request: HttpRequest, cart: Cart | None, form: AddForm, message: str, status: int
) -> HttpResponse:
    data = getattr(form, "cleaned_data", {})
    back = _back_to_product(data, data.get("atk", ""), cart.token if cart is not None else "")
    return render_cart(request, cart, error=message, status=status, back=back)


def _form_error(form: AddForm | QuantityForm) -> str:
    return next((str(e) for errors in form.errors.values() for e in errors), "Check the form.")


def _after_add(request: HttpRequest, cart: carts.CartContents, form: AddForm) -> HttpResponse:
    data = form.cleaned_data
    response = HttpResponse(status=303)
    token = cart.token
    response["Location"] = cart_url(token, atk=data["atk"], shop=(data["shop"] or "").lower())
    return visitor.token_page(response)


@csrf_exempt
@require_POST
def cart_start(request: HttpRequest) -> HttpResponse:
    """Add to a new cart (the shopper has none yet); 303 to the cart page.

    CSRF-exempt: it only makes a new cart, and a cross-site post never sets the cookie.
    """
    form = AddForm(request.POST)
    if not form.is_valid():
        return _add_refused(request, None, form, _form_error(form), 400)
    data = form.cleaned_data
    try:
        added = carts.cart_create_with_lines(
            user=None,
            lines=[(data["sku"], data["quantity"])],
            attribution_tokens=_tokens(request, data["atk"], data["satk"]),
        )
    except ApplicationError as exc:
        titles = selectors.sku_titles(skus=[data["sku"]])
        return _add_refused(
            request, None, form, shopper_message(exc, titles=titles), exc.status_code
        )
    response = _after_add(request, added, form)
    # A cross-site post may make a cart, but never replaces the one this browser keeps.
    if request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "same-site", "none"):
        response.set_cookie(
            visitor.CART_COOKIE,
            added.token,
            max_age=CART_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=not settings.DEBUG,
        )
    return response


@csrf_exempt
@require_POST
def cart_add(request: HttpRequest, token: str) -> HttpResponse:
    """Add units of a variant to the cart the URL names; 303 to the cart page.

    CSRF-exempt: authorised by the cart token in the URL only, never a cookie or session.
    """
    cart = cart_or_404(request, token)
    if isinstance(cart, HttpResponse):
        return cart
    form = AddForm(request.POST)
    if not form.is_valid():
        return _add_refused(request, cart, form, _form_error(form), 400)
    data = form.cleaned_data
    # "Add" on the web is the API's "set" with what the cart already holds.
    held = next((line.quantity for line in cart.lines.all() if line.variant.sku == data["sku"]), 0)
    try:
        added = carts.cart_line_set(
            cart_id=cart.pk,
            sku=data["sku"],
            quantity=held + data["quantity"] if data["quantity"] > 0 else data["quantity"],
            attribution_tokens=_tokens(request, data["atk"], data["satk"]),
        )
    except ApplicationError as exc:
        titles = {**selectors.sku_titles(skus=[data["sku"]]), **line_titles(cart)}
        return _add_refused(
            request, cart, form, shopper_message(exc, titles=titles), exc.status_code
        )
    return _after_add(request, added, form)


@require_safe
def cart_page(request: HttpRequest, token: str) -> HttpResponse:
    """The cart: lines by brand with shipping and free-shipping progress, totals, checkout."""
    cart = cart_or_404(request, token)
    if isinstance(cart, HttpResponse):
        return cart
    return render_cart(request, cart)


@csrf_exempt
@require_POST
def cart_line_update(request: HttpRequest, token: str, sku: str) -> HttpResponse:
    """Set a line's quantity; a refused quantity changes nothing and says why.

    CSRF-exempt: authorised by the cart token in the URL only, never a cookie or session.
    """
    cart = cart_or_404(request, token)
    if isinstance(cart, HttpResponse):
        return cart
    form = QuantityForm(request.POST)
    if not form.is_valid():
        return render_cart(request, cart, error=_form_error(form), status=400)
    if not any(line.variant.sku == sku for line in cart.lines.all()):
        return render_cart(
            request, cart, error="That item is not in your cart any more.", status=404
        )
    try:
        carts.cart_line_set(
            cart_id=cart.pk,
            sku=sku,
            quantity=form.cleaned_data["quantity"],
            attribution_tokens=_tokens(request),
        )
    except ApplicationError as exc:
        return render_cart(
            request,
            cart,
            error=shopper_message(exc, titles=line_titles(cart)),
            status=exc.status_code,
        )
    return _see_cart(request, token)


@csrf_exempt
@require_POST
def cart_line_delete(request: HttpRequest, token: str, sku: str) -> HttpResponse:
    """Remove a line. CSRF-exempt: authorised by the cart token in the URL only."""
    cart = cart_or_404(request, token)
    if isinstance(cart, HttpResponse):
        return cart
    try:
        carts.cart_line_remove(cart=cart, sku=sku)
    except ApplicationError as exc:
        return render_cart(
            request,
            cart,
            error=shopper_message(exc, titles=line_titles(cart)),
            status=exc.status_code,
        )
    return _see_cart(request, token)


def _see_cart(request: HttpRequest, token: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = cart_url(token, **_carry(request))
    return visitor.token_page(response)

"""The web payment page (Stripe.js + Payment Element) and its confirmation page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from common import visitor
from common.errors import ApplicationError, NotFound
from orders import order_selectors, selectors
from orders.models import Cart, Order
from orders.services.checkout import order_payment_intent_ensure
from orders.services.payment_attempts import (
    PaymentAttemptsExceeded,
    payment_attempts_check,
    payment_client,
)
from orders.state import PAID_STATUSES
from orders.web.wording import shopper_message


def _lines_by_brand(order: Order) -> list[dict[str, object]]:
    shipping = {s.brand_id: s.amount for s in order.shipping_lines.all()}
    groups: dict[int, dict[str, object]] = {}
    for line in order.lines.all():
        group = groups.setdefault(
            line.brand_id,
            {"brand": line.brand, "lines": [], "shipping": shipping.get(line.brand_id)},
        )
        group["lines"].append(line)  # type: ignore[attr-defined]
    return list(groups.values())


def _order_or_404(request: HttpRequest, token: str) -> Order | HttpResponse:
    try:
        return selectors.order_get_by_token(token=token)
    except NotFound:
        return render(
            request,
            "error.html",
            {"status_code": 404, "message": "We could not find that checkout."},
            status=404,
        )


@never_cache
def payment_page(request: HttpRequest, token: str) -> HttpResponse:
    order = _order_or_404(request, token)
    if isinstance(order, HttpResponse):
        return order
    if order.status in PAID_STATUSES:
        return redirect("checkout-complete", token=token)
    if order.status == Order.Status.PENDING_PAYMENT:
        try:
            payment_attempts_check(subjects=payment_client(request).subjects(cart_id=order.cart_id))
        except PaymentAttemptsExceeded as exc:
            return _payments_paused(request, exc)
    error = None
    expired = (
        order.status == Order.Status.PENDING_PAYMENT
        and order.reservation_expires_at <= timezone.now()
    )
    if expired:
        error = (
            "We held your items for you, but the hold has run out. Nothing was charged: "
            "go back to your cart to check out again."
        )
    elif order.status == Order.Status.PENDING_PAYMENT:
        try:
            order = order_payment_intent_ensure(order=order)
        except ApplicationError as exc:
            error = shopper_message(exc)
    context = {
        "order": order,
        "groups": _lines_by_brand(order),
        "pending": order.status == Order.Status.PENDING_PAYMENT and not error,
        "error": error,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "return_url": request.build_absolute_uri(f"/checkout/{order.token}/complete/"),
        "expired": expired,
        "cart_url": _open_cart_url(order),
    }
    return visitor.token_page(render(request, "orders/payment.html", context))


def _payments_paused(request: HttpRequest, exc: PaymentAttemptsExceeded) -> HttpResponse:
    """A plain page, before the card form is shown (and before Stripe is called)."""
    response = render(
        request,
        "error.html",
        {"status_code": exc.status_code, "message": shopper_message(exc)},
        status=exc.status_code,
    )
    for name, value in exc.response_headers.items():
        response[name] = value
    return visitor.token_page(response)


def _open_cart_url(order: Order) -> str:
    """The web cart the order came from while it can still be checked out, else ""."""
    cart = order.cart
    if cart is None or cart.status != Cart.Status.OPEN:
        return ""
    return reverse("web-cart", args=[cart.token])


@never_cache
def payment_complete(request: HttpRequest, token: str) -> HttpResponse:
    order = _order_or_404(request, token)
    if isinstance(order, HttpResponse):
        return order
    response = render(
        request,
        "orders/complete.html",
        {
            "order": order,
            "groups": _lines_by_brand(order),
            "paid": order.status in PAID_STATUSES,
            "status_url": order_selectors.order_status_url(order),
        },
    )
    return visitor.token_page(response)


@never_cache
def order_status_page(request: HttpRequest, token: str) -> HttpResponse:
    """Where a guest's order stands: lines by brand, shipments with tracking, refunds."""
    try:
        order = order_selectors.order_status_page_get(token=token)
    except NotFound:
        return render(
            request,
            "error.html",
            {"status_code": 404, "message": "We could not find that order."},
            status=404,
        )
    response = render(
        request,
        "orders/status.html",
        {"order": order, "view": order_selectors.order_view(order)},
    )
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response

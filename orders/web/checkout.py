"""The checkout form: email and shipping address, then the existing payment page.

Like the cart's forms (see `orders.web.carts`), it is authorised by the cart token in its
URL only, never by a cookie or session, which is why it is exempt from CSRF. Guests only:
a signed-in session is ignored, so the page behaves the same in any browser. Each showing
of the form carries a fresh `submission` value, and the order is started under an
Idempotency-Key derived from it and the details sent: a double tap, a reload that resends
the post or a retry after a payment-provider error resumes the same order.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from common import visitor
from common.errors import ApplicationError
from orders.models import Cart
from orders.services.checkout import checkout_start
from orders.services.payment_attempts import payment_client
from orders.web.carts import cart_or_404, line_titles, render_cart
from orders.web.forms import CheckoutForm
from orders.web.wording import shopper_message


def _show(
    request: HttpRequest, cart: Cart, form: CheckoutForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    return render_cart(
        request,
        cart,
        error=error,
        status=status,
        extra={"checkout_form": form, "action": request.get_full_path()},
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def checkout_form(request: HttpRequest, token: str) -> HttpResponse:
    """GET the form; POST it to hold the stock, create the order and go to pay (303).

    CSRF-exempt: authorised by the cart token in the URL only, never a cookie or session.
    """
    cart = cart_or_404(request, token)
    if isinstance(cart, HttpResponse):
        return cart
    if cart.status != Cart.Status.OPEN:
        return render_cart(
            request, cart, error="This cart has already been checked out.", status=409
        )
    if not cart.lines.all():
        return render_cart(request, cart, error="Your cart is empty.", status=409)
    if request.method != "POST":
        return _show(request, cart, CheckoutForm(initial={"submission": secrets.token_urlsafe(18)}))
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _show(request, cart, form, error="Check the details marked below.", status=400)
    try:
        order = checkout_start(
            cart=cart,
            user=None,
            idempotency_key=form.idempotency_key(),
            email=form.cleaned_data["email"],
            shipping_address=form.address(),
            client=payment_client(request),
        )
    except ApplicationError as exc:
        message = shopper_message(exc, titles=line_titles(cart))
        response = _show(request, cart, form, error=message, status=exc.status_code)
        for name, value in exc.response_headers.items():
            response[name] = value  # Retry-After when payments are paused
        return response
    response = HttpResponse(status=303)
    response["Location"] = reverse("checkout-page", args=[order.token])
    return visitor.token_page(response)

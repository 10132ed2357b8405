"""Checkout in three steps: hold stock and write the order (one short transaction), create
the PaymentIntent with an idempotency key (no transaction open), record it (short
transaction). A retry with the same key resumes the same order and PaymentIntent.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import stripe
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from common.db import in_transaction, model_columns, model_from_row, models_insert, prefetched
from common.errors import ApplicationError, Conflict, NotFound, UnprocessableEntity
from common.idempotency import body_fingerprint
from common.money import quantize
from common.observability import context as log_context
from common.observability.metrics import CHECKOUTS_STARTED, HOLDS
from common.tasks_queue import enqueue_on_commit
from creators.selectors.attribution import attribution_decide
from creators.selectors.codes import codes_with_discounts
from orders.discounts import AppliedCode, codes_price
from orders.models import Cart, CartCode, CartLine, Order, OrderLine, OrderShipping
from orders.pricing import price_lines
from orders.risk import shipping_hash as risk_shipping_hash
from orders.selectors import link_pace
from orders.services.carts import (
    CartOwner,
    OutOfStock,
    cart_check_size,
    cart_lock_row,
    cart_owner,
)
from orders.services.payment_attempts import PaymentClient, payment_attempts_check
from orders.services.reservations import order_holds_release, reservation_hold
from orders.state import order_note, order_transition
from payments.stripe.client import minimum_charge, stripe_amount, stripe_client, upstream_error
from shop.models import Brand, Product, Variant
from shop.services.discounts import discount_use_reserve

logger = logging.getLogger(__name__)


def checkout_scope(*, user: User | None, cart_id: int) -> str:
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"cart:{cart_id}"


def _hold_all(lines: list[OrderLine], expires_at: datetime) -> None:
    """Hold every line in variant-id order; raise OutOfStock naming every short SKU.

    Each hold is one statement (reservation_hold); raising rolls the caller's transaction
    back, so nothing stays reserved or created when one line is short.
    """
    shortages: dict[str, int] = {}
    now = timezone.now()
    for line in sorted(lines, key=lambda line: (line.variant_id, line.pk)):
        held = reservation_hold(
            order_line_id=line.pk,
            variant_id=line.variant_id,
            quantity=line.quantity,
            expires_at=expires_at,
            now=now,
        )
        HOLDS.labels("refused" if held is None else "made").inc()
        if held is None:
            on_hand, reserved = (
                Variant.objects.filter(pk=line.variant_id).values_list("on_hand", "reserved").get()
            )
            shortages[line.sku] = max(0, on_hand - reserved)
    if shortages:
        raise OutOfStock(
            "Some items are sold out or short: " + ", ".join(shortages) + ".",
            details={"available": shortages},
        )


def _replace_pending_orders(cart: Cart) -> None:
    """A new checkout of the same cart supersedes an unpaid earlier one and frees its hold."""
    previous = Order.objects.select_for_update().filter(
        cart=cart, status=Order.Status.PENDING_PAYMENT
    )
    for order in previous.order_by("pk"):
        order_holds_release(order=order)
        order_transition(order=order, to_status=Order.Status.CANCELED, kind="superseded")
        if order.stripe_payment_intent_id:
            enqueue_on_commit("orders.tasks.payment_intent_cancel", order.pk)


# The cart locked (its owner checked by the same statement when asked), with whether the
# key already has an order and whether an unpaid order of this cart is to be superseded.
_LOCK_CART_SQL = """
SELECT c.id, c.token, c.user_id, c.currency, c.status, c.has_codes, c.created_at,
    c.updated_at,
    (SELECT o.id FROM orders_order o
     WHERE o.checkout_scope = %(scope)s AND o.checkout_key = %(key)s LIMIT 1),
    EXISTS (SELECT 1 FROM orders_order o WHERE o.cart_id = c.id AND o.status = %(pending)s)
FROM orders_cart c
WHERE c.id = %(cart)s {owned}
FOR UPDATE OF c
"""
# The cart's columns in the order the statement reads them, for `Cart.from_db`.
_CART_COLUMNS = [
    "id",
    "token",
    "user_id",
    "currency",
    "status",
    "has_codes",
    "created_at",
    "updated_at",
]


# A cart's lines with their variants, products and brands, in variant order: what
# `select_related("variant__product__brand")` reads, its columns listed once from the
# models (`model_columns`) instead of compiled by the ORM on every checkout.
_CART_LINES_SQL = """
SELECT {line}, {variant}, {product}, {brand}
FROM orders_cartline l
JOIN shop_variant v ON v.id = l.variant_id
JOIN shop_product p ON p.id = v.product_id
JOIN shop_brand b ON b.id = p.brand_id
WHERE l.cart_id = %s
ORDER BY l.variant_id
"""


@functools.cache
def _cart_lines_sql() -> str:
    return _CART_LINES_SQL.format(
        line=model_columns(CartLine, "l"),
        variant=model_columns(Variant, "v"),
        product=model_columns(Product, "p"),
        brand=model_columns(Brand, "b"),
    )


def _cart_lines(cart_id: int) -> list[CartLine]:
    with connection.cursor() as cursor:
        cursor.execute(_cart_lines_sql(), [cart_id])
        rows = cursor.fetchall()
    at_variant = len(CartLine._meta.concrete_fields)
    at_product = at_variant + len(Variant._meta.concrete_fields)
    at_brand = at_product + len(Product._meta.concrete_fields)
    lines = []
    for row in rows:
        line = model_from_row(CartLine, row)
        variant = model_from_row(Variant, row, at_variant)
        product = model_from_row(Product, row, at_product)
        product.brand = model_from_row(Brand, row, at_brand)
        variant.product = product
        line.variant = variant
        lines.append(line)
    return lines


class _LockedCart(NamedTuple):
    cart: Cart
    raced_id: int | None  # the order this key already made
    pending: bool  # an unpaid order of this cart, to be superseded


def _lock_cart(cart_id: int, *, owner: CartOwner | None, scope: str, key: str) -> _LockedCart:
    """Lock the cart, learning in the same statement whether the key already has an order
    and whether an unpaid order of this cart is to be superseded.

    With `owner`, the same statement checks that the caller owns the cart: a cart of
    someone else is neither read nor locked, and is answered as no cart at all.
    """
    params: dict[str, int | str | None] = {
        "cart": cart_id,
        "scope": scope,
        "key": key,
        "pending": Order.Status.PENDING_PAYMENT,
    }
    row = cart_lock_row(_LOCK_CART_SQL, params, owner)
    cart = Cart.from_db(connection.alias, _CART_COLUMNS, row[: len(_CART_COLUMNS)])
    return _LockedCart(cart, *row[len(_CART_COLUMNS) :])


def _order_line(
    order: Order,
    line: CartLine,
    *,
    buyer_id: int | None,
    email: str,
    at: datetime,
    code: AppliedCode | None,
) -> OrderLine:
    variant, product = line.variant, line.variant.product
    # A code's discount on this line, and its creator's credit (no click needed).
    discounted = code is not None and line.pk in code.parts
    credit = attribution_decide(
        token=line.attribution_token,
        product=product,
        buyer_user_id=buyer_id,
        buyer_email=email,
        pace=link_pace,
        at=at,
        code=code.code if code is not None and discounted else None,
    )
    list_total = quantize(variant.price * line.quantity, order.currency)
    share = code.parts[line.pk] if code is not None and discounted else Decimal(0)
    return OrderLine(
        order=order,
        variant=variant,
        product=product,
        brand=product.brand,
        sku=variant.sku,
        title=f"{product.title} - {variant.title}" if variant.title else product.title,
        options=variant.options,
        unit_price=variant.price,
        quantity=line.quantity,
        list_total=list_total,
        discount_amount=share,
        discount_code=code.code.code if code is not None and discounted else "",
        discount_id=code.code.discount_id if code is not None and discounted else None,
        line_total=list_total - share,
        currency=order.currency,
        open_rate=product.open_rate,
        attribution_token=line.attribution_token,
        attributed_creator_id=credit.creator_id if credit.credited else None,
        attributed_link_id=credit.link_id if credit.credited else None,
        commission_rate=credit.rate_decimal if credit.credited else None,
        attribution=credit.receipt(),
    )


def _cart_codes(locked: Cart, lines: list[CartLine], at: datetime) -> dict[int, AppliedCode]:
    """The cart's codes priced strictly (any problem refuses the checkout); none read when
    the cart has none."""
    if not locked.has_codes:
        return {}
    codes = codes_with_discounts(codes=CartCode.objects.filter(cart=locked).values("code"))
    return codes_price(lines=lines, codes=codes, currency=locked.currency, at=at, strict=True)


def _reserve_uses(
    applied: dict[int, AppliedCode], *, order: Order, email: str, user: User | None
) -> None:
    """Take one use of each discount that takes something off, in discount-id order."""
    for entry in sorted(applied.values(), key=lambda e: e.code.discount_id):
        if entry.total > 0:
            discount_use_reserve(
                discount=entry.code.discount,
                code=entry.code.code,
                order_id=order.pk,
                email=email,
                user=user,
            )


def _create_order(
    *,
    cart_id: int,
    owner: CartOwner | None,
    user: User | None,
    scope: str,
    key: str,
    fingerprint: str,
    email: str,
    shipping_address: dict[str, Any],
    client: PaymentClient,
) -> tuple[Order, bool]:
    """Write the order, its lines and shipping, and hold the stock: one short transaction.

    Returns the order and whether it was made now (False: the key already had one).

    The cart is read once (its row locked, then its lines with their variants, products and
    brands), lines and shipping are inserted in bulk, and the order comes back with both
    attached (`prefetched`), so answering the request reads nothing more.
    """
    with transaction.atomic(durable=True):
        found = _lock_cart(cart_id, owner=owner, scope=scope, key=key)
        if found.raced_id is not None:
            return Order.objects.get(pk=found.raced_id), False
        locked = found.cart
        if locked.status != Cart.Status.OPEN:
            raise Conflict("This cart has already been ordered.", code="cart_closed")
        cart_lines = _cart_lines(locked.pk)
        if not cart_lines:
            raise ApplicationError("The cart is empty.", code="cart_empty")
        cart_check_size(len(cart_lines))  # carts filled before the limit was enforced
        for line in cart_lines:
            product = line.variant.product
            if product.status != Product.Status.ACTIVE or not product.brand.is_active:
                raise Conflict(
                    f"SKU {line.variant.sku} is no longer for sale.",
                    code="sku_unavailable",
                    details={"sku": line.variant.sku},
                )
        currency = locked.currency
        totals = price_lines(((line.variant, line.quantity) for line in cart_lines), currency)
        now = timezone.now()
        applied = _cart_codes(locked, cart_lines, now)
        totals.discount = sum((entry.total for entry in applied.values()), Decimal(0))
        minimum = minimum_charge(currency)
        if totals.grand < minimum:
            raise ApplicationError(
                f"The total is below the minimum charge of {minimum} {currency}.",
                code="amount_too_small",
                details={"minimum": {"amount": str(minimum), "currency": currency}},
            )
        if found.pending:
            _replace_pending_orders(locked)

        expires_at = now + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
        buyer = user if user is not None and user.is_authenticated else None
        (order,) = models_insert(
            [
                Order(
                    user=buyer,
                    cart=locked,
                    checkout_scope=scope,
                    checkout_key=key,
                    checkout_fingerprint=fingerprint,
                    email=email,
                    shipping_address=shipping_address,
                    currency=currency,
                    items_total=quantize(totals.items, currency),
                    discount_total=quantize(totals.discount, currency),
                    shipping_total=quantize(totals.shipping, currency),
                    grand_total=quantize(totals.grand, currency),
                    reservation_expires_at=expires_at,
                    client_ip_hash=client.ip_hash,
                    device_hash=client.device_hash,
                    shipping_hash=risk_shipping_hash(shipping_address),
                )
            ]
        )
        buyer_id = buyer.pk if buyer is not None else None
        order_lines = models_insert(
            [
                _order_line(
                    order,
                    line,
                    buyer_id=buyer_id,
                    email=email,
                    at=now,
                    code=applied.get(line.variant.product.brand_id),
                )
                for line in cart_lines
            ]
        )
        shipping = models_insert(
            [
                OrderShipping(order=order, brand=entry.brand, amount=entry.shipping)
                for entry in totals.brands
            ]
        )
        order_note(order=order, kind="created", data={"hold_until": expires_at.isoformat()})
        # A refused use (cap reached meanwhile) rolls all of it back: nothing stays reserved.
        _reserve_uses(applied, order=order, email=email, user=buyer)
        # Stock last: the hot variant rows stay locked only from here to the commit.
        _hold_all(order_lines, expires_at)
        # Once per order created (a repeated key returned the existing order above); nothing
        # after this point can roll the order back but the commit itself.
        CHECKOUTS_STARTED.inc()
        # What prefetch_related("lines", "shipping_lines") would have read back.
        prefetched(order, "lines", order_lines)
        prefetched(order, "shipping_lines", shipping)
        return order, True


# Fixed text: the ORM compiled this same conditional UPDATE on every checkout and every
# `payment_intent.*` webhook, 4 % of a checkout's web CPU under load (py-spy).
_RECORD_INTENT_SQL = """
UPDATE orders_order SET stripe_payment_intent_id = %s, stripe_client_secret = %s
WHERE id = %s AND (
    stripe_payment_intent_id IS NULL
    OR (stripe_payment_intent_id = %s AND stripe_client_secret = '')
)
"""


def order_payment_intent_record(*, order_id: int, intent_id: str, client_secret: str) -> bool:
    """Record the order's PaymentIntent and its client secret, whoever learns them first.

    Checkout and the `payment_intent.*` webhook both call this, in either order: the id is
    set once, and a secret still missing is filled in, so neither can leave the other's
    half behind (an id with no secret is an order nobody can pay). True if this call
    recorded something. One conditional UPDATE, atomic on its own: no transaction around it,
    which would cost two more round trips on every checkout.
    """
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_INTENT_SQL, [intent_id, client_secret, order_id, intent_id])
        return bool(cursor.rowcount)


def _needs_payment_intent(order: Order) -> bool:
    return order.status == Order.Status.PENDING_PAYMENT and not (
        order.stripe_payment_intent_id and order.stripe_client_secret
    )


def _attach_payment_intent(order: Order) -> Order:
    """Create, get back on a retry, or complete the order's PaymentIntent.

    Never inside a transaction. An intent whose id is known without its secret (the
    webhook recorded it first, or an older release did) is fetched from Stripe.
    """
    if in_transaction():
        raise RuntimeError("Stripe must not be called inside a transaction.")
    try:
        if order.stripe_payment_intent_id:
            intent = stripe_client().v1.payment_intents.retrieve(order.stripe_payment_intent_id)
        else:
            intent = _create_payment_intent(order)
    except stripe.StripeError as exc:
        logger.warning("PaymentIntent create or fetch failed for order %s: %s", order.pk, exc)
        with transaction.atomic(durable=True):
            order_note(
                order=order,
                kind="payment_intent_create_failed",
                data={"error": exc.__class__.__name__, "code": getattr(exc, "code", None)},
            )
        raise upstream_error(exc) from exc
    recorded = order_payment_intent_record(
        order_id=order.pk, intent_id=intent.id, client_secret=intent.client_secret or ""
    )
    if recorded:
        order.stripe_payment_intent_id = intent.id
        order.stripe_client_secret = intent.client_secret or ""
    else:  # recorded by someone else first (the webhook): theirs is the truth
        order.refresh_from_db()
    return order


def _create_payment_intent(order: Order) -> stripe.PaymentIntent:
    address = order.shipping_address
    return stripe_client().v1.payment_intents.create(
        params={
            "amount": stripe_amount(order.grand_total, order.currency),
            "currency": order.currency.lower(),
            "automatic_payment_methods": {"enabled": True},
            "receipt_email": order.email,
            "description": f"Tribe order {order.pk}",
            "metadata": {"order_id": str(order.pk)},
            "shipping": {
                "name": address.get("name", ""),
                "phone": address.get("phone", ""),
                "address": {
                    "line1": address.get("line1", ""),
                    "line2": address.get("line2", ""),
                    "city": address.get("city", ""),
                    "postal_code": address.get("postal_code", ""),
                    "state": address.get("region", ""),
                    "country": address.get("country", ""),
                },
            },
        },
        options={"idempotency_key": f"tribe-order-{order.pk}-payment-intent"},
    )


def _is_another_request(order: Order, *, cart_id: int, email: str, fingerprint: str) -> bool:
    if order.checkout_fingerprint:
        return order.checkout_fingerprint != fingerprint
    # Orders from before the fingerprint was kept: the fields that were compared then.
    return order.cart_id != cart_id or order.email != email


def checkout_start(
    *,
    cart: Cart,
    user: User | None,
    idempotency_key: str,
    email: str,
    shipping_address: dict[str, Any],
    request_fingerprint: str | None = None,
    client: PaymentClient | None = None,
) -> Order:
    """Start (or resume, for a repeated key) the checkout of a cart the caller has already
    found to be theirs (the web shop reads it by its token)."""
    order, _ = _checkout(
        cart_id=cart.pk,
        owner=None,
        user=user,
        idempotency_key=idempotency_key,
        email=email,
        shipping_address=shipping_address,
        request_fingerprint=request_fingerprint,
        client=client,
    )
    return order


def checkout_start_or_replay(
    *,
    cart_id: int,
    cart_token: str | None,
    user: User | None,
    idempotency_key: str,
    email: str,
    shipping_address: dict[str, Any],
    request_fingerprint: str | None = None,
    client: PaymentClient | None = None,
) -> tuple[Order, bool]:
    """Start the checkout of the caller's cart, or resume it for a repeated key:
    (order, replayed).

    The caller owns the cart as signed-in owner or by the anonymous cart's token
    (`cart_owner`), checked by the statement that locks it; any other cart is 404
    `cart_not_found`. A repeated key with any other request is refused with 422. The API
    passes the fingerprint of the whole request body (`body_fingerprint`); other callers
    get one of the arguments. A client or cart blocked for declined payments is refused
    with 429 before anything is written or sent to Stripe (`orders.services.payment_attempts`).
    """
    owner = cart_owner(user=user, token=cart_token)
    if owner is None:
        raise NotFound("No such cart.", code="cart_not_found")
    return _checkout(
        cart_id=cart_id,
        owner=owner,
        user=user,
        idempotency_key=idempotency_key,
        email=email,
        shipping_address=shipping_address,
        request_fingerprint=request_fingerprint,
        client=client,
    )


def _checkout(
    *,
    cart_id: int,
    owner: CartOwner | None,
    user: User | None,
    idempotency_key: str,
    email: str,
    shipping_address: dict[str, Any],
    request_fingerprint: str | None,
    client: PaymentClient | None,
) -> tuple[Order, bool]:
    client = client or PaymentClient()
    payment_attempts_check(subjects=client.subjects(cart_id=cart_id))
    if request_fingerprint is None:
        request_fingerprint = body_fingerprint(
            {"cart_id": cart_id, "email": email, "shipping_address": shipping_address}
        )
    scope = checkout_scope(user=user, cart_id=cart_id)
    # A repeated key is found by the statement that locks the cart (_lock_cart).
    try:
        order, created = _create_order(
            cart_id=cart_id,
            owner=owner,
            user=user,
            scope=scope,
            key=idempotency_key,
            fingerprint=request_fingerprint,
            email=email,
            shipping_address=shipping_address,
            client=client,
        )
    except IntegrityError:
        # The same key raced us to it: that order is the answer.
        order = Order.objects.get(checkout_scope=scope, checkout_key=idempotency_key)
        created = False
    replayed = not created
    log_context.order_bind(order.pk)
    if _is_another_request(order, cart_id=cart_id, email=email, fingerprint=request_fingerprint):
        raise UnprocessableEntity(
            "This Idempotency-Key was used for another checkout.", code="idempotency_key_reused"
        )
    if _needs_payment_intent(order):
        order = _attach_payment_intent(order)
    return order, replayed


def order_payment_intent_ensure(*, order: Order) -> Order:
    """Make sure a pending order has its PaymentIntent and secret (the payment page calls this)."""
    if _needs_payment_intent(order):
        return _attach_payment_intent(order)
    return order

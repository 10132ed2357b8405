"""Cart writes: create, set or remove a line (safe to retry), merge on sign-in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from common.db import models_insert
from common.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from creators.selectors.attribution import (
    attribution_token_choose,
    attribution_token_supersedes,
)
from orders.models import Cart, CartLine
from shop.models import Product


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = "Not enough stock."


def _check_quantity(quantity: int) -> None:
    maximum = settings.CART_MAX_LINE_QUANTITY
    if not 1 <= quantity <= maximum:
        raise ValidationFailed(
            f"Quantity must be between 1 and {maximum}.",
            code="invalid_quantity",
            fields={"quantity": [{"code": "out_of_range", "message": f"1 to {maximum}."}]},
        )


def cart_check_size(line_count: int) -> None:
    """Refuse a cart holding more than CART_MAX_LINES distinct lines."""
    maximum = settings.CART_MAX_LINES
    if line_count > maximum:
        raise ValidationFailed(
            f"A cart holds at most {maximum} different items.",
            code="cart_too_large",
            details={"max_lines": maximum},
        )


def _lock_open_cart(cart_id: int) -> Cart:
    cart = Cart.objects.select_for_update().get(pk=cart_id)
    if cart.status != Cart.Status.OPEN:
        raise Conflict("This cart has already been ordered.", code="cart_closed")
    return cart


def _cart_new() -> Cart:
    """A new anonymous cart, written by one fixed INSERT (`models_insert`)."""
    (cart,) = models_insert([Cart()])
    return cart


def cart_create(*, user: User | None) -> Cart:
    """A new cart; signed-in users reuse their open cart."""
    if user is None or not user.is_authenticated:
        return _cart_new()  # one INSERT: no transaction needed around it
    with transaction.atomic(durable=True):
        return _open_cart_of(user)


def _open_cart_of(user: User) -> Cart:
    existing = Cart.objects.filter(user=user, status=Cart.Status.OPEN).first()
    if existing is not None:
        return existing
    return Cart.objects.create(user=user)


class CartRow(NamedTuple):
    """A line of a cart with what showing it needs: its variant, product and brand."""

    id: int
    sku: str
    product_id: int
    title: str
    variant_title: str
    brand_id: int
    brand_slug: str
    currency: str  # the brand's
    quantity: int
    price: Decimal
    available: int
    low_stock_threshold: int
    attribution_token: str
    shipping_flat_rate: Decimal
    free_shipping_threshold: Decimal | None


class CartContents(NamedTuple):
    """A cart as a line was just set in it: its row and every line, read in the write."""

    id: int
    token: str
    user_id: int | None
    status: str
    currency: str
    has_codes: bool
    created_at: datetime
    updated_at: datetime
    lines: list[CartRow]


class CartOwner(NamedTuple):
    """Who may write a cart: its signed-in owner, or anyone with an anonymous cart's token."""

    user_id: int | None
    token: str | None


def cart_owner(*, user: User | None, token: str | None) -> CartOwner | None:
    """The caller as a cart owner (`orders.selectors.cart_get_for`'s rule); None: nobody.

    A signed-in shopper owns their carts; anyone with an anonymous cart's token owns that
    cart. Writers that lock the cart check it in the locking statement (`cart_lock_row`), so
    ownership costs no statement of its own.
    """
    user_id = user.pk if user is not None and user.is_authenticated else None
    if user_id is None and not token:
        return None
    return CartOwner(user_id, token or None)


# The condition a statement locking cart `c` adds to check its owner (`CartOwner`): a cart
# of someone else is neither read nor locked.
_OWNED_SQL = (
    "AND (c.user_id = %(user)s::bigint OR (c.user_id IS NULL AND c.token = %(token)s::varchar))"
)


def cart_lock_row(
    sql: str, params: dict[str, int | str | None], owner: CartOwner | None
) -> tuple[Any, ...]:
    """Run a statement that locks one cart `c` (`{owned}` where its owner check goes, when
    there is an owner to check): the row it read, or 404 `cart_not_found`."""
    if owner is not None:
        params = {**params, "user": owner.user_id, "token": owner.token}
    with connection.cursor() as cursor:
        cursor.execute(sql.format(owned=_OWNED_SQL if owner is not None else ""), params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such cart.", code="cart_not_found")
    return tuple(row)


# Setting a line is two statements in one transaction, whatever the cart holds. The first
# locks the open cart (checking its owner when asked: a cart of someone else is neither read
# nor locked) and reads what setting the line checks: the SKU's product and brand, its free
# stock, this SKU's line and the number of other lines. The second writes the cart's
# currency and the line and reads every line back with what the answer shows: the lines
# read are the ones before the write but this SKU's, which the upsert returns.
# Django's query compiler cost this request more CPU than PostgreSQL did.
_LOCK_FOR_LINE_SQL = """
SELECT c.id, c.status, c.currency, v.id, v.product_id, p.status, b.is_active, b.currency,
    GREATEST(v.on_hand - v.reserved, 0),
    (SELECT count(*) FROM orders_cartline o
     WHERE o.cart_id = c.id AND o.variant_id IS DISTINCT FROM v.id),
    l.id, l.attribution_token
FROM orders_cart c
LEFT JOIN shop_variant v ON v.sku = %(sku)s
LEFT JOIN shop_product p ON p.id = v.product_id
LEFT JOIN shop_brand b ON b.id = p.brand_id
LEFT JOIN orders_cartline l ON l.cart_id = c.id AND l.variant_id = v.id
WHERE c.id = %(cart)s {owned}
FOR UPDATE OF c
"""

_LINE_WRITE_SQL = """
WITH cart AS (
    UPDATE orders_cart SET currency = %(currency)s, updated_at = %(now)s
    WHERE id = %(cart)s
    RETURNING id, token, user_id, status, currency, has_codes, created_at, updated_at
),
line AS (
    INSERT INTO orders_cartline
        (cart_id, variant_id, quantity, attribution_token, added_at, updated_at)
    VALUES (%(cart)s, %(variant)s, %(quantity)s, %(token)s, %(now)s, %(now)s)
    ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity,
        attribution_token = EXCLUDED.attribution_token, updated_at = EXCLUDED.updated_at
    RETURNING id, variant_id, quantity, attribution_token
),
lines AS (
    SELECT id, variant_id, quantity, attribution_token FROM orders_cartline
    WHERE cart_id = %(cart)s AND variant_id <> %(variant)s
    UNION ALL
    SELECT id, variant_id, quantity, attribution_token FROM line
)
SELECT cart.*, l.id, v.sku, v.product_id, p.title, v.title, b.id, b.slug, b.currency,
    l.quantity,
    v.price, GREATEST(v.on_hand - v.reserved, 0), v.low_stock_threshold,
    l.attribution_token, b.shipping_flat_rate, b.free_shipping_threshold
FROM cart
CROSS JOIN lines l
JOIN shop_variant v ON v.id = l.variant_id
JOIN shop_product p ON p.id = v.product_id
JOIN shop_brand b ON b.id = p.brand_id
ORDER BY l.id
"""


class _Locked(NamedTuple):
    cart_id: int
    status: str
    currency: str
    variant_id: int | None
    product_id: int | None
    product_status: str | None
    brand_active: bool | None
    brand_currency: str | None
    available: int | None
    others: int
    line_id: int | None
    line_token: str | None


def cart_line_set(
    *,
    cart_id: int,
    sku: str,
    quantity: int,
    attribution_tokens: Sequence[str] = (),
    owner: CartOwner | None = None,
) -> CartContents:
    """Set the line's quantity to exactly `quantity` (a retry changes nothing more); the cart
    as it is then.

    With `owner`, the statement that locks the cart checks that the caller owns it: any
    other cart is 404 `cart_not_found`, as if it did not exist. Without, the caller has
    found the cart to be theirs already (the web shop reads it by its token).

    Of the attribution tokens the shopper carries (the app's, the web cookie), the line
    keeps the one that credits this product; a later click replaces an earlier one, and a
    client resending an older token does not undo that.
    """
    with transaction.atomic(durable=True):
        return _line_set(cart_id, sku, quantity, attribution_tokens, owner=owner)


def cart_create_with_lines(
    *,
    user: User | None,
    lines: Sequence[tuple[str, int]],
    attribution_tokens: Sequence[str] = (),
) -> CartContents:
    """A cart holding `lines` (SKU, quantity), or nothing at all when one is refused.

    The first "add to cart" in one request: the web shop's, and an app's that creates its
    cart with what the fan tapped. An anonymous caller gets a new cart; a signed-in one their
    open cart, each line set to exactly its quantity. A refused line (unknown or sold out,
    bad quantity) leaves no empty cart behind and changes nothing.
    """
    if not lines:
        raise ValidationFailed("Give at least one line.", code="lines_required")
    skus = [sku for sku, _ in lines]
    if len(set(skus)) < len(skus):
        raise ValidationFailed("Each SKU may appear once.", code="duplicate_sku")
    cart_check_size(len(lines))
    for _, quantity in lines:
        _check_quantity(quantity)
    signed_in = user is not None and user.is_authenticated
    with transaction.atomic(durable=True):
        cart = _open_cart_of(user) if signed_in and user is not None else _cart_new()
        for sku, quantity in lines:
            contents = _line_set(cart.pk, sku, quantity, attribution_tokens, owner=None)
        return contents


def _lock_for_line(cart_id: int, sku: str, owner: CartOwner | None) -> _Locked:
    return _Locked._make(cart_lock_row(_LOCK_FOR_LINE_SQL, {"cart": cart_id, "sku": sku}, owner))


def _line_set(
    cart_id: int,
    sku: str,
    quantity: int,
    attribution_tokens: Sequence[str],
    *,
    owner: CartOwner | None,
) -> CartContents:
    """Set a line of a cart, locking it in the caller's transaction."""
    locked = _lock_for_line(cart_id, sku, owner)
    _check_quantity(quantity)
    if locked.variant_id is None or locked.product_id is None:
        raise NotFound(f"No product has SKU {sku}.", code="sku_not_found")
    if locked.product_status != Product.Status.ACTIVE or not locked.brand_active:
        raise ApplicationError(f"SKU {sku} is not for sale.", code="sku_unavailable")
    if locked.status != Cart.Status.OPEN:
        raise Conflict("This cart has already been ordered.", code="cart_closed")
    currency = locked.brand_currency or ""
    if locked.others and locked.currency and locked.currency != currency:
        raise ApplicationError(
            f"This cart is in {locked.currency}; {sku} is sold in {currency}.",
            code="currency_mismatch",
            details={"cart_currency": locked.currency, "sku_currency": currency},
        )
    # Counted with this SKU's line, so changing a quantity in a full cart still works.
    cart_check_size(locked.others + 1)
    available = locked.available or 0
    if quantity > available:
        raise OutOfStock(
            f"Only {available} left of {sku}.", details={"available": {sku: available}}
        )
    token = attribution_token_choose(tokens=attribution_tokens, product_id=locked.product_id)
    if locked.line_id is not None:
        current = locked.line_token or ""
        if not (token and attribution_token_supersedes(token, current)):
            token = current
    with connection.cursor() as cursor:
        cursor.execute(
            _LINE_WRITE_SQL,
            {
                "cart": cart_id,
                "variant": locked.variant_id,
                "quantity": quantity,
                "token": token,
                "currency": currency,
                "now": timezone.now(),
            },
        )
        rows = cursor.fetchall()
    return CartContents._make((*rows[0][:8], [CartRow._make(row[8:]) for row in rows]))


def cart_line_remove(*, cart: Cart, sku: str) -> None:
    with transaction.atomic(durable=True):
        locked = _lock_open_cart(cart.pk)
        deleted, _ = CartLine.objects.filter(cart=locked, variant__sku=sku).delete()
        if not deleted:
            raise NotFound(f"The cart has no line for {sku}.", code="line_not_found")
        if not locked.lines.exists():
            locked.currency = ""
            locked.save(update_fields=["currency", "updated_at"])


def cart_merge(*, source: Cart, user: User) -> Cart:
    """Fold an anonymous cart into the user's open cart (quantities add, capped)."""
    if source.user_id is not None:
        raise Conflict("Only an anonymous cart can be merged.", code="cart_not_anonymous")
    maximum = settings.CART_MAX_LINE_QUANTITY
    with transaction.atomic(durable=True):
        target = Cart.objects.filter(user=user, status=Cart.Status.OPEN).first()
        if target is None:
            Cart.objects.filter(pk=source.pk, status=Cart.Status.OPEN).update(
                user=user, updated_at=timezone.now()
            )
            return Cart.objects.get(pk=source.pk)
        # Lock both carts in id order so two merges never deadlock.
        locked = {
            c.pk: c
            for c in Cart.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        src, dst = locked[source.pk], locked[target.pk]
        if src.status != Cart.Status.OPEN:
            raise Conflict("This cart has already been ordered.", code="cart_closed")
        src_lines = list(src.lines.select_related("variant__product__brand"))
        if (
            dst.currency
            and any(line.variant.product.brand.currency != dst.currency for line in src_lines)
            and dst.lines.exists()
        ):
            raise ApplicationError(
                "The carts are in different currencies.", code="currency_mismatch"
            )
        merged_variants = {line.variant_id for line in src_lines}
        merged_variants.update(dst.lines.values_list("variant_id", flat=True))
        cart_check_size(len(merged_variants))
        for line in src_lines:
            existing = dst.lines.filter(variant=line.variant).first()
            if existing is None:
                CartLine.objects.create(
                    cart=dst,
                    variant=line.variant,
                    quantity=min(line.quantity, maximum),
                    attribution_token=line.attribution_token,
                )
            else:
                existing.quantity = min(existing.quantity + line.quantity, maximum)
                existing.attribution_token = line.attribution_token or existing.attribution_token
                existing.save(update_fields=["quantity", "attribution_token", "updated_at"])
            if not dst.currency:
                dst.currency = line.variant.product.brand.currency
        dst.save(update_fields=["currency", "updated_at"])
        src.status = Cart.Status.MERGED
        src.save(update_fields=["status", "updated_at"])
        return dst

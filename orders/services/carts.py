"""Cart writes: create, set or remove a line (safe to retry), merge on sign-in."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from common.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from creators.selectors.attribution import (
    attribution_token_choose,
    attribution_token_supersedes,
)
from orders.models import Cart, CartLine
from shop.models import Product, Variant


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = "Not enough stock."


def _purchasable_variant(sku: str) -> Variant:
    variant = Variant.objects.select_related("product__brand").filter(sku=sku).first()
    if variant is None:
        raise NotFound(f"No product has SKU {sku}.", code="sku_not_found")
    product = variant.product
    if product.status != Product.Status.ACTIVE or not product.brand.is_active:
        raise ApplicationError(f"SKU {sku} is not for sale.", code="sku_unavailable")
    return variant


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


def cart_create(*, user: User | None) -> Cart:
    """A new cart; signed-in users reuse their open cart."""
    if user is None or not user.is_authenticated:
        return Cart.objects.create()  # one INSERT: no transaction needed around it
    with transaction.atomic(durable=True):
        existing = Cart.objects.filter(user=user, status=Cart.Status.OPEN).first()
        if existing is not None:
            return existing
        return Cart.objects.create(user=user)


def cart_line_set(
    *, cart: Cart, sku: str, quantity: int, attribution_tokens: Sequence[str] = ()
) -> CartLine:
    """Set the line's quantity to exactly `quantity` (a retry changes nothing more).

    Of the attribution tokens the shopper carries (the app's, the web cookie), the line
    keeps the one that credits this product; a later click replaces an earlier one, and a
    client resending an older token does not undo that.
    """
    _check_quantity(quantity)
    variant = _purchasable_variant(sku)
    attribution_token = attribution_token_choose(
        tokens=attribution_tokens, product_id=variant.product_id
    )
    with transaction.atomic(durable=True):
        return _line_set(cart.pk, variant, quantity, attribution_token)


def cart_create_with_line(
    *, sku: str, quantity: int, attribution_tokens: Sequence[str] = ()
) -> CartLine:
    """A new anonymous cart holding one line, or nothing at all when the line is refused.

    The web shop's first "add to cart": a refused line (sold out, bad quantity) leaves no
    empty cart behind.
    """
    _check_quantity(quantity)
    variant = _purchasable_variant(sku)
    attribution_token = attribution_token_choose(
        tokens=attribution_tokens, product_id=variant.product_id
    )
    with transaction.atomic(durable=True):
        cart = Cart.objects.create()
        return _line_set(cart.pk, variant, quantity, attribution_token)


def _lock_for_line(cart_id: int, variant: Variant) -> Cart:
    """Lock the open cart in one statement that also reads what setting a line checks: the
    number of its other lines, this SKU's line (id and token) and the SKU's free stock."""
    lines = CartLine.objects.filter(cart=OuterRef("pk"))
    this_line = lines.filter(variant_id=variant.pk)
    stock = Variant.objects.filter(pk=variant.pk)
    locked = (
        Cart.objects.select_for_update(of=("self",))
        .annotate(
            others=Coalesce(
                Subquery(
                    lines.exclude(variant_id=variant.pk)
                    .order_by()
                    .values("cart")
                    .annotate(n=Count("pk"))
                    .values("n")
                ),
                0,
            ),
            line_id=Subquery(this_line.values("pk")[:1]),
            line_token=Subquery(this_line.values("attribution_token")[:1]),
            available=Subquery(
                stock.annotate(free=F("on_hand") - F("reserved")).values("free")[:1]
            ),
        )
        .get(pk=cart_id)
    )
    if locked.status != Cart.Status.OPEN:
        raise Conflict("This cart has already been ordered.", code="cart_closed")
    return locked


def _line_set(cart_id: int, variant: Variant, quantity: int, attribution_token: str) -> CartLine:
    """Set a line of a cart, locking it in the caller's transaction."""
    locked = _lock_for_line(cart_id, variant)
    sku = variant.sku
    currency = variant.product.brand.currency
    others = locked.others  # type: ignore[attr-defined]
    if others and locked.currency and locked.currency != currency:
        raise ApplicationError(
            f"This cart is in {locked.currency}; {sku} is sold in {currency}.",
            code="currency_mismatch",
            details={"cart_currency": locked.currency, "sku_currency": currency},
        )
    # Counted with this SKU's line, so changing a quantity in a full cart still works.
    cart_check_size(others + 1)
    available = max(0, locked.available)  # type: ignore[attr-defined]
    if quantity > available:
        raise OutOfStock(
            f"Only {available} left of {sku}.", details={"available": {sku: available}}
        )
    locked.currency = currency
    locked.save(update_fields=["currency", "updated_at"])
    if locked.line_id is None:  # type: ignore[attr-defined]
        # The cart's lock keeps a second writer of this cart out until the commit.
        return CartLine.objects.create(
            cart=locked,
            variant=variant,
            quantity=quantity,
            attribution_token=attribution_token or "",
        )
    token = locked.line_token  # type: ignore[attr-defined]
    if attribution_token and attribution_token_supersedes(attribution_token, token):
        token = attribution_token
    line = CartLine(
        pk=locked.line_id,  # type: ignore[attr-defined]
        cart=locked,
        variant=variant,
        quantity=quantity,
        attribution_token=token,
    )
    line.save(update_fields=["quantity", "attribution_token", "updated_at"])
    return line


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

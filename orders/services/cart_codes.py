"""Apply a code to a cart, or remove it: both safe to retry; one code per brand per cart."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from common.errors import Conflict
from creators.models import CreatorCode
from creators.selectors.codes import (
    CodeNotFound,
    code_get_live,
    code_is_wellformed,
    code_normalise,
    codes_with_discounts,
)
from orders.discounts import codes_price
from orders.models import Cart, CartCode, CartLine
from shop.discounts import CodeLimitPerShopper, discount_check_available
from shop.services.discounts import discount_shopper_uses


def _lock_open_cart(cart_id: int) -> Cart:
    cart = Cart.objects.select_for_update().get(pk=cart_id)
    if cart.status != Cart.Status.OPEN:
        raise Conflict("This cart has already been ordered.", code="cart_closed")
    return cart


def cart_code_apply(*, cart: Cart, code: str, user: User | None) -> CreatorCode:
    """Apply `code` to the cart: its brand's lines get its discount from now on.

    The same code again changes nothing; another code of the same brand is a 409
    `code_conflict`. A code that would not apply now (dates, products, minimum, uses, the
    signed-in shopper's cap) is refused with its reason; checkout checks everything again.
    """
    found = code_get_live(code=code)
    with transaction.atomic(durable=True):
        locked = _lock_open_cart(cart.pk)
        lines = list(
            CartLine.objects.filter(cart=locked)
            .select_related("variant__product__brand")
            .order_by("id")
        )
        if not any(line.variant.product.brand_id == found.brand_id for line in lines):
            # Answered as an unknown code: the answer must not tell that another brand has it.
            raise CodeNotFound()
        existing = CartCode.objects.filter(cart=locked, brand_id=found.brand_id).first()
        if existing is not None:
            if existing.code == found.code:
                return found
            raise Conflict(
                f"The cart already has a code for {found.brand.name}: {existing.code}.",
                code="code_conflict",
                details={"brand": found.brand.slug, "applied": existing.code},
            )
        (priced,) = codes_with_discounts(codes=[found.code])
        codes_price(
            lines=lines,
            codes=[priced],
            currency=locked.currency or found.brand.currency,
            at=timezone.now(),
            strict=True,
        )
        discount = priced.discount
        discount_check_available(discount)
        cap = discount.max_uses_per_shopper
        if (
            cap is not None
            and user is not None
            and user.is_authenticated
            and discount_shopper_uses(discount_id=discount.pk, email=user.email, user_id=user.pk)
            >= cap
        ):
            raise CodeLimitPerShopper()
        CartCode.objects.create(cart=locked, brand_id=found.brand_id, code=found.code)
        if not locked.has_codes:
            locked.has_codes = True
            locked.save(update_fields=["has_codes", "updated_at"])
        return found


def cart_code_remove(*, cart: Cart, code: str) -> None:
    """Take a code off the cart; removing one that is not there changes nothing."""
    normalised = code_normalise(code)
    with transaction.atomic(durable=True):
        locked = _lock_open_cart(cart.pk)
        if code_is_wellformed(normalised):  # nothing else can be on a cart
            CartCode.objects.filter(cart=locked, code=normalised).delete()
        if locked.has_codes and not CartCode.objects.filter(cart=locked).exists():
            locked.has_codes = False
            locked.save(update_fields=["has_codes", "updated_at"])

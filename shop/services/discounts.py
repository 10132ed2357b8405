"""Brand discounts: create and change them, and hold or release the uses checkouts make.

`discount_use_reserve`, `discount_uses_release` and `discount_uses_retake` compose: they
join the checkout's (or the order expiry's, or a late payment's) transaction. A use is taken
with one conditional UPDATE, like stock, so the total-use cap is never exceeded however many
checkouts race for the last use.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from accounts.models import User
from common.errors import Conflict, ValidationFailed
from shop.discounts import CodeExhausted, CodeLimitPerShopper, discount_check_live
from shop.models import Brand, Discount, DiscountUse, Product

_FIELDS = (
    "name",
    "kind",
    "value",
    "applies_to_all",
    "collections",
    "minimum_subtotal",
    "starts_at",
    "ends_at",
    "max_uses",
    "max_uses_per_shopper",
    "status",
)


def shopper_email_normalise(email: str) -> str:
    """The per-shopper key: trimmed and lower-cased."""
    return (email or "").strip().lower()


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message, code=code, fields={field: [{"code": code, "message": message}]}
    )


def _validate(discount: Discount, product_ids: list[int] | None) -> None:
    value = Decimal(discount.value)
    if value <= 0:
        raise _invalid("value", "discount_value_invalid", "The value must be above zero.")
    if discount.kind == Discount.Kind.PERCENTAGE and value > 100:
        raise _invalid("value", "discount_value_invalid", "A percentage is at most 100.")
    if discount.starts_at and discount.ends_at and discount.ends_at <= discount.starts_at:
        raise _invalid("ends_at", "discount_window_invalid", "The end must come after the start.")
    if discount.minimum_subtotal is not None and discount.minimum_subtotal < 0:
        raise _invalid("minimum_subtotal", "discount_minimum_invalid", "Must not be negative.")
    if discount.max_uses is not None and discount.max_uses < discount.uses:
        raise _invalid(
            "max_uses", "discount_cap_below_uses", f"{discount.uses} uses are already taken."
        )
    if not discount.applies_to_all and not product_ids and not discount.collections:
        raise _invalid(
            "products",
            "discount_products_required",
            "Choose products or collections, or apply to the brand.",
        )


def _collections_of_brand(brand: Brand, collections: Iterable[str]) -> list[str]:
    """The collections named, trimmed and without repeats; each must hold a brand's product."""
    wanted = sorted({name.strip() for name in collections if name and name.strip()})
    if not wanted:
        return []
    found = set(
        Product.objects.filter(brand=brand, category__in=wanted)
        .values_list("category", flat=True)
        .distinct()
    )
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ValidationFailed(
            "Some collections hold none of this brand's products.",
            code="discount_collection_not_in_brand",
            fields={"collections": [{"code": "not_in_brand", "message": f"Unknown: {missing}."}]},
        )
    return wanted


def _products_of_brand(brand: Brand, product_ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(product_ids))
    found = set(Product.objects.filter(brand=brand, pk__in=wanted).values_list("pk", flat=True))
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise ValidationFailed(
            "Some products are not this brand's.",
            code="discount_product_not_in_brand",
            fields={"products": [{"code": "not_in_brand", "message": f"Unknown: {missing}."}]},
        )
    return wanted


def discount_create(*, brand: Brand, product_ids: Iterable[int] = (), **data: Any) -> Discount:
    """A new discount of `brand`; `data` holds the model's editable fields."""
    with transaction.atomic(durable=True):
        return discount_create_joined(brand=brand, product_ids=product_ids, **data)


def discount_create_joined(
    *, brand: Brand, product_ids: Iterable[int] = (), **data: Any
) -> Discount:
    """`discount_create` in the caller's transaction (a creator's own code makes one)."""
    unknown = set(data) - set(_FIELDS)
    if unknown:
        raise TypeError(f"Unknown discount fields: {sorted(unknown)}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("discount_create_joined runs inside the caller's transaction.")
    discount = Discount(brand=brand, **data)
    discount.collections = _collections_of_brand(brand, discount.collections or ())
    products = _products_of_brand(brand, product_ids)
    _validate(discount, products)
    discount.save()
    if products and not discount.applies_to_all:
        discount.products.set(products)
    return discount


def discount_update(
    *, discount: Discount, product_ids: Iterable[int] | None = None, **changes: Any
) -> Discount:
    """Change a discount's fields (and, when given, its products); uses are never edited."""
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise TypeError(f"Unknown discount fields: {sorted(unknown)}")
    with transaction.atomic(durable=True):
        locked = Discount.objects.select_for_update().get(pk=discount.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        if "collections" in changes:
            locked.collections = _collections_of_brand(locked.brand, locked.collections or ())
        if product_ids is not None:
            products = _products_of_brand(locked.brand, product_ids)
        else:
            products = list(locked.products.values_list("pk", flat=True))
        _validate(locked, products)
        locked.save()
        if product_ids is not None:
            locked.products.set(products if not locked.applies_to_all else [])
        return locked


def _shopper(email: str, user_id: int | None) -> Q:
    mine = Q(email=email)
    if user_id is not None:
        mine |= Q(user_id=user_id)
    return mine


def discount_shopper_uses(*, discount_id: int, email: str, user_id: int | None) -> int:
    """How many held uses of the discount this shopper (email or account) has."""
    return DiscountUse.objects.filter(
        _shopper(shopper_email_normalise(email), user_id),
        discount_id=discount_id,
        status=DiscountUse.Status.HELD,
    ).count()


# Taking a use is one statement: the conditional UPDATE of the counter (live, a use left,
# the shopper under their cap) and the use's row, inserted only if it matched, as a
# data-modifying CTE (the stock hold's shape), so a checkout with a code pays one round trip.
# The statuses are spelled as Discount.Status.ACTIVE and DiscountUse.Status.HELD store them.
_RESERVE_SQL = """
WITH taken AS (
    UPDATE "shop_discount" SET "uses" = "uses" + 1, "updated_at" = %(now)s::timestamptz
    WHERE "id" = %(discount)s::bigint
      AND "status" = 'active'
      AND ("starts_at" IS NULL OR "starts_at" <= %(now)s::timestamptz)
      AND ("ends_at" IS NULL OR "ends_at" > %(now)s::timestamptz)
      AND ("max_uses" IS NULL OR "uses" < "max_uses")
      AND ("max_uses_per_shopper" IS NULL OR "max_uses_per_shopper" > (
          SELECT count(*) FROM "shop_discountuse"
          WHERE "discount_id" = %(discount)s::bigint AND "status" = 'held'
            AND ("email" = %(email)s::text OR "user_id" = %(user)s::bigint)
      ))
    RETURNING "id"
)
INSERT INTO "shop_discountuse"
    ("discount_id", "code", "order_id", "email", "user_id", "status", "created_at")
SELECT "id", %(code)s::text, %(order)s::bigint, %(email)s::text, %(user)s::bigint,
    'held', %(now)s::timestamptz FROM taken
RETURNING "id"
"""

# The per-shopper count above is read from the statement's snapshot, and PostgreSQL's recheck
# of a row another checkout updated does not re-run it: two checkouts of one shopper would
# both see the uses as they were before either. Locking the discount's row first, in its own
# statement, makes the taking statement start after the other checkout committed, so its
# snapshot holds that checkout's use. Only discounts with a per-shopper cap pay for it.
_LOCK_SQL = 'SELECT 1 FROM "shop_discount" WHERE "id" = %(discount)s::bigint FOR UPDATE'


def discount_use_reserve(
    *,
    discount: Discount,
    code: str,
    order_id: int,
    email: str,
    user: User | None,
    at: datetime | None = None,
) -> int:
    """Take one use of the discount for an order, in the caller's transaction; the use's id.

    One statement takes it only while the discount is live, a use is left and the shopper
    (normalised email, or account) is under their cap, counting the uses of the same
    shopper's checkouts that committed while this one waited; a miss raises `code_exhausted` or
    `code_limit_per_shopper` (or `code_expired`) and the caller's rollback undoes the rest.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("Discount uses are taken inside the checkout's transaction.")
    at = at or timezone.now()
    user_id = user.pk if user is not None and user.is_authenticated else None
    with connection.cursor() as cursor:
        if discount.max_uses_per_shopper is not None:
            cursor.execute(_LOCK_SQL, {"discount": discount.pk})
        cursor.execute(
            _RESERVE_SQL,
            {
                "discount": discount.pk,
                "code": code,
                "order": order_id,
                "email": shopper_email_normalise(email),
                "user": user_id,
                "now": at,
            },
        )
        row = cursor.fetchone()
    if row is None:
        current = Discount.objects.get(pk=discount.pk)
        discount_check_live(current, at=at)
        if current.max_uses is not None and current.uses >= current.max_uses:
            raise CodeExhausted()
        raise CodeLimitPerShopper()
    return int(row[0])


def _order_uses_locked(order_id: int, status: str, done: str) -> list[tuple[int, int]]:
    """(use id, discount id) of an order's uses in `status`, locked in discount order, in the
    caller's transaction (a use is `done` only with the rest of the caller's work)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"Discount uses are {done} inside the caller's transaction.")
    return list(
        DiscountUse.objects.select_for_update()
        .filter(order_id=order_id, status=status)
        .order_by("discount_id")
        .values_list("pk", "discount_id")
    )


def discount_uses_release(*, order_id: int) -> int:
    """Give back the uses an order held (its hold lapsed or it will never be paid), once."""
    held = _order_uses_locked(order_id, DiscountUse.Status.HELD, "released")
    if not held:
        return 0
    DiscountUse.objects.filter(pk__in=[pk for pk, _ in held]).update(
        status=DiscountUse.Status.RELEASED, released_at=timezone.now()
    )
    for _, discount_id in held:
        Discount.objects.filter(pk=discount_id, uses__gt=0).update(uses=F("uses") - 1)
    return len(held)


def discount_uses_retake(*, order_id: int) -> list[int]:
    """Take back the uses an order gave back when its hold lapsed, now that it was paid
    after all (its shopper paid the discounted price); once, in the caller's transaction.

    A use left free for this long may have gone to another checkout: where the cap is full
    the use is still the order's (held again, so the shopper's cap and the code's figures
    count it) but not counted in `uses`, which never passes the cap. Returns those
    discounts' ids, for the order's history.
    """
    released = _order_uses_locked(order_id, DiscountUse.Status.RELEASED, "taken back")
    over_cap = []
    for use_id, discount_id in released:
        counted = (
            Discount.objects.filter(pk=discount_id)
            .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
            .update(uses=F("uses") + 1)
        )
        if not counted:
            over_cap.append(discount_id)
        DiscountUse.objects.filter(pk=use_id).update(
            status=DiscountUse.Status.HELD, released_at=None
        )
    return over_cap


def discount_delete(*, discount: Discount) -> None:
    """Delete a discount that no order used and no code points at; else pause it instead."""
    in_use = Conflict(
        "Codes or orders use this discount: pause it instead.", code="discount_in_use"
    )
    try:
        with transaction.atomic(durable=True):
            locked = Discount.objects.select_for_update().get(pk=discount.pk)
            if locked.uses_made.exists():
                raise in_use
            # Codes (in creators, above shop) protect their discount: the delete refuses.
            locked.delete()
    except ProtectedError as exc:
        raise in_use from exc

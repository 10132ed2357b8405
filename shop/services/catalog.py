"""Writes to brands' catalogs: products, images and variants.

Entry points (`product_create`, `product_update`, `product_set_status`, `variant_create`,
`variant_update`, `variant_stock_change`) open a durable transaction. `product_upsert`
and `variant_upsert` compose inside a caller's transaction (the CSV import uses them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import User
from common.errors import ApplicationError, Forbidden, NotFound, ValidationFailed
from common.money import currency_exponent
from shop.cache import catalog_changed
from shop.models import Brand, BrandMember, Product, ProductImage, StockMovement, Variant
from shop.services.stock import stock_adjust, stock_set

PRODUCT_FIELDS = ("title", "slug", "description", "category", "tags", "commission_rate")
VARIANT_FIELDS = (
    "title",
    "options",
    "price",
    "compare_at_price",
    "low_stock_threshold",
    "position",
)


def _field_error(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [{"code": code, "message": message}]})


def _require_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("This service composes inside the caller's transaction.")


def membership_require(*, user: User, brand_id: int, write: bool) -> BrandMember | None:
    """Return the user's membership of the brand; 404 if none, 403 if read-only for a write.

    Superusers pass without a membership.
    """
    if user.is_superuser:
        return None
    member = BrandMember.objects.filter(user=user, brand_id=brand_id).first()
    if member is None:
        raise NotFound("No such brand.", code="brand_not_found")
    if write and not member.can_write:
        raise Forbidden("Viewers cannot change the catalog.", code="role_read_only")
    return member


def validate_price(value: Any, *, currency: str, field: str = "price") -> Decimal:
    """A non-negative amount with no more decimals than the brand's currency has."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _field_error(field, "invalid", "Enter a decimal amount.") from None
    if not amount.is_finite():
        raise _field_error(field, "invalid", "Enter a decimal amount.")
    if amount < 0:
        raise _field_error(field, "min_value", "Must be 0 or more.")
    exponent = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        raise _field_error(
            field, "max_decimal_places", f"{currency} amounts have at most {exponent} decimals."
        )
    return amount


def validate_rate(value: Any, *, field: str = "commission_rate") -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _field_error(field, "invalid", "Enter a percentage.") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise _field_error(field, "out_of_range", "A rate is a percentage between 0 and 100.")
    return rate.quantize(Decimal("0.01"))


def _check_currency(brand: Brand, currency: str | None) -> None:
    if currency and currency.upper() != brand.currency:
        raise _field_error(
            "currency",
            "currency_mismatch",
            f"Prices of {brand.name} are in {brand.currency}.",
        )


def _unique_slug(brand_id: int, title: str, wanted: str | None, exclude_pk: int | None) -> str:
    base = slugify(wanted or title)[:240] or "product"
    slug, n = base, 2
    taken = Product.objects.filter(brand_id=brand_id)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _replace_images(product: Product, images: Iterable[dict[str, Any]]) -> None:
    product.images.all().delete()
    ProductImage.objects.bulk_create(
        ProductImage(product=product, position=i, **image) for i, image in enumerate(images)
    )


def product_upsert(
    *, brand: Brand, product: Product | None = None, actor: User | None, **data: Any
) -> Product:
    """Create or update one product inside the caller's transaction."""
    _require_atomic()
    if "commission_rate" in data:
        data["commission_rate"] = validate_rate(data["commission_rate"])
    images = data.pop("images", None)
    status = data.pop("status", None)
    fields = {k: v for k, v in data.items() if k in PRODUCT_FIELDS}
    if product is None:
        product = Product(brand=brand)
    for key, value in fields.items():
        setattr(product, key, value)
    if not product.title:
        raise _field_error("title", "required", "A product needs a title.")
    if status is not None:
        if status not in Product.Status.values:
            raise _field_error("status", "invalid_choice", f"'{status}' is not a status.")
        product.status = status
    product.slug = _unique_slug(
        brand.pk, product.title, fields.get("slug") or product.slug, product.pk
    )
    product.save()
    if images is not None:
        _replace_images(product, images)
    return product


def variant_upsert(
    *,
    product: Product,
    variant: Variant | None = None,
    actor: User | None,
    currency: str | None = None,
    on_hand: int | None = None,
    stock_reason: str = StockMovement.Reason.INITIAL,
    **data: Any,
) -> Variant:
    """Create or update one variant inside the caller's transaction; stock via the stock service."""
    _require_atomic()
    brand = product.brand
    _check_currency(brand, currency)
    for money_field in ("price", "compare_at_price"):
        if data.get(money_field) is not None:
            data[money_field] = validate_price(
                data[money_field], currency=brand.currency, field=money_field
            )
    if variant is None:
        sku = (data.get("sku") or "").strip()
        if not sku:
            raise _field_error("sku", "required", "A variant needs a SKU.")
        if data.get("price") is None:
            raise _field_error("price", "required", "A variant needs a price.")
        variant = Variant(product=product, sku=sku)
    for key, value in data.items():
        if key in VARIANT_FIELDS:
            setattr(variant, key, value)
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        raise _field_error("sku", "sku_taken", f"SKU {variant.sku} already exists.") from None
    if on_hand is not None:
        stock_set(
            variant_id=variant.pk,
            on_hand=on_hand,
            reason=stock_reason,
            actor_id=actor.pk if actor else None,
            reference=f"variant:{variant.sku}",
        )
        variant.refresh_from_db(fields=["on_hand", "reserved"])
    return variant


def product_create(
    *,
    user: User,
    brand_id: int,
    variants: Sequence[dict[str, Any]] = (),
    **data: Any,
) -> Product:
    """Create a product with its images and variants for a brand the user can write to."""
    membership_require(user=user, brand_id=brand_id, write=True)
    brand = Brand.objects.get(pk=brand_id)
    with transaction.atomic(durable=True):
        product = product_upsert(brand=brand, actor=user, **data)
        for index, variant_data in enumerate(variants):
            try:
                variant_upsert(product=product, actor=user, **variant_data)
            except ValidationFailed as exc:
                exc.fields = {f"variants[{index}].{k}": v for k, v in exc.fields.items()}
                raise
    return product


def product_update(*, user: User, product: Product, **data: Any) -> Product:
    membership_require(user=user, brand_id=product.brand_id, write=True)
    with transaction.atomic(durable=True):
        return product_upsert(brand=product.brand, product=product, actor=user, **data)


def product_set_status(*, user: User, product_ids: Iterable[int], status: str) -> int:
    """Activate or archive products in bulk; returns how many changed."""
    if status not in Product.Status.values:
        raise _field_error("status", "invalid_choice", f"'{status}' is not a status.")
    ids = list(product_ids)
    brand_ids = set(Product.objects.filter(pk__in=ids).values_list("brand_id", flat=True))
    for brand_id in brand_ids:
        membership_require(user=user, brand_id=brand_id, write=True)
    with transaction.atomic(durable=True):
        changed = Product.objects.filter(pk__in=ids).exclude(status=status).update(status=status)
        catalog_changed()
        return changed


def variant_create(*, user: User, product: Product, **data: Any) -> Variant:
    membership_require(user=user, brand_id=product.brand_id, write=True)
    with transaction.atomic(durable=True):
        return variant_upsert(product=product, actor=user, **data)


def variant_update(*, user: User, variant: Variant, **data: Any) -> Variant:
    membership_require(user=user, brand_id=variant.product.brand_id, write=True)
    if "sku" in data and data["sku"] != variant.sku:
        raise _field_error("sku", "immutable", "A SKU cannot change; create a new variant.")
    data.pop("sku", None)
    with transaction.atomic(durable=True):
        return variant_upsert(product=variant.product, variant=variant, actor=user, **data)


def variant_stock_change(
    *,
    user: User,
    variant: Variant,
    delta: int | None = None,
    on_hand: int | None = None,
    reason: str = StockMovement.Reason.API_ADJUSTMENT,
    reference: str = "",
) -> StockMovement | None:
    """Adjust by `delta` or set to `on_hand` (exactly one), audited as a stock movement."""
    membership_require(user=user, brand_id=variant.product.brand_id, write=True)
    if (delta is None) == (on_hand is None):
        raise ApplicationError("Give exactly one of delta or on_hand.", code="invalid")
    with transaction.atomic(durable=True):
        if delta is not None:
            return stock_adjust(
                variant_id=variant.pk,
                delta=delta,
                reason=reason,
                actor_id=user.pk,
                reference=reference,
            )
        assert on_hand is not None
        return stock_set(
            variant_id=variant.pk,
            on_hand=on_hand,
            reason=reason,
            actor_id=user.pk,
            reference=reference,
        )

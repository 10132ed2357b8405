"""The reserve benchmark's data: one hot SKU, a pool of order lines to hold for, the checks.

Everything here runs in the benchmark's process, between loads, on its own database.
"""

from __future__ import annotations

from decimal import Decimal

from bench.common import BenchError

SKU = "BENCH-HOT-SKU"


def seed() -> int:
    """One brand, one active product, one variant (the hot SKU), one order; returns the variant."""
    from django.utils import timezone

    from orders.models import Order, OrderLine
    from shop.models import Brand, Product, Variant

    brand = Brand.objects.create(name="Bench Brand", slug="bench-brand")
    product = Product.objects.create(
        brand=brand, title="Bench drop", slug="bench-drop", status=Product.Status.ACTIVE
    )
    variant = Variant.objects.create(product=product, sku=SKU, price=Decimal("25.00"))
    order = Order.objects.create(
        checkout_scope="bench",
        checkout_key=SKU,
        email="bench@example.com",
        shipping_address={"country": "US"},
        currency=brand.currency,
        items_total=variant.price,
        shipping_total=Decimal("0"),
        grand_total=variant.price,
        reservation_expires_at=timezone.now(),
    )
    OrderLine.objects.create(
        order=order,
        variant=variant,
        product=product,
        brand=brand,
        sku=SKU,
        title=product.title,
        unit_price=variant.price,
        quantity=1,
        line_total=variant.price,
        currency=brand.currency,
        open_rate=Decimal("10"),
    )
    return variant.pk


def code_seed(variant_id: int) -> None:
    """The code the `--code` run applies: 10% off the hot SKU's brand, no caps (the cap check
    still runs), crediting nobody. Idempotent."""
    from config.bench_views import BENCH_CODE
    from creators.models import CreatorCode
    from shop.models import Discount, Variant

    if CreatorCode.objects.filter(code=BENCH_CODE).exists():
        return
    brand = Variant.objects.select_related("product__brand").get(pk=variant_id).product.brand
    discount = Discount.objects.create(brand=brand, name="Bench", kind="percentage", value=10)
    CreatorCode.objects.create(code=BENCH_CODE, brand=brand, discount=discount)


def seeded() -> int | None:
    from shop.models import Variant

    try:
        return Variant.objects.filter(sku=SKU).values_list("pk", flat=True).first()
    except Exception:  # no tables yet
        return None


def line_pool(variant_id: int, at_least: int) -> tuple[int, int]:
    """The ids (first, last) of the order lines requests hold for, with `at_least` of them free.

    Free lines lie above every line that ever held stock (held lines keep their released
    holds, as in production). Copies of the seeded line, added with one INSERT ... SELECT; the
    ids must be contiguous (nothing else writes order lines in the bench database), since wrk
    computes them.
    """
    from django.db import connection
    from django.db.models import Count, Max, Min

    from orders.models import OrderLine

    lines = OrderLine.objects.filter(order__checkout_key=SKU, variant_id=variant_id)
    first, count = lines.aggregate(first=Min("pk"), count=Count("pk")).values()
    wanted = next_line((first, first + count - 1)) - first + at_least
    if count < wanted:
        quote = connection.ops.quote_name
        columns = ", ".join(
            quote(field.column)
            for field in OrderLine._meta.concrete_fields
            if not field.primary_key
        )
        table = quote(OrderLine._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}, "
                "generate_series(1, %s) WHERE id = %s",
                [wanted - count, first],
            )
            cursor.execute(f"ANALYZE {table}")
    first, last, count = lines.aggregate(
        first=Min("pk"), last=Max("pk"), count=Count("pk")
    ).values()
    if last - first + 1 != count:
        raise BenchError(f"order lines {first}..{last} are not contiguous ({count} rows)")
    return first, last


def next_line(pool: tuple[int, int]) -> int:
    """The first pool line above every line that holds stock (finished runs only)."""
    from django.db.models import Max

    from orders.models import StockReservation

    used = StockReservation.objects.aggregate(last=Max("order_line_id"))["last"]
    return pool[0] if used is None else max(pool[0], used + 1)


def stock_reset(variant_id: int, on_hand: int) -> None:
    """Release the holds, and every reserved unit, and set on_hand, through the stock service.

    Released holds stay, as they do in production: the holds table is never empty there, and
    a hold statement prepared on an empty, just-vacuumed table keeps a plan that scans it.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from orders.models import StockReservation
    from shop.models import StockMovement, Variant
    from shop.services.stock import stock_release, stock_set

    with transaction.atomic():
        StockReservation.objects.filter(status=StockReservation.Status.ACTIVE).update(
            status=StockReservation.Status.RELEASED, closed_at=timezone.now()
        )
        reserved = Variant.objects.values_list("reserved", flat=True).get(pk=variant_id)
        if reserved:
            stock_release(variant_id=variant_id, quantity=reserved)
        stock_set(
            variant_id=variant_id,
            on_hand=on_hand,
            reason=StockMovement.Reason.CORRECTION,
            reference="bench_reserve",
        )
    with connection.cursor() as cursor:
        # The warm-up left dead row versions behind.
        cursor.execute("VACUUM ANALYZE shop_variant")
        cursor.execute("VACUUM ANALYZE orders_stockreservation")


def holds(variant_id: int) -> dict[str, int]:
    from django.db.models import Count, Sum

    from orders.models import StockReservation
    from shop.models import Variant

    active = StockReservation.objects.filter(variant_id=variant_id, status="active")
    totals = active.aggregate(rows=Count("pk"), units=Sum("quantity"))
    on_hand, reserved = Variant.objects.values_list("on_hand", "reserved").get(pk=variant_id)
    return {
        "rows": totals["rows"],
        "units": totals["units"] or 0,
        "on_hand": on_hand,
        "reserved": reserved,
        "all_rows": StockReservation.objects.count(),
    }

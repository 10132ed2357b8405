"""The admin dashboard's selectors over 100,000 orders, against one raw SQL aggregate.

    python -m bench.bench_dashboard [--smoke] [--reuse-db] [--orders N] [--days N] [--rounds N]

Seeds 100,000 paid orders (`--smoke`: 10,000) of one line each over 60 days (`--days`), for 4 brands
(the first has 55% of them), 50 creators with a video link to each of 40 products, a
fulfilment per order (a third of the last 3 days' waiting to ship, the rest shipped), a
commission line per credited order (in hold for 30 days, then approved, paid after 45) and
a refund for one order in 20 (own database `tribe_bench_dashboard`). No server: in this
process, in turns, it times

- `raw`: one hand-written SQL aggregate, the least the dashboard must read: the brand's
  sales per currency and day over 30 days (what its line chart and "today"/"this week"
  show), run through the same connection;
- `dashboard`: `commissions.admin.dashboard.dashboard_figures`, every selector of the page
  (10 queries) and its formatting;
- each selector on its own.

for the big brand and for every brand (a superuser's view). Reports the median wall time
of each over the rounds and `dashboard / raw`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.common import (
    add_common_arguments,
    django_setup,
    prepare_database,
    print_table,
    use_database,
    write_results,
)

NAME = "dashboard"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_dashboard"
BRANDS = 4
CREATORS = 50
PRODUCTS = 40
DAYS = 60  # of history; the dashboard's window is 30
BATCH = 5_000

HOLD = timedelta(days=30)
PAID_AFTER = timedelta(days=45)

RAW_SQL = """
SELECT l.currency, (o.paid_at AT TIME ZONE 'UTC')::date AS day,
       SUM(l.line_total), COUNT(DISTINCT l.order_id)
  FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
 WHERE l.brand_id = ANY(%s) AND o.status = ANY(%s) AND o.paid_at >= %s AND o.paid_at <= %s
 GROUP BY 1, 2
"""


def commission_status(age: timedelta) -> str:
    """A commission line's status at this age: in hold, then payable, then paid out."""
    from commissions.models import CommissionLine

    if age < HOLD:
        return CommissionLine.Status.PENDING
    return CommissionLine.Status.APPROVED if age < PAID_AFTER else CommissionLine.Status.PAID


def seed(orders: int, days: int = DAYS) -> None:
    """Brands, catalog, creators and links, then the orders and all that hangs off them."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from commissions.models import CommissionLine, Payout
    from creators.models import AffiliateLink, Creator, Video
    from orders.models import Fulfilment, Order, OrderLine, Refund, RefundLine
    from shop.models import Brand, Product, Variant

    rng = random.Random(26)
    now = timezone.now()
    brands = Brand.objects.bulk_create(
        Brand(name=f"Dash Brand {b}", slug=f"dash-brand-{b}") for b in range(BRANDS)
    )
    products = Product.objects.bulk_create(
        Product(
            brand=brands[0 if p < PRODUCTS // 2 else 1 + p % (BRANDS - 1)],
            title=f"Dash thing {p}",
            slug=f"dash-{p}",
            status=Product.Status.ACTIVE,
        )
        for p in range(PRODUCTS)
    )
    variants = Variant.objects.bulk_create(
        Variant(product=p, sku=f"DASH-{p.pk}", price=Decimal("20.00"), on_hand=p.pk % 7)
        for p in products
    )
    users = User.objects.bulk_create(User(email=f"dash{c}@example.com") for c in range(CREATORS))
    creators = Creator.objects.bulk_create(
        Creator(user=u, handle=f"dash_{c}", display_name=f"Dash {c}") for c, u in enumerate(users)
    )
    videos = Video.objects.bulk_create(
        Video(creator=c, platform=Video.Platform.TIKTOK, url=f"https://example.com/v/{c.pk}")
        for c in creators
    )
    links = AffiliateLink.objects.bulk_create(
        AffiliateLink(
            creator=c,
            product=p,
            video=v,
            code=f"d{c.pk}x{p.pk}",
            locked_rate=Decimal("10.00"),
            lock_ends_at=now,
        )
        for c, v in zip(creators, videos, strict=True)
        for p in products
    )
    link_of = {(link.creator_id, link.product_id): link for link in links}
    payout_of = {
        payout.creator_id: payout
        for payout in Payout.objects.bulk_create(
            Payout(
                creator=c,
                currency="USD",
                amount=Decimal("1.00"),
                status=Payout.Status.PAID,
                provider="manual",
                paid_at=now,
            )
            for c in creators
        )
    }
    for start in range(0, orders, BATCH):
        count = min(BATCH, orders - start)
        picks = []
        for _ in range(count):
            big = rng.random() < 0.55
            variant = variants[rng.randrange(PRODUCTS // 2) if big else rng.randrange(PRODUCTS)]
            creator = creators[rng.randrange(CREATORS)] if rng.random() < 0.7 else None
            paid_at = now - timedelta(seconds=rng.randrange(days * 86_400))
            total = Decimal(rng.randrange(500, 20_000)) / 100
            picks.append((variant, creator, paid_at, total))
        made = Order.objects.bulk_create(
            Order(
                checkout_scope="bench",
                checkout_key=f"{start + i}",
                email="fan@example.com",
                shipping_address={},
                currency="USD",
                items_total=total,
                shipping_total=0,
                grand_total=total,
                status=Order.Status.PAID,
                paid_at=paid_at,
                reservation_expires_at=paid_at,
            )
            for i, (_, _, paid_at, total) in enumerate(picks)
        )
        lines = OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=variant,
                product_id=variant.product_id,
                brand_id=variant.product.brand_id,
                sku=variant.sku,
                title="Dash thing",
                unit_price=total,
                quantity=1,
                line_total=total,
                currency="USD",
                open_rate=Decimal("10"),
                attributed_creator_id=creator.pk if creator else None,
                attributed_link_id=(
                    link_of[(creator.pk, variant.product_id)].pk if creator else None
                ),
                commission_rate=Decimal("10") if creator else None,
            )
            for order, (variant, creator, _, total) in zip(made, picks, strict=True)
        )
        Fulfilment.objects.bulk_create(
            Fulfilment(
                order=order,
                brand_id=line.brand_id,
                status=Fulfilment.Status.UNFULFILLED
                if order.pk % 3 == 0 and now - order.paid_at < timedelta(days=3)
                else Fulfilment.Status.SHIPPED,
            )
            for order, line in zip(made, lines, strict=True)
        )
        CommissionLine.objects.bulk_create(
            CommissionLine(
                kind=CommissionLine.Kind.COMMISSION,
                status=commission_status(now - order.paid_at),
                payout=payout_of[line.attributed_creator_id]
                if now - order.paid_at >= PAID_AFTER
                else None,
                creator_id=line.attributed_creator_id,
                link_id=line.attributed_link_id,
                brand_id=line.brand_id,
                order_id=line.order_id,
                order_line_id=line.pk,
                currency="USD",
                base=line.line_total,
                rate=Decimal("10"),
                amount=(line.line_total / 10).quantize(Decimal("0.01")),
                earned_at=order.paid_at,
                payable_at=order.paid_at + timedelta(days=30),
            )
            for order, line in zip(made, lines, strict=True)
            if line.attributed_creator_id
        )
        refunded = [(o, line) for o, line in zip(made, lines, strict=True) if o.pk % 20 == 0]
        refunds = Refund.objects.bulk_create(
            Refund(
                order=order,
                brand_id=line.brand_id,
                amount=Decimal("1.00"),
                currency="USD",
                status=Refund.Status.SUCCEEDED,
                completed_at=order.paid_at + timedelta(hours=1),
            )
            for order, line in refunded
        )
        RefundLine.objects.bulk_create(
            RefundLine(refund=r, order_line=line, brand_id=line.brand_id, amount=r.amount)
            for r, (_, line) in zip(refunds, refunded, strict=True)
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def seeded(orders: int, days: int) -> bool:
    from django.db.models import Min
    from django.utils import timezone

    from orders.models import Order

    try:
        bench = Order.objects.filter(checkout_scope="bench")
        first = bench.aggregate(first=Min("paid_at"))["first"]
        return bench.count() == orders and abs((timezone.now() - first).days - days) <= 1
    except Exception:  # no tables yet
        return False


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def cases(brand_ids: frozenset[int] | None) -> dict[str, Callable[[], Any]]:
    """What is timed for one reader: the raw aggregate, the whole dashboard, each selector."""
    from django.db import connection
    from django.utils import timezone

    from commissions.admin.dashboard import WINDOW_DAYS, dashboard_figures
    from commissions.selectors import brands as money
    from orders import brand_sales as sales
    from orders.brand_sales import day_start
    from orders.state import PAID_STATUSES
    from shop.models import Brand
    from shop.selectors import variant_stock_alerts

    now = timezone.now()
    start = day_start(now) - timedelta(days=WINDOW_DAYS - 1)
    ids = (
        list(brand_ids)
        if brand_ids is not None
        else list(Brand.objects.values_list("pk", flat=True))
    )

    def raw() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, [ids, list(PAID_STATUSES), start, now])
            return cursor.fetchall()

    return {
        "raw": raw,
        "dashboard": lambda: dashboard_figures(brand_ids, now=now),
        "sales_by_day": lambda: sales.brand_sales_by_day(brand_ids=brand_ids, now=now),
        "refunds": lambda: sales.brand_refunds_summary(brand_ids=brand_ids, now=now),
        "to_ship": lambda: sales.brand_orders_to_ship(brand_ids=brand_ids),
        "stock": lambda: variant_stock_alerts(brand_ids=brand_ids),
        "owed": lambda: money.brand_commission_owed(brand_ids=brand_ids),
        "top_sellers": lambda: money.brand_top_sellers(brand_ids=brand_ids, start=start, end=now),
        "settlements": lambda: money.brand_settlements_awaiting_payment(brand_ids=brand_ids),
    }


def measure(brand_ids: frozenset[int] | None, rounds: int) -> dict[str, float]:
    """Median milliseconds of each case, the cases taken in turns within each round."""
    timings: dict[str, list[float]] = {}
    runs = cases(brand_ids)
    for call in runs.values():  # warm: plans, caches, the connection
        call()
    for _ in range(rounds):
        for label, call in runs.items():
            timings.setdefault(label, []).append(timed(call))
    return {label: statistics.median(times) for label, times in timings.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_dashboard", description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--orders", type=int, help="paid orders (default 100,000)")
    parser.add_argument("--days", type=int, default=DAYS, help="days of history (default 60)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    orders = args.orders or (10_000 if args.smoke else 100_000)
    rounds = args.rounds or (3 if args.smoke else 15)

    django_setup()
    use_database(DATABASE_URL)
    fresh = prepare_database(reuse=args.reuse_db)
    if not fresh and not seeded(orders, args.days):
        prepare_database()
        fresh = True
    if fresh:
        started = time.perf_counter()
        seed(orders, args.days)
        print(f"seeded {orders:,} orders in {time.perf_counter() - started:.1f}s")

    from shop.models import Brand

    big = frozenset(Brand.objects.filter(slug="dash-brand-0").values_list("pk", flat=True))
    readers = {"big brand": big, "every brand": None}
    results = {label: measure(ids, rounds) for label, ids in readers.items()}
    rows = [
        {"reader": reader, "case": case, "ms": ms, "x raw": ms / timings["raw"]}
        for reader, timings in results.items()
        for case, ms in timings.items()
    ]
    print_table(rows, ["reader", "case", "ms", "x raw"])
    summary = {
        "orders": orders,
        "days": args.days,
        "rounds": rounds,
        **{
            f"{reader} dashboard/raw": timings["dashboard"] / timings["raw"]
            for reader, timings in results.items()
        },
    }
    print(json.dumps(summary, indent=2))
    print(f"wrote {write_results(NAME, {'summary': summary, 'ms': results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The commissions benchmark's data: the seeded paid orders, the baseline SQL, the ledger.

Seeds paid orders of credited lines (three brands in three currencies, creators, their links,
rates and receipts of every kind the service meets); writes the service's rows in one
`INSERT ... SELECT` (the baseline); empties the ledger of the bench database and fingerprints
what it holds, so the two ways can be held against each other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

LINES_PER_ORDER = 10
SEED_SCOPE = "bench-commissions"
CREATORS = 20
# (slug, currency, hold days or None for the settings' default, unit prices)
BRANDS = [
    ("bench-usd", "USD", 14, ["19.99", "7.45", "33.33", "120.00"]),
    ("bench-eur", "EUR", None, ["9.95", "24.50", "0.99"]),
    ("bench-jpy", "JPY", 45, ["1980", "555", "12345"]),
]
RATES = [Decimal(r) for r in ("5.00", "7.50", "10.00", "12.50", "15.00")]

# What `commission_record_for_orders` writes, as one statement (see `_commission_row`).
BASELINE_SQL = """
INSERT INTO creators_commissionline (
    kind, status, creator_id, link_id, brand_id, order_id, order_line_id, refund_id,
    currency, base, rate, amount, refunded_to_date, receipt, earned_at, payable_at,
    approved_at, payout_id, created_at
)
SELECT
    'commission', 'pending', ol.attributed_creator_id, l.id, ol.brand_id, ol.order_id, ol.id,
    '', ol.currency, b.base, ol.commission_rate,
    round(b.base * ol.commission_rate / 100, e.exp), NULL,
    jsonb_build_object(
        'attribution', ol.attribution,
        'rule', ol.attribution -> 'rule',
        'rate', ol.commission_rate::text,
        'rate_source', ol.attribution -> 'rate_source',
        'base', b.base::text,
        'currency', ol.currency,
        'formula', %(formula)s::text,
        'hold_days', h.days,
        'paid_at', {paid_at_iso},
        'payable_at', {payable_at_iso}
    ),
    o.paid_at, o.paid_at + make_interval(days => h.days), NULL, NULL, now()
FROM orders_orderline ol
JOIN orders_order o ON o.id = ol.order_id
JOIN creators_creator c ON c.id = ol.attributed_creator_id
LEFT JOIN creators_affiliatelink l ON l.id = ol.attributed_link_id
LEFT JOIN creators_commissionterms t ON t.brand_id = ol.brand_id
CROSS JOIN LATERAL (SELECT coalesce(t.hold_days, %(default_hold)s::int) AS days) h
CROSS JOIN LATERAL (SELECT {exponent} AS exp) e
CROSS JOIN LATERAL (SELECT round(ol.line_total, e.exp) AS base) b
WHERE ol.order_id = ANY(%(order_ids)s)
  AND o.paid_at IS NOT NULL
  AND ol.attributed_creator_id IS NOT NULL
  AND ol.commission_rate IS NOT NULL
ORDER BY ol.id
ON CONFLICT DO NOTHING
"""

# Python's datetime.isoformat() of an aware UTC datetime: microseconds only when non-zero.
ISO_SQL = (
    "to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN date_trunc('second', {ts}) = {ts} THEN ''"
    " ELSE to_char({ts} AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)

FINGERPRINT_SQL = """
SELECT count(*), coalesce(sum(amount), 0), md5(coalesce(string_agg(concat_ws('|',
    kind, status, creator_id, coalesce(link_id::text, '-'), brand_id, order_id, order_line_id,
    refund_id, currency, base, rate, amount, coalesce(refunded_to_date::text, '-'),
    receipt::text, earned_at, payable_at, coalesce(approved_at::text, '-'),
    coalesce(payout_id::text, '-')), E'\\n' ORDER BY order_line_id), ''))
FROM creators_commissionline
"""


# --- Seed -------------------------------------------------------------------


def seed(lines: int) -> list[int]:
    """Paid orders of LINES_PER_ORDER credited lines each; returns the order ids."""
    from django.contrib.auth import get_user_model

    from commissions.models import CommissionTerms
    from creators.models import AffiliateLink, Creator
    from orders.models import Order, OrderLine
    from shop.models import Brand, Product, Variant

    variants: list[tuple[Variant, str]] = []
    for slug, currency, hold, prices in BRANDS:
        brand = Brand.objects.create(name=slug, slug=slug, currency=currency)
        if hold is not None:
            CommissionTerms.objects.create(brand=brand, hold_days=hold)
        for i, price in enumerate(prices):
            product = Product.objects.create(
                brand=brand, title=f"{slug} {i}", slug=f"{slug}-{i}", status="active"
            )
            variant = Variant.objects.create(
                product=product, sku=f"{slug}-{i}", price=Decimal(price), on_hand=1_000_000
            )
            variants.append((variant, currency))
    users = get_user_model().objects.bulk_create(
        get_user_model()(email=f"creator{i}@bench.example", password="!") for i in range(CREATORS)
    )
    creators = Creator.objects.bulk_create(
        Creator(user=user, handle=f"bench_creator_{i}", display_name=f"Creator {i}")
        for i, user in enumerate(users)
    )
    lock_ends = datetime.now(UTC) + timedelta(days=30)
    links = AffiliateLink.objects.bulk_create(
        AffiliateLink(
            creator=creator,
            product=variant.product,
            code=f"bc{c:03d}v{v:02d}",
            locked_rate=RATES[(c + v) % len(RATES)],
            lock_ends_at=lock_ends,
        )
        for c, creator in enumerate(creators)
        for v, (variant, _) in enumerate(variants)
    )
    link_of = {(link.creator_id, link.product_id): link for link in links}

    orders_needed = -(-lines // LINES_PER_ORDER)
    paid_base = datetime.now(UTC) - timedelta(days=2)
    orders = Order.objects.bulk_create(
        (
            Order(
                checkout_scope=SEED_SCOPE,
                checkout_key=uuid.uuid4().hex,
                email=f"fan{n}@example.com",
                shipping_address={},
                currency=variants[n % len(variants)][1],
                items_total=Decimal(0),
                shipping_total=Decimal(0),
                grand_total=Decimal(0),
                status=Order.Status.PAID,
                # Microseconds on most, none on some: the receipt's isoformat() differs.
                paid_at=paid_base + timedelta(seconds=n, microseconds=(n * 7919) % 1_000_000),
                reservation_expires_at=paid_base,
            )
            for n in range(orders_needed)
        ),
        batch_size=5000,
    )

    def order_line(k: int) -> OrderLine:
        order = orders[k // LINES_PER_ORDER]
        # Every line of an order in the order's currency, so from one brand.
        brand_variants = [v for v, cur in variants if cur == order.currency]
        variant = brand_variants[k % len(brand_variants)]
        creator = creators[(k // LINES_PER_ORDER) % CREATORS]
        quantity = 1 + k % 3
        rate = RATES[k % len(RATES)]
        link = link_of[(creator.pk, variant.product_id)] if k % 4 else None
        receipt: dict[str, Any] = {
            "credited": True,
            "reason": "last_click" if link else "storefront",
            "rule": "last_click" if link else "storefront",
            "creator_id": creator.pk,
            "rate": str(rate),
            "rate_source": "link_lock" if link else "brand_default",
            "window_days": 30,
            "decided_at": order.paid_at.isoformat() if order.paid_at else None,
        }
        if link:
            receipt |= {"link_id": link.pk, "click_id": f"c{k:08d}"}
        if k % 10 == 3:
            del receipt["rate_source"]  # older receipts lack it: the ledger stores null
        return OrderLine(
            order=order,
            variant=variant,
            product_id=variant.product_id,
            brand_id=variant.product.brand_id,
            sku=variant.sku,
            title=variant.sku,
            unit_price=variant.price,
            quantity=quantity,
            line_total=variant.price * quantity,
            currency=order.currency,
            open_rate=rate,
            attributed_creator_id=creator.pk,
            attributed_link_id=link.pk if link else None,
            commission_rate=rate,
            attribution=receipt,
        )

    OrderLine.objects.bulk_create((order_line(k) for k in range(lines)), batch_size=5000)
    return [order.pk for order in orders]


def seeded_order_ids() -> list[int]:
    from orders.models import Order

    return list(
        Order.objects.filter(checkout_scope=SEED_SCOPE).order_by("pk").values_list("pk", flat=True)
    )


def seeded_lines() -> int:
    from orders.models import OrderLine

    return OrderLine.objects.filter(order__checkout_scope=SEED_SCOPE).count()


# --- Ledger -----------------------------------------------------------------


def ledger_empty() -> None:
    """Empty the ledger in the bench database only (TRUNCATE skips its row trigger)."""
    from django.db import connection

    from bench.common import _database

    _database()  # refuses a database whose name lacks "bench"
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE creators_commissionline RESTART IDENTITY CASCADE")
        cursor.execute("ANALYZE creators_commissionline")


def ledger_fingerprint() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(FINGERPRINT_SQL)
        count, total, digest = cursor.fetchone()
    return {"lines": count, "amount_sum": str(total), "md5": digest}


def baseline_sql() -> str:
    from common.money import currency_exponent

    cases = " ".join(
        f"WHEN '{cur}' THEN {currency_exponent(cur)}" for cur in sorted({b[1] for b in BRANDS})
    )
    return BASELINE_SQL.format(
        exponent=f"CASE ol.currency {cases} ELSE 2 END",
        paid_at_iso=ISO_SQL.format(ts="o.paid_at"),
        payable_at_iso=ISO_SQL.format(ts="(o.paid_at + make_interval(days => h.days))"),
    )

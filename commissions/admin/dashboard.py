"""The admin's home for brand staff: what sold, what needs them today, and what they owe.

Unfold calls `dashboard_callback` (settings UNFOLD["DASHBOARD_CALLBACK"]) when it draws the
index; `templates/admin/index.html` shows what it adds. Every figure comes from the apps'
selectors, scoped to the brands of the signed-in member (every brand for superusers), so
the page runs the same number of queries whatever the number of orders. It lives here, at
the top of the chain, because it reads all of them; no app imports it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone

from commissions.admin.creators import brand_scope
from commissions.selectors.brands import (
    brand_commission_owed,
    brand_settlements_awaiting_payment,
    brand_top_sellers,
)
from common.admin_mixins import local_datetime
from common.money import format_money
from orders.brand_sales import (
    brand_orders_to_ship,
    brand_refunds_summary,
    brand_sales_by_day,
    day_start,
)
from shop.selectors import variant_stock_alerts

WINDOW_DAYS = 30  # the charts and the top sellers
TOP = 5  # rows in each top list
CHART_CREATORS = 8  # bars in the sales-by-creator chart
STOCK_ROWS = 8
SETTLEMENTS = 3


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """Add the dashboard's figures to the admin index's context."""
    context["dashboard"] = dashboard_figures(brand_scope(request), now=timezone.now())
    return context


def dashboard_figures(brand_ids: frozenset[int] | None, *, now: datetime) -> dict[str, Any]:
    """Every figure of the dashboard for these brands (None: all), ready to show."""
    if brand_ids is not None and not brand_ids:
        return {"no_brand": True}
    start = day_start(now) - timedelta(days=WINDOW_DAYS - 1)
    sales = {s.currency: s for s in brand_sales_by_day(brand_ids=brand_ids, now=now)}
    refunds = {r.currency: r for r in brand_refunds_summary(brand_ids=brand_ids, now=now)}
    owed = {o.currency: o for o in brand_commission_owed(brand_ids=brand_ids)}
    top = {
        t.currency: t
        for t in brand_top_sellers(
            brand_ids=brand_ids, start=start, end=now, limit=max(TOP, CHART_CREATORS)
        )
    }
    to_ship = brand_orders_to_ship(brand_ids=brand_ids)
    stock = variant_stock_alerts(brand_ids=brand_ids, limit=STOCK_ROWS)
    settlements = brand_settlements_awaiting_payment(brand_ids=brand_ids, limit=SETTLEMENTS)
    currencies = sorted(set(sales) | set(refunds) | set(owed) | set(top))
    return {
        "no_brand": False,
        "window_days": WINDOW_DAYS,
        "currencies": [
            _currency_block(code, sales.get(code), refunds.get(code), owed.get(code), top.get(code))
            for code in currencies
        ],
        "to_ship": {
            "count": to_ship.count,
            "oldest": local_datetime(to_ship.oldest_paid_at) if to_ship.oldest_paid_at else "",
            "url": reverse("admin:orders_fulfilment_changelist")
            + "?status__in=unfulfilled,partially_shipped",
        },
        "stock": {
            "sold_out": stock.sold_out,
            "low": stock.low,
            "rows": [
                {
                    "sku": v.sku,
                    "product": v.product.title,
                    "title": v.title,
                    "available": max(0, v.on_hand - v.reserved),
                    "threshold": v.low_stock_threshold,
                    "url": reverse("admin:shop_variant_change", args=[v.pk]),
                }
                for v in stock.variants
            ],
        },
        "settlements": [
            {
                "brand": s.brand.name,
                "period": f"{formats.date_format(s.period_start, 'SHORT_DATE_FORMAT')} to "
                f"{formats.date_format(s.period_end, 'SHORT_DATE_FORMAT')}",
                "amount_due": format_money(s.amount_due, s.currency),
                "payment": _payment_label(s.payment_status),  # type: ignore[attr-defined]
                "url": reverse("admin:commissions_settlement_change", args=[s.pk]),
            }
            for s in settlements
        ],
    }


def _payment_label(status: str | None) -> str:
    from commissions.models import SettlementPayout

    return str(SettlementPayout.Status(status).label) if status else "Not paid yet"


def _money(amount: Decimal, code: str) -> str:
    return format_money(amount, code)


def _currency_block(code: str, sales: Any, refunds: Any, owed: Any, top: Any) -> dict[str, Any]:
    """One currency's figures, formatted, and its charts' data (Chart.js JSON)."""
    zero = _money(Decimal(0), code)
    block: dict[str, Any] = {
        "currency": code,
        "today": _money(sales.today, code) if sales else zero,
        "today_orders": sales.today_orders if sales else 0,
        "week": _money(sales.week, code) if sales else zero,
        "week_orders": sales.week_orders if sales else 0,
        "refunds_today": _money(refunds.today, code) if refunds else zero,
        "refunds_today_count": refunds.today_count if refunds else 0,
        "refunds_week": _money(refunds.week, code) if refunds else zero,
        "refunds_week_count": refunds.week_count if refunds else 0,
        "owed": _money(owed.total, code) if owed else zero,
        "owed_pending": _money(owed.pending, code) if owed else zero,
        "owed_approved": _money(owed.approved, code) if owed else zero,
        "sales_chart": "",
        "creators_chart": "",
        "top": {},
    }
    if sales:
        block["sales_chart"] = _chart(
            [formats.date_format(d.day, "M j") for d in sales.days],
            f"Sales ({code})",
            [d.sales for d in sales.days],
        )
    if top:
        block["top"] = {
            kind: [
                {
                    "label": s.label,
                    "detail": s.detail,
                    "revenue": _money(s.revenue, code),
                    "orders": s.orders,
                }
                for s in sellers[:TOP]
            ]
            for kind, sellers in (
                ("creators", top.creators),
                ("videos", top.videos),
                ("links", top.links),
            )
        }
        chart_creators = top.creators[:CHART_CREATORS]
        if chart_creators:
            block["creators_chart"] = _chart(
                [s.label for s in chart_creators],
                f"Revenue ({code})",
                [s.revenue for s in chart_creators],
            )
    return block


def _chart(labels: list[str], label: str, values: list[Decimal]) -> str:
    """Data for unfold's chart components: one dataset in the theme's primary colour."""
    return json.dumps(
        {
            "labels": labels,
            "datasets": [
                {
                    "label": label,
                    "data": [float(v) for v in values],
                    "backgroundColor": "var(--color-primary-600)",
                    "borderColor": "var(--color-primary-600)",
                    "displayYAxis": True,
                    "maxTicksXLimit": 10,
                }
            ],
        }
    )

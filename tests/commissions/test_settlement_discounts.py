"""Settlements show what codes took off as their own figure, beside gross sales at list price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commissions.models import Settlement, SettlementLine
from commissions.services.recording import commission_record_for_orders
from commissions.services.settlements import platform_fee_percent, settlement_create
from orders.models import Order
from tests.conftest import client_for
from tests.creators.factories import CreatorFactory
from tests.orders.aftersale_helpers import member
from tests.orders.code_helpers import checkout_with_code, code_for
from tests.orders.helpers import cart_with, variant_in_stock
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=7)


def settled_with_code() -> Settlement:
    a = variant_in_stock(price="20.00", on_hand=10)
    brand = a.product.brand
    b = VariantFactory.create(product=ProductFactory.create(brand=brand), price=Decimal("10.00"))
    creator = CreatorFactory.create()
    code_for(brand, "MAYA10", creator=creator, kind="fixed", value="4.00")
    order = checkout_with_code(cart_with((a, 2), (b, 1)), "MAYA10")  # 50.00 list, 4.00 off
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.PAID, paid_at=START + timedelta(days=1)
    )
    commission_record_for_orders(order_ids=[order.pk])

    (settlement,) = settlement_create(brand=brand, period_start=START, period_end=END)
    return Settlement.objects.get(pk=settlement.pk)


def test_a_settlement_shows_the_discount_apart_from_gross_sales_and_nets_it_out():
    settlement = settled_with_code()
    shipping = sum(
        (line.amount for line in settlement.lines.filter(kind=SettlementLine.Kind.SHIPPING)),
        Decimal(0),
    )

    assert settlement.gross == Decimal("50.00") + shipping
    assert settlement.discounts == Decimal("4.00")
    net = Decimal("46.00") + shipping
    fee = (net * platform_fee_percent() / 100).quantize(Decimal("0.01"))
    assert settlement.platform_fee == fee
    assert settlement.amount_due == net - settlement.commissions - fee
    discounts = SettlementLine.objects.filter(
        settlement=settlement, kind=SettlementLine.Kind.DISCOUNT
    )
    assert sorted(line.amount for line in discounts) == [Decimal("-3.20"), Decimal("-0.80")]
    assert sum(line.amount for line in settlement.lines.all()) == settlement.amount_due


def test_the_brand_api_and_the_admin_statement_show_the_discounts(client):
    settlement = settled_with_code()
    brand = settlement.brand

    detail = client_for(member(brand)).get(f"/api/v1/brand/settlements/{settlement.pk}/")

    assert detail.status_code == 200
    assert detail.json()["discounts"] == {"amount": "4.00", "currency": "USD"}
    assert "discount" in [line["kind"] for line in detail.json()["lines"]]
    client.force_login(member(brand))
    page = client.get(f"/admin/commissions/settlement/{settlement.pk}/statement/")
    assert ("Discounts (codes)", Decimal("-4.00")) in page.context["totals"]

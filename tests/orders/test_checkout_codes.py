"""Checkout with a code: the discount allocated and snapshotted on each line, the discounted
PaymentIntent, uses held and released, the creator credited with no click."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commissions.models import CommissionLine
from commissions.services.recording import (
    commission_record_for_orders,
    commission_reverse_for_refund,
)
from common.errors import ApplicationError
from creators.attribution.tokens import token_for_click
from orders.models import CartLine, Order
from orders.services.cart_codes import cart_code_apply
from orders.services.checkout import checkout_start
from orders.services.payments import order_cancel_unpaid
from orders.services.refunds import RefundLineRequest, _line_amount
from orders.services.reservations import reservations_expire
from shop.discounts import CodeExhausted, CodeLimitPerShopper
from shop.models import Discount, DiscountUse
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory
from tests.orders.code_helpers import code_for
from tests.orders.helpers import ADDRESS, cart_with, stripe_test_client, variant_in_stock
from tests.shop.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def buy(cart, email: str = "fan@example.com", key: str | None = None) -> Order:
    return checkout_start(
        cart=cart,
        user=None,
        idempotency_key=key or f"k{cart.pk}",
        email=email,
        shipping_address=ADDRESS,
    )


def with_code(cart, code: str = "MAYA10"):
    cart_code_apply(cart=cart, code=code, user=None)
    cart.refresh_from_db()
    return cart


def test_the_discount_is_allocated_over_the_lines_and_the_intent_charges_the_rest():
    a = variant_in_stock(price="20.00")
    b = VariantFactory.create(
        product=ProductFactory.create(brand=a.product.brand), price=Decimal("10.00")
    )
    code = code_for(a.product.brand, "MAYA10")
    cart = with_code(cart_with((a, 1), (b, 1)))

    order = buy(cart)

    assert (order.items_total, order.discount_total, order.grand_total) == (
        Decimal("30.000"),
        Decimal("3.000"),
        Decimal("27.000"),
    )
    lines = {line.sku: line for line in order.lines.all()}
    assert (lines[a.sku].discount_amount, lines[a.sku].line_total) == (Decimal("2"), Decimal("18"))
    assert (lines[b.sku].discount_amount, lines[b.sku].line_total) == (Decimal("1"), Decimal("9"))
    assert {line.discount_code for line in lines.values()} == {"MAYA10"}
    assert lines[a.sku].list_total == Decimal("20")
    assert order.stripe_payment_intent_id
    intent = stripe_test_client().v1.payment_intents.retrieve(order.stripe_payment_intent_id)
    assert intent.amount == 2700
    code.discount.refresh_from_db()
    assert code.discount.uses == 1
    assert DiscountUse.objects.get().order_id == order.pk


def test_a_discount_only_touches_its_own_brands_lines():
    a, other = variant_in_stock(price="20.00"), variant_in_stock(price="15.00")
    code_for(a.product.brand, "MAYA10")
    order = buy(with_code(cart_with((a, 1), (other, 1))))
    lines = {line.sku: line for line in order.lines.all()}
    assert lines[other.sku].discount_amount == 0
    assert lines[other.sku].line_total == Decimal("15")
    assert order.grand_total == Decimal("33")


def test_a_total_under_stripes_minimum_is_refused_and_nothing_is_reserved():
    variant = variant_in_stock(price="1.00")
    code = code_for(variant.product.brand, "ALMOST", kind="fixed", value="0.70")
    cart = with_code(cart_with((variant, 1)), "ALMOST")
    with pytest.raises(ApplicationError) as refused:
        buy(cart)
    assert refused.value.code == "amount_too_small"
    variant.refresh_from_db()
    code.discount.refresh_from_db()
    assert (variant.reserved, code.discount.uses, Order.objects.count()) == (0, 0, 0)


def test_a_code_used_up_meanwhile_refuses_the_checkout_and_holds_nothing():
    variant = variant_in_stock()
    code = code_for(variant.product.brand, "MAYA10", max_uses=1)
    cart = with_code(cart_with((variant, 1)))
    Discount.objects.filter(pk=code.discount_id).update(uses=1)
    with pytest.raises(CodeExhausted):
        buy(cart)
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert not Order.objects.exists()


def test_the_per_shopper_cap_is_keyed_on_the_normalised_email():
    variant = variant_in_stock()
    code_for(variant.product.brand, "MAYA10", max_uses_per_shopper=1)
    buy(with_code(cart_with((variant, 1))), email="  Fan@Example.com")
    with pytest.raises(CodeLimitPerShopper):
        buy(with_code(cart_with((variant, 1))), email="fan@example.COM")


def test_an_expired_hold_gives_the_use_back():
    variant = variant_in_stock()
    code = code_for(variant.product.brand, "MAYA10", max_uses=1)
    buy(with_code(cart_with((variant, 1))))
    assert reservations_expire(now=timezone.now() + timedelta(hours=1)) == 1
    code.discount.refresh_from_db()
    assert code.discount.uses == 0
    assert DiscountUse.objects.get().status == DiscountUse.Status.RELEASED
    buy(with_code(cart_with((variant, 1))))  # the freed use is there for the next shopper


def paid_late(order: Order) -> None:
    """The shopper's card goes through after the order's hold lapsed."""
    from common.money import to_minor_units
    from orders.services.payments import order_mark_paid

    amount = to_minor_units(order.grand_total, order.currency)
    order_mark_paid(order_id=order.pk, amount=amount, currency=order.currency)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_a_payment_after_the_hold_lapsed_takes_its_use_back():
    variant = variant_in_stock()
    code = code_for(variant.product.brand, "MAYA10", max_uses=2, max_uses_per_shopper=1)
    order = buy(with_code(cart_with((variant, 1))))
    assert reservations_expire(now=timezone.now() + timedelta(hours=1)) == 1

    paid_late(order)

    code.discount.refresh_from_db()
    assert code.discount.uses == 1
    assert DiscountUse.objects.get().status == DiscountUse.Status.HELD
    with pytest.raises(CodeLimitPerShopper):  # the shopper has had their one use
        buy(with_code(cart_with((variant, 1))), key="again")
    paid_late(order)  # a second delivery of the payment takes nothing more
    code.discount.refresh_from_db()
    assert code.discount.uses == 1


def test_a_late_payment_whose_use_went_to_another_shopper_is_honoured_and_noted():
    variant = variant_in_stock()
    code = code_for(variant.product.brand, "MAYA10", max_uses=1)
    order = buy(with_code(cart_with((variant, 1))))
    reservations_expire(now=timezone.now() + timedelta(hours=1))
    buy(with_code(cart_with((variant, 1))), email="second@example.com")  # the freed use

    paid_late(order)

    code.discount.refresh_from_db()
    assert code.discount.uses == 1  # never past the cap
    assert DiscountUse.objects.filter(status=DiscountUse.Status.HELD).count() == 2
    note = order.events.get(kind="code_use_over_cap")
    assert note.data == {"discounts": [code.discount_id]}


def test_a_payment_that_fails_for_good_gives_the_use_back():
    variant = variant_in_stock()
    code = code_for(variant.product.brand, "MAYA10")
    order = buy(with_code(cart_with((variant, 1))))
    order_cancel_unpaid(order_id=order.pk, reason="payment_failed_final")
    code.discount.refresh_from_db()
    assert code.discount.uses == 0


def test_a_code_credits_its_creator_with_no_click():
    variant = variant_in_stock()
    creator = CreatorFactory.create()
    code_for(variant.product.brand, "MAYA10", creator=creator)
    line = buy(with_code(cart_with((variant, 1)))).lines.get()
    assert line.attributed_creator_id == creator.pk
    assert line.commission_rate == variant.product.open_rate
    assert (line.attribution["rule"], line.attribution["code"]) == ("code", "MAYA10")


def _clicked_other_creators_link(variant, cart):
    link = AffiliateLinkFactory.create(product=variant.product, locked_rate=Decimal("18.00"))
    CartLine.objects.filter(cart=cart).update(
        attribution_token=token_for_click(click_id="c1", link_id=link.pk)
    )
    return link


def test_the_code_wins_over_another_creators_link_by_default():
    variant = variant_in_stock()
    creator = CreatorFactory.create()
    code_for(variant.product.brand, "MAYA10", creator=creator)
    cart = with_code(cart_with((variant, 1)))
    _clicked_other_creators_link(variant, cart)
    line = buy(cart).lines.get()
    assert line.attributed_creator_id == creator.pk
    assert line.attribution["rule"] == "code_over_link"


def test_a_brand_may_let_the_link_win_over_the_code():
    variant = variant_in_stock(code_credit_over_link=False)
    code_for(variant.product.brand, "MAYA10", creator=CreatorFactory.create())
    cart = with_code(cart_with((variant, 1)))
    link = _clicked_other_creators_link(variant, cart)
    line = buy(cart).lines.get()
    assert line.attributed_creator_id == link.creator_id
    assert (line.attribution["rule"], line.attribution["code"]) == ("link_over_code", "MAYA10")
    assert line.discount_amount > 0  # the shopper keeps the discount either way


def test_a_creator_using_their_own_code_earns_nothing_but_keeps_the_discount():
    variant = variant_in_stock()
    creator = CreatorFactory.create()
    code_for(variant.product.brand, "MAYA10", creator=creator)
    line = buy(with_code(cart_with((variant, 1))), email=creator.user.email).lines.get()
    assert line.attributed_creator_id is None
    assert line.attribution["reason"] == "self_referral_email"
    assert line.discount_amount > 0


def test_commission_is_on_what_the_shopper_paid_for_the_line():
    variant = variant_in_stock(price="20.00")
    creator = CreatorFactory.create()
    code_for(variant.product.brand, "MAYA10", creator=creator, value="25")
    order = buy(with_code(cart_with((variant, 1))))
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    commission_record_for_orders(order_ids=[order.pk])
    line = CommissionLine.objects.get(order_id=order.pk)
    assert line.base == Decimal("15.00")  # 20.00 less the 5.00 discount
    assert line.amount == quantize_cents(Decimal("15.00") * line.rate / 100)


def quantize_cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


def test_a_partial_refund_of_a_discounted_line_refunds_and_reverses_pro_rata_of_the_net():
    variant = variant_in_stock(price="20.00")
    creator = CreatorFactory.create()
    code_for(variant.product.brand, "MAYA10", creator=creator, value="25")
    order = buy(with_code(cart_with((variant, 2))))  # 40.00 less 10.00: 30.00 paid
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    commission_record_for_orders(order_ids=[order.pk])
    line = order.lines.get()
    commission = CommissionLine.objects.get(order_line_id=line.pk)

    one_unit = _line_amount(line, RefundLineRequest(line_id=line.pk, quantity=1))
    reversal = commission_reverse_for_refund(
        order_line_id=line.pk, refund_id="re_1", refunded_to_date=one_unit
    )

    assert one_unit == Decimal("15.00")  # half of what was paid, not half the list price
    assert reversal is not None
    assert reversal.amount == -quantize_cents(commission.amount / 2)


def test_a_code_whose_brands_lines_were_removed_is_passed_over_at_checkout():
    a, other = variant_in_stock(), variant_in_stock(price="15.00")
    code_for(a.product.brand, "MAYA10")
    cart = with_code(cart_with((a, 1), (other, 1)))
    CartLine.objects.filter(cart=cart, variant=a).delete()
    order = buy(cart)
    assert (order.discount_total, order.grand_total) == (Decimal(0), Decimal("15"))
    assert not DiscountUse.objects.exists()


def test_a_discount_on_a_collection_takes_off_only_its_products_even_ones_added_later():
    serum = variant_in_stock(price="20.00")
    brand = serum.product.brand
    type(serum.product).objects.filter(pk=serum.product_id).update(category="Serums")
    cream = VariantFactory.create(
        product=ProductFactory.create(brand=brand, category="Creams"), price=Decimal("10.00")
    )
    code = code_for(brand, "SERUMS", applies_to_all=False)
    Discount.objects.filter(pk=code.discount_id).update(collections=["Serums"])
    later = VariantFactory.create(
        product=ProductFactory.create(brand=brand, category="Serums"), price=Decimal("30.00")
    )

    order = buy(with_code(cart_with((serum, 1), (cream, 1), (later, 1)), "SERUMS"))

    lines = {line.sku: line for line in order.lines.all()}
    assert lines[serum.sku].discount_amount == Decimal("2")
    assert lines[later.sku].discount_amount == Decimal("3")
    assert lines[cream.sku].discount_amount == 0
    assert order.discount_total == Decimal("5")

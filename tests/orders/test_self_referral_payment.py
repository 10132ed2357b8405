"""Self-referral by payment card: a creator paying with their own card earns nothing.

End to end: checkout through a link or storefront token, the card confirmed on the Stripe
emulator, the signed `payment_intent.succeeded` webhook through the real endpoint, and the
ledger handler of the `orders.order_paid` outbox event.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from commissions.models import CommissionLine
from creators.attribution.tokens import token_for_click, token_for_storefront
from creators.models import AttributionCounter, PaymentFingerprint
from creators.services.attribution import attribution_counters_flush, payment_fingerprint_record
from orders.models import CartLine, Order, OrderEvent, OrderLine
from orders.services.checkout import checkout_start
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory
from tests.orders.helpers import (
    ADDRESS,
    cart_with,
    intent_succeeded_payload,
    pay,
    post_event,
    stripe_test_client,
    variant_in_stock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

CREATORS_CARD = "4242424242424242"
FANS_CARD = "5555555555554444"


@pytest.fixture
def paid(api_client, django_capture_on_commit_callbacks):
    """Pay an order with a card on the emulator and deliver its succeeded webhook."""

    def pay_with(order: Order, card: str) -> Order:
        intent = pay(order.stripe_payment_intent_id, card=card)
        assert intent.status == "succeeded"
        payload = intent_succeeded_payload(f"evt_paid_{order.pk}", order)
        with django_capture_on_commit_callbacks(execute=True):
            assert post_event(api_client, payload).status_code == 200
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
        return order

    return pay_with


def checkout(variant, token: str, *, email: str, user=None) -> Order:
    cart = cart_with((variant, 1))
    CartLine.objects.filter(cart=cart).update(attribution_token=token)
    return checkout_start(
        cart=cart, user=user, idempotency_key=f"k{cart.pk}", email=email, shipping_address=ADDRESS
    )


def fingerprint_of(card: str) -> str:
    method = stripe_test_client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    assert method.card is not None
    return str(method.card.fingerprint)


def test_the_emulator_gives_one_card_the_same_fingerprint_and_another_card_another():
    assert fingerprint_of(CREATORS_CARD) == fingerprint_of(CREATORS_CARD)
    assert fingerprint_of(CREATORS_CARD) != fingerprint_of(FANS_CARD)


def test_a_creators_logged_in_purchase_remembers_their_card(paid):
    creator = CreatorFactory.create()
    order = paid(
        checkout(variant_in_stock(), "", email="me@example.com", user=creator.user), CREATORS_CARD
    )
    known = PaymentFingerprint.objects.get(creator=creator)
    assert known.fingerprint == fingerprint_of(CREATORS_CARD)
    assert known.source == PaymentFingerprint.Source.PURCHASE
    assert known.reference == f"order:{order.pk}"


def test_own_card_through_own_link_under_another_email_earns_nothing_and_is_recorded(paid):
    cache.clear()
    creator = CreatorFactory.create()
    paid(checkout(variant_in_stock(), "", email="me@example.com", user=creator.user), CREATORS_CARD)
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(creator=creator, product=variant.product)
    order = checkout(
        variant, token_for_click(click_id="c-1", link_id=link.pk), email="someone@else.example"
    )
    assert order.lines.get().attributed_creator_id == creator.pk  # credited at checkout

    paid(order, CREATORS_CARD)

    line = OrderLine.objects.get(order=order)
    assert (line.attributed_creator_id, line.attributed_link_id, line.commission_rate) == (
        None,
        None,
        None,
    )
    receipt = line.attribution
    assert receipt["credited"] is False
    assert receipt["reason"] == "self_referral_payment"
    assert (receipt["creator_id"], receipt["link_id"], receipt["click_id"]) == (
        creator.pk,
        link.pk,
        "c-1",
    )
    assert "rate" not in receipt
    assert not CommissionLine.objects.filter(order_line_id=line.pk).exists()
    note = OrderEvent.objects.get(order=order, kind="self_referral_payment")
    assert note.data == {"lines": [line.pk]}
    attribution_counters_flush()
    assert AttributionCounter.objects.get(kind="self_referral").count == 1


def test_a_fans_card_through_the_same_link_still_credits_the_creator(paid):
    creator = CreatorFactory.create()
    paid(checkout(variant_in_stock(), "", email="me@example.com", user=creator.user), CREATORS_CARD)
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(creator=creator, product=variant.product)
    order = paid(
        checkout(
            variant, token_for_click(click_id="c-2", link_id=link.pk), email="fan@example.com"
        ),
        FANS_CARD,
    )
    line = OrderLine.objects.get(order=order)
    assert line.attributed_creator_id == creator.pk
    assert line.attribution["rule"] == "last_click"
    assert CommissionLine.objects.filter(order_line_id=line.pk, creator=creator).exists()
    assert not OrderEvent.objects.filter(order=order, kind="self_referral_payment").exists()


def test_a_payout_card_voids_storefront_credit_too(paid):
    creator = CreatorFactory.create()
    payment_fingerprint_record(
        creator_id=creator.pk,
        fingerprint=fingerprint_of(CREATORS_CARD),
        source=PaymentFingerprint.Source.PAYOUT,
    )
    order = paid(
        checkout(
            variant_in_stock(),
            token_for_storefront(creator_id=creator.pk),
            email="alias@example.com",
        ),
        CREATORS_CARD,
    )
    line = OrderLine.objects.get(order=order)
    assert line.attributed_creator_id is None
    assert line.attribution["reason"] == "self_referral_payment"
    assert line.attribution["creator_id"] == creator.pk
    assert not CommissionLine.objects.filter(order_line_id=line.pk).exists()


def test_another_creator_buying_logged_in_with_their_card_leaves_the_credit_alone(paid):
    seller = CreatorFactory.create()
    buyer = CreatorFactory.create()
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(creator=seller, product=variant.product)
    order = paid(
        checkout(
            variant,
            token_for_click(click_id="c-3", link_id=link.pk),
            email="buyer@example.com",
            user=buyer.user,
        ),
        CREATORS_CARD,
    )
    assert OrderLine.objects.get(order=order).attributed_creator_id == seller.pk
    assert list(PaymentFingerprint.objects.values_list("creator_id", flat=True)) == [buyer.pk]


def test_every_line_the_creators_card_paid_for_is_voided_with_its_own_receipt(paid):
    cache.clear()
    creator = CreatorFactory.create()
    paid(checkout(variant_in_stock(), "", email="me@example.com", user=creator.user), CREATORS_CARD)
    variants = [variant_in_stock(), variant_in_stock()]
    links = [AffiliateLinkFactory.create(creator=creator, product=v.product) for v in variants]
    cart = cart_with(*((v, 1) for v in variants))
    for n, (variant, link) in enumerate(zip(variants, links, strict=True)):
        CartLine.objects.filter(cart=cart, variant=variant).update(
            attribution_token=token_for_click(click_id=f"c-{n}", link_id=link.pk)
        )
    order = checkout_start(
        cart=cart,
        user=None,
        idempotency_key="k-two",
        email="x@else.example",
        shipping_address=ADDRESS,
    )
    assert order.lines.filter(attributed_creator_id=creator.pk).count() == 2

    paid(order, CREATORS_CARD)

    lines = list(OrderLine.objects.filter(order=order).order_by("variant_id"))
    assert [line.attributed_creator_id for line in lines] == [None, None]
    assert [(line.attribution["reason"], line.attribution["link_id"]) for line in lines] == [
        ("self_referral_payment", link.pk) for link in links
    ]
    note = OrderEvent.objects.get(order=order, kind="self_referral_payment")
    assert note.data == {"lines": sorted(line.pk for line in lines)}

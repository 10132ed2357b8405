"""Checkout copies the attribution snapshot and its receipt onto each order line."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.core.cache import cache
from django.utils import timezone

from creators.attribution.tokens import token_for_click, token_for_storefront
from creators.models import AffiliateLink, AttributionCounter, Collaboration
from creators.selectors.attribution import attribution_decide, attribution_token_choose
from creators.services.attribution import attribution_counters_flush
from orders.models import CartLine, OrderLine
from orders.selectors import link_pace
from orders.services.checkout import checkout_start
from shop.models import Product
from tests.conftest import client_for
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory
from tests.factories import UserFactory
from tests.orders.helpers import ADDRESS, cart_with, variant_in_stock
from tests.shop.factories import BrandMemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def buy(variant, token: str, *, email: str = "fan@example.com", user=None) -> OrderLine:
    cart = cart_with((variant, 1))
    CartLine.objects.filter(cart=cart).update(attribution_token=token)
    order = checkout_start(
        cart=cart, user=user, idempotency_key=f"k{cart.pk}", email=email, shipping_address=ADDRESS
    )
    return order.lines.get()


def collaborating(brand, creator, rate: str) -> Collaboration:
    """An accepted collaboration in force since yesterday, over all the brand's products."""
    return Collaboration.objects.create(
        brand=brand,
        creator=creator,
        rate=Decimal(rate),
        valid_from=timezone.now() - timedelta(days=1),
        status=Collaboration.Status.ACCEPTED,
    )


def old_token(monkeypatch, days: int, **kwargs) -> str:
    past = time.time() - days * 86400
    monkeypatch.setattr(signing.time, "time", lambda: past)  # type: ignore[attr-defined]
    token = token_for_click(**kwargs)
    monkeypatch.undo()
    return token


def test_last_click_credits_the_links_creator_at_the_locked_rate():
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product, locked_rate=Decimal("18.00"))
    line = buy(variant, token_for_click(click_id="click-1", link_id=link.pk))
    assert line.attributed_creator_id == link.creator_id
    assert line.attributed_link_id == link.pk
    assert line.commission_rate == Decimal("18.00")
    receipt = line.attribution
    assert receipt["rule"] == "last_click"
    assert receipt["click_id"] == "click-1"
    assert receipt["rate_source"] == "locked"
    assert receipt["locked_rate"] == "18.00"
    assert receipt["window_days"] == 30


def test_a_rate_rise_after_the_link_reaches_the_sale_at_once():
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product, locked_rate=Decimal("10.00"))
    collaborating(variant.product.brand, link.creator, "25.00")
    line = buy(variant, token_for_click(click_id="c", link_id=link.pk))
    assert line.commission_rate == Decimal("25.00")
    assert line.attribution["rate_source"] == "current"


def test_click_outside_the_brands_window_earns_nothing(monkeypatch):
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product)
    token = old_token(monkeypatch, 31, click_id="old", link_id=link.pk)
    line = buy(variant, token)
    assert line.attributed_creator_id is None
    assert line.attribution["reason"] == "outside_window"


def test_self_referral_by_account_or_email_earns_nothing_and_is_recorded():
    variant = variant_in_stock(on_hand=5)
    creator = CreatorFactory.create()
    link = AffiliateLinkFactory.create(creator=creator, product=variant.product)
    by_account = buy(
        variant, token_for_click(click_id="a", link_id=link.pk), user=creator.user, email="x@y.co"
    )
    by_email = buy(
        variant, token_for_click(click_id="b", link_id=link.pk), email=creator.user.email.upper()
    )
    assert by_account.attributed_creator_id is None
    assert by_account.attribution["reason"] == "self_referral_account"
    assert by_email.attribution["reason"] == "self_referral_email"
    assert by_email.attribution["creator_id"] == creator.pk


def test_storefront_token_credits_the_creator_at_the_best_rate():
    variant = variant_in_stock()
    creator = CreatorFactory.create()
    line = buy(variant, token_for_storefront(creator_id=creator.pk))
    assert line.attributed_creator_id == creator.pk
    assert line.attributed_link_id is None
    assert line.attribution["rule"] == "storefront"
    assert line.commission_rate == variant.product.open_rate


def test_link_token_credits_only_its_own_product():
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create()
    line = buy(variant, token_for_click(click_id="c", link_id=link.pk))
    assert line.attributed_creator_id is None
    assert line.attribution["reason"] == "other_product"


def test_forged_token_is_ignored_and_counted():
    variant = variant_in_stock()
    cache.clear()
    line = buy(variant, "eyJrIjoibGluayJ9:1xWxY1:forgedsignature")
    assert line.attributed_creator_id is None
    assert line.attribution["reason"] == "invalid_token"
    attribution_counters_flush()
    assert AttributionCounter.objects.get(kind="invalid_token").count == 1


def test_receipt_is_visible_to_its_creator_and_brand_and_404_to_others(api_client):
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product)
    line = buy(variant, token_for_click(click_id="c", link_id=link.pk))
    mine = client_for(link.creator.user).get(f"/api/v1/creators/me/receipts/{line.pk}/")
    assert mine.status_code == 200
    assert mine.json()["receipt"]["link_id"] == link.pk
    other_creator = CreatorFactory.create()
    assert (
        client_for(other_creator.user).get(f"/api/v1/creators/me/receipts/{line.pk}/").status_code
        == 404
    )
    member = BrandMemberFactory.create(brand=variant.product.brand).user
    assert (
        client_for(member).get(f"/api/v1/brand/order-lines/{line.pk}/receipt/").status_code == 200
    )
    outsider = BrandMemberFactory.create().user
    assert (
        client_for(outsider).get(f"/api/v1/brand/order-lines/{line.pk}/receipt/").status_code == 404
    )
    support = UserFactory.create(is_staff=True, is_superuser=True)
    assert (
        client_for(support).get(f"/api/v1/brand/order-lines/{line.pk}/receipt/").status_code == 200
    )


def test_a_link_to_a_sold_out_product_credits_its_fallback_at_the_fallbacks_own_rate():
    fallback = variant_in_stock()
    fallback.product.commission_rate = Decimal("12.00")
    fallback.product.save(update_fields=["commission_rate"])
    link = AffiliateLinkFactory.create(
        product=variant_in_stock(on_hand=0).product,
        fallback_product=fallback.product,
        locked_rate=Decimal("30.00"),
    )
    token = token_for_click(click_id="tap-on-sold-out", link_id=link.pk)
    line = buy(fallback, token)
    assert line.attributed_creator_id == link.creator_id
    assert line.attributed_link_id == link.pk
    # The link's locked rate was the sold-out product's brand's promise, not the fallback's.
    assert line.commission_rate == Decimal("12.00")
    assert line.attribution["rule"] == "last_click"
    assert line.attribution["rate_source"] == "current"


def test_a_fallback_sale_pays_the_creators_collaboration_with_the_fallbacks_brand():
    fallback = variant_in_stock()
    link = AffiliateLinkFactory.create(
        product=variant_in_stock(on_hand=0).product,
        fallback_product=fallback.product,
        locked_rate=Decimal("30.00"),
    )
    collaborating(fallback.product.brand, link.creator, "21.00")
    line = buy(fallback, token_for_click(click_id="c", link_id=link.pk))
    assert line.commission_rate == Decimal("21.00")
    assert line.attribution["current_rate"] == "21.00"
    assert line.attribution["rate_source"] == "current"


def test_a_link_deleted_since_the_click_credits_nobody():
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product)
    token = token_for_click(click_id="c", link_id=link.pk)
    AffiliateLink.objects.filter(pk=link.pk).delete()
    line = buy(variant, token)
    assert line.attributed_creator_id is None
    assert line.attribution["reason"] == "link_gone"


def test_a_line_bought_through_a_link_is_decided_in_two_statements(django_assert_num_queries):
    variant = variant_in_stock()
    link = AffiliateLinkFactory.create(product=variant.product, locked_rate=Decimal("18.00"))
    token = token_for_click(click_id="c", link_id=link.pk)
    product = Product.objects.select_related("brand").get(pk=variant.product_id)

    def decide(email: str):
        return attribution_decide(
            token=token, product=product, buyer_user_id=None, buyer_email=email, pace=link_pace
        )

    # The link with its creator, their email and the best rate; then the link's pace.
    with django_assert_num_queries(2):
        credited = decide("fan@example.com")
    # The creator buying through their own link: told by the email the first one read.
    with django_assert_num_queries(1):
        own = decide(link.creator.user.email.upper())

    assert (credited.reason, credited.rate) == ("last_click", "18.00")
    assert own.reason == "self_referral_email"


def test_the_cart_keeps_a_link_token_on_the_links_fallback_product():
    fallback = variant_in_stock()
    link = AffiliateLinkFactory.create(
        product=variant_in_stock(on_hand=0).product, fallback_product=fallback.product
    )
    token = token_for_click(click_id="c", link_id=link.pk)
    assert attribution_token_choose(tokens=[token], product_id=fallback.product_id) == token
    assert attribution_token_choose(tokens=[token], product_id=variant_in_stock().product_id) == ""

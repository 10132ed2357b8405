"""Sell-out alerts: projected from the last hour, once per episode, to brand and creators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from orders.alerts import services
from orders.models import SellOutAlert
from shop.models import StockMovement
from tests.orders.waitlist_helpers import link_for, restock, sell
from tests.shop.factories import BrandMemberFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _selling_fast(on_hand: int = 30, sold: int = 20, **kw):
    """A variant that sold `sold` units in the last hour out of `on_hand` + `sold`."""
    variant = VariantFactory.create(product=ProductFactory.create(**kw), on_hand=on_hand + sold)
    link = link_for(variant)
    sell(variant, sold, link=link)
    return variant, link


def test_alert_opens_when_projected_sell_out_is_under_threshold(sellout_scan) -> None:
    variant, _ = _selling_fast(on_hand=10, sold=20)  # 20/h -> 10 left in 30 minutes

    result = sellout_scan()

    alert = SellOutAlert.objects.get()
    assert result.opened == [alert.pk]
    assert (alert.variant_id, alert.units_last_hour, alert.available_at_alert) == (
        variant.pk,
        20,
        10,
    )
    assert str(alert.minutes_to_sell_out) == "30.0"


def test_slow_sellers_and_old_sales_do_not_alert(sellout_scan) -> None:
    _selling_fast(on_hand=100, sold=10)  # 600 minutes
    old, _ = _selling_fast(on_hand=5, sold=20)
    StockMovement.objects.filter(variant=old).update(
        created_at=timezone.now() - timedelta(minutes=61)
    )

    sellout_scan()

    assert not SellOutAlert.objects.exists()


def test_alert_fires_once_per_episode_and_again_after_restock(sellout_scan) -> None:
    variant, link = _selling_fast(on_hand=10, sold=20)
    sellout_scan()
    sellout_scan()
    assert SellOutAlert.objects.count() == 1

    restock(variant, 50)
    sellout_scan()
    assert SellOutAlert.objects.get().resolved_at is not None

    sell(variant, 55, link=link)  # 75 in the hour, 5 left
    sellout_scan()
    assert SellOutAlert.objects.count() == 2
    assert SellOutAlert.objects.filter(resolved_at__isnull=True).count() == 1


def test_brand_members_and_driving_creators_are_emailed_once(sellout_scan) -> None:
    variant, link = _selling_fast(on_hand=10, sold=20)
    other_link = link_for(variant)
    sell(variant, 2, link=other_link)
    member = BrandMemberFactory.create(brand=variant.product.brand)
    bystander = link_for(variant)  # a link that sold nothing this hour

    sellout_scan()
    sellout_scan()
    services.sellout_alert_notify(alert_id=SellOutAlert.objects.get().pk)  # a retried task

    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(
        [member.user.email, link.creator.user.email, other_link.creator.user.email]
    )
    assert bystander.creator.user.email not in recipients
    assert "sell out" in mail.outbox[0].subject
    alert = SellOutAlert.objects.get()
    assert sorted(alert.creator_ids) == sorted([link.creator_id, other_link.creator_id])


def test_scan_query_count_is_fixed(django_assert_max_num_queries) -> None:
    for _ in range(8):
        _selling_fast(on_hand=5, sold=20)

    with django_assert_max_num_queries(11):  # 2 of them: the outbox events, in bulk
        result = services.sellout_scan()

    assert len(result.opened) == 8


def test_another_brand_never_sees_the_alert_in_admin(sellout_scan) -> None:
    variant, _ = _selling_fast(on_hand=10, sold=20)
    mine = BrandMemberFactory.create(brand=variant.product.brand)
    theirs = BrandMemberFactory.create()
    sellout_scan()
    alert = SellOutAlert.objects.get()
    own, other = Client(), Client()
    own.force_login(mine.user)
    other.force_login(theirs.user)
    changelist = "/admin/orders/selloutalert/"
    change = f"/admin/orders/selloutalert/{alert.pk}/change/"

    assert own.get(changelist).status_code == 200
    assert variant.sku in own.get(changelist).content.decode()
    assert own.get(change).status_code == 200
    theirs_list = other.get(changelist)
    assert theirs_list.status_code == 200
    assert variant.sku not in theirs_list.content.decode()
    assert other.get(change).status_code in (302, 404)
    assert own.post(f"/admin/orders/selloutalert/{alert.pk}/delete/").status_code == 403

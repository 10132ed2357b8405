"""The order emails go through the real broker to a real worker process after commit."""

from __future__ import annotations

import pytest

from orders.models import Notification
from tests.orders.aftersale_helpers import member, paid_order, variant_of
from tests.orders.conftest import wait_until
from tests.shop.factories import BrandFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.usefixtures("stripe_emulator")
def test_a_real_worker_sends_the_confirmation_and_the_brand_email_once(real_worker):
    brand = BrandFactory.create()
    member(brand)
    order = paid_order((variant_of(brand), 1))
    keys = {f"order:{order.pk}:confirmation", f"order:{order.pk}:brand:{brand.pk}:new"}
    wait_until(
        lambda: (
            set(
                Notification.objects.filter(order=order, sent_at__isnull=False).values_list(
                    "key", flat=True
                )
            )
            == keys
        ),
        what="the worker to send both order emails",
        timeout=30,
    )
    assert Notification.objects.filter(order=order).count() == 2

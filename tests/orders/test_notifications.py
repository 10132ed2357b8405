"""Emails after commit from Celery: confirmation, new order per brand, shipped, refunded."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from orders.services import notifications
from orders.tasks import notify_order_paid
from shop.models import BrandMember
from tests.orders.aftersale_helpers import intent_of, member, paid_order, variant_of
from tests.orders.helpers import event_payload, post_event, stripe_test_client
from tests.shop.factories import BrandFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def html_of(message: object) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    content, mime = message.alternatives[0]
    assert mime == "text/html"
    return str(content)


@pytest.fixture
def shop():
    brand_a = BrandFactory.create(name="Alpha")
    brand_b = BrandFactory.create(name="Bravo")
    a_owner, a_viewer = member(brand_a), member(brand_a, BrandMember.Role.VIEWER)
    b_owner = member(brand_b)
    return {
        "a": brand_a,
        "b": brand_b,
        "va": variant_of(brand_a, "20.00"),
        "vb": variant_of(brand_b, "15.00"),
        "a_emails": sorted([a_owner.email, a_viewer.email]),
        "b_emails": [b_owner.email],
    }


def test_payment_sends_the_confirmation_and_each_brand_its_own_new_order(
    shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order((shop["va"], 2), (shop["vb"], 1))
    by_subject = {m.subject: m for m in mail.outbox}
    confirmation = by_subject[f"Your Tribe order {order.pk} is confirmed"]
    assert confirmation.to == ["fan@example.com"]
    assert shop["va"].sku not in confirmation.body  # shoppers see titles, not SKUs
    assert f"/orders/{order.token}/" in confirmation.body
    assert f"/orders/{order.token}/" in html_of(confirmation)
    new_a = by_subject[f"New order {order.pk} for Alpha"]
    new_b = by_subject[f"New order {order.pk} for Bravo"]
    assert sorted(new_a.to) == shop["a_emails"]
    assert new_b.to == shop["b_emails"]
    assert shop["va"].sku in new_a.body
    assert shop["vb"].sku not in new_a.body
    assert shop["vb"].sku in new_b.body
    assert shop["va"].sku not in new_b.body
    assert shop["va"].sku not in html_of(new_b)
    assert len(mail.outbox) == 3


def test_a_notification_task_run_twice_sends_once(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order((shop["va"], 1))
    sent = len(mail.outbox)
    assert notify_order_paid.delay(order.pk).get() == 0
    assert notifications.notify_order_paid(order_id=order.pk) == 0
    assert len(mail.outbox) == sent


def test_a_refund_emails_the_shopper(shop, django_capture_on_commit_callbacks):
    order = paid_order((shop["va"], 2))
    from tests.conftest import client_for

    owner = BrandMember.objects.filter(brand=shop["a"], role="owner").get().user
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            f"/api/v1/brand/orders/{order.pk}/refunds/",
            {"lines": [{"line_id": order.lines.get().pk, "quantity": 1}]},
            format="json",
        )
    assert response.status_code == 201
    (message,) = mail.outbox
    assert message.subject == f"Refund for your order {order.pk}"
    assert "$20.00" in message.body
    assert "$20.00" in html_of(message)


def test_a_dashboard_refund_tells_the_shopper_and_each_brand_its_share(
    shop, api_client, django_capture_on_commit_callbacks
):
    order = paid_order((shop["va"], 1), (shop["vb"], 1))
    refund = stripe_test_client().v1.refunds.create(
        params={"payment_intent": intent_of(order), "amount": 1000}
    )
    payload = event_payload("evt_dash", "refund.created", refund.to_dict())
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(api_client, payload).status_code == 200
    recipients = sorted(sorted(m.to) for m in mail.outbox)
    assert recipients == sorted([["fan@example.com"], shop["a_emails"], shop["b_emails"]])
    brand_a_mail = next(m for m in mail.outbox if sorted(m.to) == shop["a_emails"])
    assert "Stripe dashboard" in brand_a_mail.subject
    assert shop["vb"].sku not in brand_a_mail.body

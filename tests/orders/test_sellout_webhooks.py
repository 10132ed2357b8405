"""Sell-out alerts reach the brand's systems as signed `variant.*` webhook events, once each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from orders.alerts import services
from orders.alerts.webhooks import sellout_webhooks_emit
from orders.models import Order, SellOutAlert, WebhookDelivery
from orders.services.webhooks import webhook_deliver_due, webhooks_emit, webhooks_sweep
from shop.models import Variant
from tests.orders.aftersale_helpers import member
from tests.orders.waitlist_helpers import link_for, sell
from tests.orders.webhook_helpers import Receiver, endpoint_for, receiving, verify
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

SELLING_OUT, SOLD_OUT = "variant.selling_out", "variant.sold_out"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    yield from receiving(settings)


def hot_variant(*, left: int = 13, sold: int = 40, reserved: int = 3) -> Variant:
    """Sold `sold` in the last hour; `left` on hand of which `reserved` are held by checkouts.

    With the defaults: 10 available at 40 an hour, so it sells out in 15 minutes.
    """
    variant = VariantFactory.create(product=ProductFactory.create(), on_hand=left + sold)
    sell(variant, sold, link=link_for(variant))
    Variant.objects.filter(pk=variant.pk).update(reserved=reserved)
    variant.refresh_from_db()
    return variant


def as_json(value: object) -> object:
    return DjangoJSONEncoder().default(value)


def test_an_alert_reaches_each_subscribed_endpoint_once_however_often_the_tasks_run(
    receiver, sellout_scan, django_capture_on_commit_callbacks
) -> None:
    variant = hot_variant()
    brand = variant.product.brand
    every = endpoint_for(brand, receiver.url + "/every")
    selling = endpoint_for(brand, receiver.url + "/selling", [SELLING_OUT])
    orders_only = endpoint_for(brand, receiver.url + "/orders", ["order.paid"])
    elsewhere = endpoint_for(BrandFactory.create(), receiver.url + "/elsewhere")

    sellout_scan()
    sellout_scan()
    alert = SellOutAlert.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.sellout_alert_notify(alert_id=alert.pk)
        services.sellout_alert_notify(alert_id=alert.pk)  # a retried notify task
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        # A scan that raced this one and emits the same alert again writes nothing new.
        loaded = SellOutAlert.objects.select_related("variant__product").get()
        sellout_webhooks_emit(opened=[loaded], sold_out=[], window_minutes=60, now=timezone.now())

    per_endpoint = sorted(WebhookDelivery.objects.values_list("endpoint_id", "event_type"))
    assert per_endpoint == sorted([(every.pk, SELLING_OUT), (selling.pk, SELLING_OUT)])
    assert sorted(r.path for r in receiver.received) == ["/every", "/selling"]
    assert not WebhookDelivery.objects.filter(endpoint__in=[orders_only, elsewhere]).exists()


def test_the_selling_out_payload_is_signed_and_carries_stock_and_projection(
    receiver, sellout_scan
) -> None:
    variant = hot_variant(left=13, sold=40, reserved=3)
    hook = endpoint_for(variant.product.brand, receiver.url)

    sellout_scan()

    alert = SellOutAlert.objects.get()
    (request,) = receiver.received
    assert verify(request.headers["Tribe-Signature"], request.body, hook.secret)
    assert not verify(request.headers["Tribe-Signature"], request.body, "whsec_wrong")
    event = request.event
    assert (event["type"], event["brand"]) == (SELLING_OUT, variant.product.brand.slug)
    assert request.headers["Tribe-Event-Id"] == event["id"]
    assert request.headers["Tribe-Event-Type"] == SELLING_OUT
    assert event["data"] == {
        "variant": {
            "id": variant.pk,
            "sku": variant.sku,
            "title": variant.title,
            "options": variant.options,
            "on_hand": 13,
            "reserved": 3,
            "available": 10,
        },
        "product": {
            "id": variant.product.pk,
            "slug": variant.product.slug,
            "title": variant.product.title,
        },
        "alert": {
            "id": alert.pk,
            "raised_at": as_json(alert.opened_at),
            "window_minutes": 60,
            "units_in_window": 40,
            "velocity_per_hour": "40.0",
            "available_at_alert": 10,
            "minutes_to_sell_out": "15.0",
            "projected_sell_out_at": as_json(alert.opened_at + timedelta(minutes=15)),
            "sold_out_at": None,
        },
    }
    delivery = WebhookDelivery.objects.get()
    assert (delivery.subject, delivery.event_key, delivery.order_id, delivery.status) == (
        f"variant:{variant.pk}",
        f"alert:{alert.pk}",
        None,
        "delivered",
    )


def test_sold_out_follows_selling_out_once_when_the_variant_runs_dry(
    receiver, sellout_scan
) -> None:
    variant = hot_variant(left=13, sold=40, reserved=3)
    endpoint_for(variant.product.brand, receiver.url)
    sellout_scan()

    sell(variant, 10)  # the last 10 available: 3 on hand, all 3 reserved
    sellout_scan()
    sellout_scan()

    alert = SellOutAlert.objects.get()
    assert alert.sold_out_at is not None
    assert alert.resolved_at is None
    assert receiver.types() == [SELLING_OUT, SOLD_OUT]
    sold_out = receiver.received[1].event["data"]
    assert sold_out["variant"]["available"] == 0
    assert sold_out["alert"]["id"] == alert.pk
    assert sold_out["alert"]["sold_out_at"] == as_json(alert.sold_out_at)
    assert WebhookDelivery.objects.filter(event_type=SOLD_OUT).count() == 1


def test_an_alert_raised_at_zero_sends_selling_out_then_sold_out(receiver, sellout_scan) -> None:
    variant = hot_variant(left=0, sold=20, reserved=0)
    endpoint_for(variant.product.brand, receiver.url)

    sellout_scan()

    assert receiver.types() == [SELLING_OUT, SOLD_OUT]
    assert SellOutAlert.objects.get().sold_out_at is not None


def test_a_failing_endpoint_gets_the_variant_event_again_with_backoff(
    receiver, sellout_scan
) -> None:
    variant = hot_variant()
    hook = endpoint_for(variant.product.brand, receiver.url)
    answers = iter([500])
    receiver.answer = lambda request: next(answers, 200)

    sellout_scan()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_attempt_at is not None
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=30)
    later = delivery.next_attempt_at + timedelta(seconds=1)
    outcome = webhook_deliver_due(
        endpoint_id=hook.pk, subject=delivery.subject, clock=lambda: later
    )
    assert outcome == "idle"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [r.event["id"] for r in receiver.received] == [delivery.event_id] * 2


def test_the_sweep_retries_variant_events(receiver, sellout_scan) -> None:
    variant = hot_variant()
    endpoint_for(variant.product.brand, receiver.url)
    answers = iter([503])
    receiver.answer = lambda request: next(answers, 200)
    sellout_scan()
    delivery = WebhookDelivery.objects.get()
    assert webhooks_sweep(now=timezone.now()) == 0  # not due yet

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhooks_sweep() == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_order_events_keep_their_queue_and_shape_beside_a_stuck_variant_event(
    receiver, sellout_scan, django_capture_on_commit_callbacks
) -> None:
    variant = hot_variant()
    brand = variant.product.brand
    endpoint_for(brand, receiver.url)
    receiver.answer = lambda request: 500 if request.event["type"].startswith("variant.") else 200
    sellout_scan()  # variant.selling_out: answered 500, waits for its retry
    order = Order.objects.order_by("pk").last()
    assert order is not None

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        webhooks_emit(order=order, event_type="order.paid", brand_ids=[brand.pk])

    variant_event = WebhookDelivery.objects.get(event_type=SELLING_OUT)
    order_event = WebhookDelivery.objects.get(event_type="order.paid")
    assert (variant_event.status, order_event.status) == ("pending", "delivered")
    assert (order_event.subject, order_event.event_key, order_event.order_id) == (
        f"order:{order.pk}",
        "",
        order.pk,
    )
    payload = order_event.payload
    assert set(payload) == {"id", "type", "created", "brand", "data"}
    assert set(payload["data"]) == {"order"}
    assert payload["data"]["order"]["id"] == order.pk
    # The order queue is still addressed by order id, as the tasks queued before subjects were.
    assert webhook_deliver_due(endpoint_id=order_event.endpoint_id, order_id=order.pk) == "idle"


def test_the_database_writes_an_alert_event_once_per_endpoint() -> None:
    variant = hot_variant()
    hook = endpoint_for(variant.product.brand, "https://93.184.216.34/hook")
    now = timezone.now()

    def delivery(event_id: str, key: str) -> WebhookDelivery:
        return WebhookDelivery(
            endpoint=hook,
            brand_id=hook.brand_id,
            subject=f"variant:{variant.pk}",
            event_key=key,
            event_id=event_id,
            event_type=SELLING_OUT,
            payload={},
            window_started_at=now,
            next_attempt_at=now,
        )

    delivery("evt_1", "alert:1").save()
    delivery("evt_2", "alert:2").save()  # another alert of the same variant is another fact
    with pytest.raises(IntegrityError), transaction.atomic():
        delivery("evt_3", "alert:1").save()
    assert WebhookDelivery.objects.count() == 2


def test_scan_queries_stay_fixed_with_endpoints_listening(
    receiver, django_assert_max_num_queries
) -> None:
    variants = [hot_variant() for _ in range(8)]
    for variant in variants:
        endpoint_for(variant.product.brand, receiver.url)

    with django_assert_max_num_queries(13):  # 2 of them: the outbox events, in bulk
        result = services.sellout_scan()

    assert len(result.opened) == 8
    assert WebhookDelivery.objects.filter(event_type=SELLING_OUT).count() == 8


def test_the_delivery_log_shows_variant_events_to_their_brand_only_and_replays_them(
    receiver, sellout_scan, django_capture_on_commit_callbacks
) -> None:
    variant = hot_variant()
    endpoint_for(variant.product.brand, receiver.url)
    sellout_scan()
    delivery = WebhookDelivery.objects.get()
    own, other = Client(), Client()
    own.force_login(member(variant.product.brand))
    other.force_login(member(BrandFactory.create()))
    replay = f"/admin/orders/webhookdelivery/{delivery.pk}/replay/"

    assert other.get("/admin/orders/webhookdelivery/").context["cl"].result_list.count() == 0
    assert other.post(replay, follow=True).redirect_chain[0][0] == "/admin/"
    assert list(own.get("/admin/orders/webhookdelivery/").context["cl"].result_list) == [delivery]
    with django_capture_on_commit_callbacks(execute=True):
        assert own.post(replay).status_code == 302

    assert [r.event["id"] for r in receiver.received] == [delivery.event_id] * 2

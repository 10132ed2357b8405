"""Outbound order webhooks against a real local HTTP receiver that fails, stalls, recovers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from common.errors import ValidationFailed
from orders.models import BrandWebhookEndpoint, WebhookDelivery
from orders.services.webhook_urls import webhook_url_check
from orders.services.webhooks import webhook_deliver_due, webhooks_sweep
from tests.orders.aftersale_helpers import TwoBrands, two_brand_order
from tests.orders.webhook_helpers import Received, Receiver, endpoint_for, receiving, verify

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    yield from receiving(settings)


def shipped(t: TwoBrands) -> None:
    response = t.client_a().post(
        f"/api/v1/brand/orders/{t.order.pk}/shipments/", {"carrier": "UPS"}, format="json"
    )
    assert response.status_code == 201


# --- URL rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://93.184.216.34/hook", "webhook_url_not_https"),
        ("https://127.0.0.1/hook", "webhook_url_forbidden_address"),
        ("https://[::1]/hook", "webhook_url_forbidden_address"),
        ("https://10.1.2.3/hook", "webhook_url_forbidden_address"),
        ("https://192.168.0.10/hook", "webhook_url_forbidden_address"),
        ("https://169.254.169.254/latest/meta-data", "webhook_url_forbidden_address"),
        ("https://[::ffff:10.0.0.1]/hook", "webhook_url_forbidden_address"),
        ("ftp://93.184.216.34/hook", "webhook_url_invalid"),
        ("https://user:pw@93.184.216.34/hook", "webhook_url_invalid"),
    ],
)
def test_endpoint_urls_must_be_https_and_public(url, code):
    with pytest.raises(ValidationFailed) as caught:
        webhook_url_check(url)
    assert caught.value.code == code


def test_a_host_name_resolving_to_a_private_address_is_refused():
    def resolve(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [(2, 1, 6, "", ("10.0.0.7", port))]

    with pytest.raises(ValidationFailed) as caught:
        webhook_url_check("https://hooks.brand.example/orders", resolve=resolve)
    assert caught.value.code == "webhook_url_forbidden_address"


def test_a_public_https_url_is_accepted_and_loopback_only_when_allowed(settings):
    webhook_url_check("https://93.184.216.34/hook")
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    webhook_url_check("https://127.0.0.1:8443/hook")


# --- delivery --------------------------------------------------------------------------------


def test_each_brand_gets_a_signed_order_paid_with_only_its_lines(
    receiver, django_capture_on_commit_callbacks
):
    from tests.orders.aftersale_helpers import member, paid_order, variant_of
    from tests.shop.factories import BrandFactory

    brand_a, brand_b = BrandFactory.create(), BrandFactory.create()
    member(brand_a)
    hook_a = endpoint_for(brand_a, receiver.url + "/a")
    hook_b = endpoint_for(brand_b, receiver.url + "/b")
    va, vb = variant_of(brand_a), variant_of(brand_b)
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order((va, 2), (vb, 1))
    by_path = {r.path: r for r in receiver.received}
    assert set(by_path) == {"/a", "/b"}
    for path, hook, variant in (("/a", hook_a, va), ("/b", hook_b, vb)):
        request = by_path[path]
        assert verify(request.headers["Tribe-Signature"], request.body, hook.secret)
        assert not verify(request.headers["Tribe-Signature"], request.body, "whsec_wrong")
        event = request.event
        assert event["type"] == "order.paid"
        assert request.headers["Tribe-Event-Id"] == event["id"]
        skus = {line["sku"] for part in event["data"]["order"]["brands"] for line in part["lines"]}
        assert skus == {variant.sku}
        assert event["data"]["order"]["id"] == order.pk
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_failing_endpoint_is_retried_with_backoff_and_events_stay_in_order(
    receiver, django_capture_on_commit_callbacks
):
    t = two_brand_order()
    hook = endpoint_for(t.brand_a, receiver.url)
    failures = iter([500, 503])
    receiver.answer = lambda request: next(failures, 200)
    with django_capture_on_commit_callbacks(execute=True):
        shipped(t)  # fulfilment.updated: first attempt answered 500
    with django_capture_on_commit_callbacks(execute=True):
        t.client_a().post(
            f"/api/v1/brand/orders/{t.order.pk}/refunds/", {"shipping": True}, format="json"
        )  # order.refunded: queued behind the failing one, not sent
    assert receiver.types() == ["fulfilment.updated"]
    first, second = WebhookDelivery.objects.order_by("pk")
    assert (first.attempts, first.last_status_code, second.attempts) == (1, 500, 0)
    assert first.last_attempt_at is not None
    assert first.next_attempt_at - first.last_attempt_at == timedelta(seconds=30)

    now = timezone.now()
    assert webhook_deliver_due(endpoint_id=hook.pk, order_id=t.order.pk, clock=lambda: now) == (
        "waiting"
    )
    later = now + timedelta(seconds=31)
    assert webhook_deliver_due(endpoint_id=hook.pk, order_id=t.order.pk, clock=lambda: later) == (
        "retry"
    )
    first.refresh_from_db()
    assert (first.attempts, first.last_status_code) == (2, 503)
    assert first.next_attempt_at - later == timedelta(seconds=60)  # doubled

    even_later = later + timedelta(seconds=61)
    assert webhook_deliver_due(
        endpoint_id=hook.pk, order_id=t.order.pk, clock=lambda: even_later
    ) == ("idle")
    assert receiver.types() == [
        "fulfilment.updated",
        "fulfilment.updated",
        "fulfilment.updated",
        "order.refunded",
    ]
    ids = [r.event["id"] for r in receiver.received]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_after_24_hours_of_failure_a_delivery_fails_and_the_next_one_goes(
    receiver, django_capture_on_commit_callbacks
):
    t = two_brand_order()
    hook = endpoint_for(t.brand_a, receiver.url)
    receiver.answer = lambda r: 500 if r.event["type"] == "fulfilment.updated" else 200
    with django_capture_on_commit_callbacks(execute=True):
        shipped(t)
        t.client_a().post(
            f"/api/v1/brand/orders/{t.order.pk}/refunds/", {"shipping": True}, format="json"
        )
    day_later = timezone.now() + timedelta(hours=24, seconds=1)
    outcome = webhook_deliver_due(endpoint_id=hook.pk, order_id=t.order.pk, clock=lambda: day_later)
    assert outcome == "idle"
    statuses = list(WebhookDelivery.objects.order_by("pk").values_list("event_type", "status"))
    assert statuses == [("fulfilment.updated", "failed"), ("order.refunded", "delivered")]


def test_a_down_or_slow_endpoint_blocks_nothing_else(
    receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    t = two_brand_order()
    endpoint_for(t.brand_a, "http://127.0.0.1:9/down")  # nothing listens there
    endpoint_for(t.brand_a, receiver.url + "/slow")
    endpoint_for(t.brand_b, receiver.url + "/b")
    receiver.answer = lambda r: 200
    slow_then_fast = {"/slow": 1.0}

    def answer(request: Received) -> int:
        time.sleep(slow_then_fast.pop(request.path, 0))
        return 200

    receiver.answer = answer
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        shipped(t)
        response = t.client_b().post(
            f"/api/v1/brand/orders/{t.order.pk}/shipments/", {"carrier": "DHL"}, format="json"
        )
    assert response.status_code == 201
    assert time.monotonic() - started < 10
    rows = {
        d.endpoint.url.rsplit("/", 1)[-1]: d
        for d in WebhookDelivery.objects.select_related("endpoint")
    }
    assert rows["down"].status == "pending"
    assert "ConnectionError" in rows["down"].last_error
    assert rows["slow"].status == "pending"
    assert "Timeout" in rows["slow"].last_error
    assert rows["b"].status == "delivered"


def test_the_sweep_picks_up_due_retries(receiver, django_capture_on_commit_callbacks):
    t = two_brand_order()
    endpoint_for(t.brand_a, receiver.url)
    answers = iter([500])
    receiver.answer = lambda r: next(answers, 200)
    with django_capture_on_commit_callbacks(execute=True):
        shipped(t)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert webhooks_sweep(now=timezone.now()) == 0  # not due yet
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhooks_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


# --- admin: endpoints, the delivery log, replay ---------------------------------------------


def test_endpoint_admin_refuses_private_urls_and_scopes_by_brand(
    client: Client, receiver, settings
):
    t = two_brand_order()
    other = endpoint_for(t.brand_b, receiver.url)
    client.force_login(t.owner_a)
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = client.post(
        "/admin/orders/brandwebhookendpoint/add/",
        {"brand": t.brand_a.pk, "url": "https://10.0.0.1/hook", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "private, loopback or link-local" in str(response.context["adminform"].form.errors)
    assert BrandWebhookEndpoint.objects.filter(brand=t.brand_a).count() == 0
    listed = client.get("/admin/orders/brandwebhookendpoint/").context["cl"].result_list
    assert other not in list(listed)
    page = client.get(f"/admin/orders/brandwebhookendpoint/{other.pk}/change/", follow=True)
    assert page.redirect_chain[0][0] == "/admin/"


def test_replay_sends_the_same_event_again_and_other_brands_cannot(
    client: Client, receiver, django_capture_on_commit_callbacks
):
    t = two_brand_order()
    endpoint_for(t.brand_a, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        shipped(t)
    delivery = WebhookDelivery.objects.get()
    client.force_login(t.owner_b)
    url = f"/admin/orders/webhookdelivery/{delivery.pk}/replay/"
    assert client.post(url, follow=True).redirect_chain[0][0] == "/admin/"
    assert client.get("/admin/orders/webhookdelivery/").context["cl"].result_list.count() == 0
    client.force_login(t.owner_a)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    ids = [r.event["id"] for r in receiver.received]
    assert ids == [delivery.event_id, delivery.event_id]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)

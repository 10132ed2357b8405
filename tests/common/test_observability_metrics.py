"""`/metrics`: bearer-protected Prometheus text with our counters and scrape-time gauges."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from common.observability import metrics
from common.observability.metrics import gauge_names, gauge_register
from creators.attribution.clicks import clicks_buffer_flush, clicks_flush
from orders.services.carts import OutOfStock
from orders.services.checkout import checkout_start
from tests.config.test_settings import ROOT
from tests.creators.test_click_buffer import make_link, record
from tests.orders.helpers import ADDRESS, cart_with, event_payload, post_event, variant_in_stock

TOKEN = "metrics-token-for-tests-0123456789"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_on(settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/metrics", headers=headers)


@pytest.mark.django_db
def test_metrics_do_not_exist_without_a_configured_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(client).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_metrics_refuse_a_missing_or_wrong_token_with_401(client, metrics_on, token):
    response = scrape(client, token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"tribe_" not in response.content


@pytest.mark.django_db
def test_metrics_with_the_token_serve_django_and_our_own_families(client, metrics_on):
    client.get("/healthz")
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "django_http_requests_total_by_method_total" in body
    for family in (
        "tribe_checkouts_started_total",
        "tribe_checkouts_paid_total",
        "tribe_stock_holds_total",
        "tribe_stripe_webhook_lag_seconds",
        "tribe_click_buffer_flushes_total",
        'tribe_celery_queue_length{queue="celery"}',
        "tribe_stripe_webhooks_unprocessed 0.0",
        "tribe_clicks_pending",
    ):
        assert family in body, family


def test_every_promised_scrape_time_gauge_is_registered():
    assert {
        "tribe_celery_queue_length",
        "tribe_stripe_webhooks_unprocessed",
        "tribe_stripe_webhook_backlog_age_seconds",
        "tribe_clicks_pending",
        "tribe_outbox_undelivered",
        "tribe_outbox_lag_seconds",
    } <= set(gauge_names())


@pytest.mark.django_db
def test_a_failing_gauge_source_is_skipped_and_counted(client, metrics_on, monkeypatch):
    def broken():
        raise ConnectionError("store down")

    monkeypatch.setattr(metrics, "_gauges", dict(metrics._gauges))
    gauge_register("tribe_test_broken", "A source that fails.", broken)
    errors = metrics.SOURCE_ERRORS.labels("tribe_test_broken")
    before = errors._value.get()
    response = scrape(client)
    assert response.status_code == 200
    assert "tribe_test_broken " not in response.content.decode()
    assert "tribe_clicks_pending" in response.content.decode()
    assert errors._value.get() == before + 1


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_queue_depth_counts_the_messages_waiting_in_each_queue(client, metrics_on, settings):
    from config.celery_app import app

    queue = f"test-depth-{uuid.uuid4().hex[:8]}"
    settings.BROKER_QUEUES = [queue]
    with app.connection_for_write() as conn:
        for _ in range(3):
            app.send_task("tests.never_run", queue=queue, connection=conn)
    try:
        body = scrape(client).content.decode()
        assert f'tribe_celery_queue_length{{queue="{queue}"}} 3.0' in body
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)  # type: ignore[attr-defined]


@pytest.mark.django_db
@pytest.mark.usefixtures("stripe_emulator")
def test_a_checkout_counts_one_start_and_a_hold_per_line():
    started = sample("tribe_checkouts_started_total")
    made = sample("tribe_stock_holds_total", result="made")
    cart = cart_with((variant_in_stock(on_hand=5), 1), (variant_in_stock(on_hand=5), 2))
    for _ in range(2):  # a retry with the same key starts nothing new
        checkout_start(
            cart=cart, user=None, idempotency_key="k1", email="a@b.co", shipping_address=ADDRESS
        )
    assert sample("tribe_checkouts_started_total") == started + 1
    assert sample("tribe_stock_holds_total", result="made") == made + 2


@pytest.mark.django_db
@pytest.mark.usefixtures("stripe_emulator")
def test_a_hold_refused_for_lack_of_stock_is_counted():
    refused = sample("tribe_stock_holds_total", result="refused")
    cart = cart_with((variant_in_stock(on_hand=1), 2))
    with pytest.raises(OutOfStock):
        checkout_start(
            cart=cart, user=None, idempotency_key="k2", email="a@b.co", shipping_address=ADDRESS
        )
    assert sample("tribe_stock_holds_total", result="refused") == refused + 1


@pytest.mark.django_db
def test_a_new_stripe_event_observes_its_lag_once_and_a_replay_not_at_all(api_client):
    count = sample("tribe_stripe_webhook_lag_seconds_count")
    payload = event_payload("evt_lag_1", "balance.available", {"id": "bal_1"})
    for _ in range(2):
        assert post_event(api_client, payload).status_code == 200
    assert sample("tribe_stripe_webhook_lag_seconds_count") == count + 1


@pytest.mark.django_db
def test_click_buffer_flushes_and_clicks_flushed_are_counted():
    from creators.attribution.clicks import click_record

    link = make_link()
    pushes = sample("tribe_click_buffer_flushes_total", outcome="redis")
    flushed = sample("tribe_clicks_flushed_total")
    click_record(record(link.pk, "client-1"))
    clicks_buffer_flush()
    assert sample("tribe_click_buffer_flushes_total", outcome="redis") == pushes + 1
    assert clicks_flush() == 1
    assert sample("tribe_clicks_flushed_total") == flushed + 1


INCREMENT = (
    "import django; django.setup();"
    "from common.observability.metrics import CHECKOUTS_PAID; CHECKOUTS_PAID.inc()"
)
SCRAPE = (
    "import django; django.setup();"
    "from django.test import Client;"
    "r = Client().get('/metrics', HTTP_AUTHORIZATION='Bearer {token}');"
    "print(r.status_code); print(r.content.decode())"
)


def test_metrics_add_up_across_processes_in_multiprocess_mode(tmp_path):
    """Two gunicorn-like processes each count a paid checkout; a third scrapes the sum."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_TOKEN": TOKEN,
    }
    for _ in range(2):
        subprocess.run([sys.executable, "-c", INCREMENT], cwd=ROOT, env=env, check=True, timeout=60)
    result = subprocess.run(
        [sys.executable, "-c", SCRAPE.format(token=TOKEN)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.partition("\n")
    assert status == "200"
    assert "tribe_checkouts_paid_total 2.0" in body


@pytest.mark.django_db
def test_the_outbox_backlog_and_its_age_are_read_from_its_tables():
    from datetime import timedelta

    from django.utils import timezone

    from common.outbox.models import OutboxDelivery, OutboxEvent

    now = timezone.now()
    event = OutboxEvent.objects.create(name="tests.metrics", created_at=now - timedelta(minutes=9))
    for handler, age, done in (("a", 120, False), ("b", 10, False), ("c", 500, True)):
        OutboxDelivery.objects.create(
            event=event,
            handler=handler,
            next_attempt_at=now,
            created_at=now - timedelta(seconds=age),
            status="done" if done else "pending",
            done_at=now if done else None,
        )
    assert sample("tribe_outbox_undelivered") == 2
    assert 120 <= sample("tribe_outbox_lag_seconds") < 180

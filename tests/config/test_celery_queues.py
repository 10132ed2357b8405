"""Money, clicks and notifications have queues of their own; the broker may sit behind Sentinel."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common.checks import longest_countdown, visibility_timeout_check
from config.celery_app import app
from config.celery_options import transport_options
from tests.config.test_settings import ROOT


@pytest.fixture(scope="module")
def task_names() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def queue_of(name: str) -> str:
    route = app.amqp.router.route({}, name)
    return route["queue"].name


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("orders.tasks.payment_intent_cancel", "money"),
        ("orders.tasks.order_auto_refund", "money"),
        ("orders.tasks.refunds_pending_sweep", "money"),
        ("orders.tasks.reservations_expire", "money"),
        ("common.tasks.outbox_deliver", "money"),
        ("common.tasks.outbox_sweep", "money"),
        ("creators.tasks.commissions_record_for_order", "money"),
        ("creators.tasks.commission_reverse_for_refund", "money"),
        ("creators.tasks.payouts_create_due", "money"),
        ("creators.tasks.payout_send", "money"),
        ("creators.tasks.settlement_payout_send", "money"),
        ("commissions.tasks.commissions_record_for_order", "money"),
        ("payments.tasks.stripe_event_process", "money"),
        ("creators.tasks.clicks_flush", "clicks"),
        ("creators.tasks.clicks_prune", "clicks"),
        ("orders.tasks.notify_order_paid", "notifications"),
        ("orders.tasks.notify_refund", "notifications"),
        ("orders.tasks.waitlist_notification_send", "notifications"),
        ("orders.tasks.sellout_alert_notify", "notifications"),
        ("orders.tasks.webhook_deliver", "notifications"),
        ("shop.tasks.feed_run_execute", "celery"),
        ("common.tasks.idempotency_prune", "celery"),
    ],
)
def test_each_kind_of_work_is_routed_to_its_queue(task, queue):
    assert queue_of(task) == queue


def test_every_registered_task_lands_on_a_queue_the_workers_consume(task_names):
    assert len(task_names) > 20
    queues = {name: queue_of(name) for name in task_names}
    assert set(queues.values()) <= set(settings.BROKER_QUEUES), queues
    # Money never shares a queue with the floods.
    assert queues["creators.tasks.clicks_flush"] != queues["creators.tasks.payout_send"]
    assert queues["orders.tasks.notify_order_paid"] != queues["orders.tasks.order_auto_refund"]


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_task_sent_by_name_is_routed_like_a_called_one(monkeypatch):
    """Services queue tasks by name (`send_task`); the routes apply to those messages too."""
    sent: list[dict] = []
    monkeypatch.setattr(
        app.amqp,
        "send_task_message",
        lambda producer, name, message, **options: sent.append(options),
    )
    app.send_task("creators.tasks.payout_send", args=(1,))
    assert sent[0]["queue"].name == "money"


def test_the_visibility_timeout_is_above_the_longest_countdown(task_names):
    name, longest = longest_countdown()
    assert longest < settings.CELERY_VISIBILITY_TIMEOUT, name
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > longest
    # No task raises Celery's autoretry backoff cap above what the check assumes.
    for task_name in task_names:
        task = app.tasks[task_name]
        if getattr(task, "autoretry_for", ()):
            cap = getattr(task, "retry_backoff_max", None) or 600
            assert cap < settings.CELERY_VISIBILITY_TIMEOUT, task_name


def test_a_visibility_timeout_below_a_countdown_stops_start_up(settings):
    settings.CELERY_VISIBILITY_TIMEOUT = 1800
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600
    errors = visibility_timeout_check()
    assert [error.id for error in errors] == ["tribe.E001"]
    assert "WEBHOOK_RETRY_MAX_SECONDS" in errors[0].msg


SENTINELS = "sentinel://:pw@10.0.0.1:26379;sentinel://:pw@10.0.0.2:26379/0"


def test_a_sentinel_broker_gets_its_master_name_and_sentinel_password():
    options = transport_options(
        url=SENTINELS,
        variable="CELERY_BROKER_URL",
        visibility_timeout=7200,
        master_name="tribe-primary",
        sentinel_password="s3cret",
    )
    assert options == {
        "visibility_timeout": 7200,
        "master_name": "tribe-primary",
        "sentinel_kwargs": {"password": "s3cret"},
    }


def test_a_sentinel_broker_without_a_master_name_is_refused():
    with pytest.raises(ImproperlyConfigured, match="CELERY_SENTINEL_MASTER_NAME"):
        transport_options(
            url=SENTINELS, variable="CELERY_BROKER_URL", visibility_timeout=1, master_name=""
        )


def test_a_plain_redis_broker_keeps_only_the_visibility_timeout():
    options = transport_options(
        url="redis://127.0.0.1:6379/0",
        variable="CELERY_BROKER_URL",
        visibility_timeout=7200,
        master_name="ignored",
    )
    assert options == {"visibility_timeout": 7200}


def test_the_settings_read_a_sentinel_broker_from_the_environment():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CELERY_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_BROKER_URL": SENTINELS,
        "CELERY_RESULT_BACKEND": SENTINELS,
        "CELERY_SENTINEL_MASTER_NAME": "tribe-primary",
    }
    probe = (
        "import django; django.setup(); from config.celery_app import app;"
        "print(app.conf.broker_url.split(';')[0]);"
        "print(app.conf.broker_transport_options['master_name']);"
        "print(app.conf.result_backend_transport_options['master_name'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "sentinel://:pw@10.0.0.1:26379",
        "tribe-primary",
        "tribe-primary",
    ]

"""The outbox in one process: registry, recording, running a delivery, sweep, prune, admin."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from common.models import IdempotencyRecord
from common.outbox import event_record, events_record, handler_register, registry
from common.outbox import services as outbox
from common.outbox.models import OutboxDelivery, OutboxEvent
from common.tasks_queue import enqueue_on_commit
from tests.factories import UserFactory

EVENT = "tests.thing_happened"
OK = "tests.effect"
FLAKY = "tests.flaky"


def effects(kind: str) -> int:
    """How many times a test handler's effect committed (rows of a scratch scope)."""
    return IdempotencyRecord.objects.filter(scope=f"outbox-test:{kind}").count()


def write_effect(kind: str) -> None:
    IdempotencyRecord.objects.create(
        scope=f"outbox-test:{kind}", key=uuid.uuid4().hex, method="POST", path="/", fingerprint=""
    )


class Flaky:
    """Writes its effect, then raises for the first `failures` runs (the effect rolls back)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

    def __call__(self, event: OutboxEvent) -> None:
        self.runs += 1
        write_effect(FLAKY)
        if self.runs <= self.failures:
            raise ValueError(f"boom {self.runs}")


@pytest.fixture
def handlers() -> Iterator[Flaky]:
    """Two handlers of EVENT for this test: one that works and one that fails twice."""
    flaky = Flaky(failures=2)
    handler_register(event=EVENT, name=OK, fn=lambda event: write_effect(OK))
    handler_register(event=EVENT, name=FLAKY, fn=flaky)
    yield flaky
    registry.handler_unregister(OK)
    registry.handler_unregister(FLAKY)


def recorded_event(payload: dict | None = None) -> OutboxEvent:
    with transaction.atomic():
        event = event_record(name=EVENT, payload=payload or {"n": 1})
    assert event is not None
    return event


def delivery(event: OutboxEvent, handler: str) -> OutboxDelivery:
    return OutboxDelivery.objects.get(event=event, handler=handler)


# --- the registry ------------------------------------------------------------------------


def test_a_handler_registered_twice_the_same_way_is_registered_once():
    def fn(event: OutboxEvent) -> None:
        pass

    try:
        handler_register(event=EVENT, name="tests.once", fn=fn)
        handler_register(event=EVENT, name="tests.once", fn=fn)
        assert [h.name for h in registry.handlers_for(EVENT)] == ["tests.once"]
        with pytest.raises(RuntimeError, match="already registered"):
            handler_register(event=EVENT, name="tests.once", fn=lambda event: None)
    finally:
        registry.handler_unregister("tests.once")
    assert registry.handlers_for(EVENT) == []


def test_the_apps_register_the_ledger_and_the_emails_for_a_paid_order():
    names = {h.name: h.atomic for h in registry.handlers_for("orders.order_paid")}
    assert names == {
        "creators.commission_record_for_order": True,
        "orders.notify_order_paid": False,
    }


# --- recording ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(handlers):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_record(name=EVENT, payload={})
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events_record(name=EVENT, payloads=[{}])
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_an_event_gets_one_pending_delivery_per_handler_due_for_the_sweep_a_minute_later(
    handlers,
):
    before = timezone.now()
    event = recorded_event({"order_id": 7})
    rows = list(OutboxDelivery.objects.filter(event=event).order_by("handler"))
    assert [(d.handler, d.status, d.attempts, d.done_at) for d in rows] == [
        (OK, "pending", 0, None),
        (FLAKY, "pending", 0, None),
    ]
    assert all(d.next_attempt_at >= before + timedelta(seconds=60) for d in rows)
    assert event.payload == {"order_id": 7}


@pytest.mark.django_db
def test_an_event_nobody_handles_is_not_written():
    with transaction.atomic():
        assert event_record(name="tests.nobody_listens", payload={}) is None
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_a_keyed_event_is_recorded_once(handlers):
    with transaction.atomic():
        first = event_record(name=EVENT, payload={}, key="order:1")
        again = event_record(name=EVENT, payload={}, key="order:1")
    assert first is not None
    assert again is None
    assert OutboxEvent.objects.count() == 1
    assert OutboxDelivery.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_records_nothing_and_dispatches_nothing(handlers, monkeypatch):
    dispatched: list[list[int]] = []
    monkeypatch.setattr(outbox, "deliveries_dispatch", dispatched.append)

    def change_that_fails() -> None:
        with transaction.atomic():
            event_record(name=EVENT, payload={})
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        change_that_fails()
    assert not OutboxEvent.objects.exists()
    assert dispatched == []


@pytest.mark.django_db(transaction=True)
def test_after_commit_each_delivery_runs_and_the_failing_one_waits_for_its_retry(handlers):
    with transaction.atomic():
        event = event_record(name=EVENT, payload={})
    assert event is not None
    ok, flaky = delivery(event, OK), delivery(event, FLAKY)
    assert (ok.status, ok.attempts, effects(OK)) == ("done", 1, 1)
    assert (flaky.status, flaky.attempts) == ("pending", 1)
    assert flaky.last_error == "ValueError: boom 1"
    assert effects(FLAKY) == 0  # the failed run's effect rolled back with it


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_at_commit_is_logged_and_the_rows_wait_for_the_sweep(
    handlers, monkeypatch, caplog
):
    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox, "task_send", refused)
    with transaction.atomic():
        event = event_record(name=EVENT, payload={})
    assert event is not None
    assert "could not publish 2 of 2" in caplog.text
    assert list(OutboxDelivery.objects.values_list("status", "attempts")) == [("pending", 0)] * 2


@pytest.mark.django_db(transaction=True)
def test_a_named_task_the_broker_refuses_after_commit_is_logged_not_raised(monkeypatch, caplog):
    from config.celery_app import app

    def refused(*args, **kwargs):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(app, "send_task", refused)
    app.conf.task_always_eager = False
    try:
        with transaction.atomic():
            enqueue_on_commit("orders.tasks.notify_shipment", 1)
    finally:
        app.conf.task_always_eager = True
    assert "Could not queue task orders.tasks.notify_shipment" in caplog.text


# --- running a delivery --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_handler_backs_off_exponentially_and_succeeds_once(handlers, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    event = recorded_event()
    flaky = delivery(event, FLAKY)
    waits = []
    for _ in range(3):
        status, wait = outbox.delivery_run(delivery_id=flaky.pk)
        waits.append((status, wait))
    assert waits == [
        ("retry", timedelta(seconds=10)),
        ("retry", timedelta(seconds=20)),
        ("done", None),
    ]
    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempts, flaky.last_error) == ("done", 3, "")
    assert effects(FLAKY) == 1
    assert outbox.delivery_run(delivery_id=flaky.pk) == ("skipped", None)
    assert effects(FLAKY) == 1


@pytest.mark.django_db
def test_a_failure_is_due_for_the_sweep_only_after_its_own_retry_had_its_chance(handlers, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    event = recorded_event()
    flaky = delivery(event, FLAKY)
    before = timezone.now()
    outbox.delivery_run(delivery_id=flaky.pk)
    flaky.refresh_from_db()
    assert flaky.next_attempt_at >= before + timedelta(seconds=10 + 60)


def test_the_backoff_is_capped(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    settings.OUTBOX_RETRY_MAX_SECONDS = 3600
    assert [outbox.retry_backoff(n).total_seconds() for n in (1, 2, 3, 10, 30)] == [
        10,
        20,
        40,
        3600,
        3600,
    ]


@pytest.mark.django_db
def test_a_delivery_whose_handler_is_not_registered_here_is_retried_not_dropped(handlers):
    event = recorded_event()
    OutboxDelivery.objects.filter(event=event, handler=OK).update(handler="tests.gone")
    status, _ = outbox.delivery_run(delivery_id=delivery(event, "tests.gone").pk)
    gone = delivery(event, "tests.gone")
    assert (status, gone.status, gone.attempts) == ("retry", "pending", 1)
    assert "no handler 'tests.gone'" in gone.last_error


@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_run_twice_at_once_has_one_effect(monkeypatch):
    entered = threading.Event()
    release = threading.Event()

    def slow(event: OutboxEvent) -> None:
        write_effect(OK)
        entered.set()
        release.wait(10)

    handler_register(event=EVENT, name=OK, fn=slow)
    try:
        monkeypatch.setattr(outbox, "deliveries_dispatch", lambda ids: None)
        with transaction.atomic():
            event = event_record(name=EVENT, payload={})
        assert event is not None
        pk = delivery(event, OK).pk
        results: list[str] = []

        def run() -> None:
            results.append(outbox.delivery_run(delivery_id=pk)[0])
            connection.close()

        first = threading.Thread(target=run)
        first.start()
        assert entered.wait(10)
        second = threading.Thread(target=run)
        second.start()  # waits on the delivery's row lock
        second.join(0.5)
        assert second.is_alive()
        release.set()
        first.join(10)
        second.join(10)
    finally:
        registry.handler_unregister(OK)
    assert sorted(results) == ["done", "skipped"]
    assert effects(OK) == 1
    assert delivery(event, OK).attempts == 1


# --- the sweep ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_takes_only_undelivered_due_rows_and_pushes_them_a_minute_on(
    handlers, monkeypatch
):
    dispatched: list[list[int]] = []
    monkeypatch.setattr(outbox, "deliveries_dispatch", dispatched.append)
    event = recorded_event()
    ok, flaky = delivery(event, OK), delivery(event, FLAKY)
    assert outbox.outbox_sweep() == []  # recorded just now: the on-commit dispatch has it
    OutboxDelivery.objects.filter(pk=ok.pk).update(status="done", done_at=timezone.now())
    later = timezone.now() + timedelta(seconds=61)

    assert outbox.outbox_sweep(now=later) == [flaky.pk]
    assert dispatched == [[flaky.pk]]
    flaky.refresh_from_db()
    assert flaky.next_attempt_at == later + timedelta(seconds=60)
    assert outbox.outbox_sweep(now=later) == []  # claimed: not again before its time


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_never_claim_the_same_row(handlers, monkeypatch):
    monkeypatch.setattr(outbox, "deliveries_dispatch", lambda ids: None)
    with transaction.atomic():
        events_record(name=EVENT, payloads=[{"n": i} for i in range(5)])  # 10 deliveries
    later = timezone.now() + timedelta(seconds=61)
    claimed_first = threading.Event()
    other_done = threading.Event()
    first: list[int] = []
    second: list[int] = []

    def slow_sweeper() -> None:
        with transaction.atomic():
            first.extend(outbox.deliveries_claim(now=later, limit=6))
            claimed_first.set()
            other_done.wait(10)  # hold the claim's locks while the other sweeps
        connection.close()

    def sweeper() -> None:
        claimed_first.wait(10)
        second.extend(outbox.outbox_sweep(now=later))
        other_done.set()
        connection.close()

    threads = [threading.Thread(target=slow_sweeper), threading.Thread(target=sweeper)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(first) == 6
    assert len(second) == 4
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == set(OutboxDelivery.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_sweep_skips_a_delivery_whose_handler_is_running(monkeypatch):
    entered, release = threading.Event(), threading.Event()

    def slow(event: OutboxEvent) -> None:
        entered.set()
        release.wait(10)

    handler_register(event=EVENT, name=OK, fn=slow)
    try:
        monkeypatch.setattr(outbox, "deliveries_dispatch", lambda ids: None)
        with transaction.atomic():
            event = event_record(name=EVENT, payload={})
        assert event is not None
        pk = delivery(event, OK).pk

        def run() -> None:
            outbox.delivery_run(delivery_id=pk)
            connection.close()

        worker = threading.Thread(target=run)
        worker.start()
        assert entered.wait(10)
        assert outbox.outbox_sweep(now=timezone.now() + timedelta(seconds=61)) == []
        release.set()
        worker.join(10)
    finally:
        registry.handler_unregister(OK)
    assert delivery(event, OK).status == "done"


# --- pruning -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_prune_deletes_only_fully_delivered_events_past_the_retention(handlers, settings):
    settings.OUTBOX_RETENTION_DAYS = 7
    old_done, old_pending, new_done = recorded_event(), recorded_event(), recorded_event()
    now = timezone.now()
    OutboxEvent.objects.filter(pk__in=[old_done.pk, old_pending.pk]).update(
        created_at=now - timedelta(days=8)
    )
    OutboxDelivery.objects.filter(event__in=[old_done, new_done]).update(status="done", done_at=now)
    OutboxDelivery.objects.filter(event=old_pending, handler=OK).update(status="done", done_at=now)

    assert outbox.outbox_prune(now=now) == 1

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {old_pending.pk, new_done.pk}
    assert OutboxDelivery.objects.filter(event_id=old_done.pk).count() == 0
    assert OutboxDelivery.objects.filter(event=old_pending).count() == 2


# --- seen from outside: /readyz and the admin ----------------------------------------------


@pytest.mark.django_db
def test_readyz_reports_the_age_of_the_oldest_undelivered_event(client, handlers):
    assert client.get("/readyz").json()["outbox"] == {"oldest_undelivered_seconds": None}
    event = recorded_event()
    OutboxDelivery.objects.filter(event=event).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    age = client.get("/readyz").json()["outbox"]["oldest_undelivered_seconds"]
    assert 300 <= age < 360


@pytest.fixture
def failing_delivery(handlers) -> OutboxDelivery:
    event = recorded_event()
    outbox.delivery_run(delivery_id=delivery(event, OK).pk)
    flaky = delivery(event, FLAKY)
    outbox.delivery_run(delivery_id=flaky.pk)
    flaky.refresh_from_db()
    return flaky


CHANGELIST = "/admin/common/outboxdelivery/"


@pytest.mark.django_db
def test_staff_see_undelivered_deliveries_with_age_attempts_and_error(client, failing_delivery):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    page = client.get(CHANGELIST).content.decode()
    assert FLAKY in page
    assert "ValueError: boom 1" in page
    assert OK not in page  # delivered: not listed
    detail = client.get(f"{CHANGELIST}{failing_delivery.pk}/change/")
    assert detail.status_code == 200
    assert "ValueError: boom 1" in detail.content.decode()


@pytest.mark.django_db
def test_retry_now_runs_the_delivery_again(
    client, failing_delivery, django_capture_on_commit_callbacks
):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST, {"action": "retry_now", "_selected_action": [failing_delivery.pk]}
        )
    assert response.status_code == 302
    failing_delivery.refresh_from_db()
    assert failing_delivery.attempts == 2  # the on-commit run (eager here) failed once more
    assert failing_delivery.last_error == "ValueError: boom 2"


@pytest.mark.django_db
def test_brand_staff_without_the_permission_cannot_see_the_outbox(client, failing_delivery):
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get(CHANGELIST).status_code == 403
    response = client.post(
        CHANGELIST, {"action": "retry_now", "_selected_action": [failing_delivery.pk]}
    )
    assert response.status_code == 403
    failing_delivery.refresh_from_db()
    assert failing_delivery.attempts == 1


@pytest.mark.django_db
def test_staff_who_may_only_view_cannot_retry(client, failing_delivery):
    from django.contrib.auth.models import Permission

    viewer = UserFactory.create(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxdelivery"))
    client.force_login(viewer)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "retry_now" not in page.content.decode()
    client.post(CHANGELIST, {"action": "retry_now", "_selected_action": [failing_delivery.pk]})
    failing_delivery.refresh_from_db()
    assert failing_delivery.attempts == 1

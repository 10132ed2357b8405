"""Telling waiting shoppers when stock returns: in join order, once per restock, with credit."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from creators.attribution.tokens import token_for_click, token_read
from orders import tasks
from orders.models import WaitlistEntry, WaitlistNotification
from orders.waitlist import services
from tests.orders.waitlist_helpers import (
    emailed_link,
    emailed_token,
    emails_to,
    link_for,
    restock,
    sell,
    sold_out_variant,
    unsubscribe_path,
)

pytestmark = pytest.mark.django_db


def _join(variant, *emails: str, token: str = "") -> list[WaitlistEntry]:
    return [
        services.waitlist_join(variant_id=variant.pk, email=e, tokens=[token]).entry for e in emails
    ]


@pytest.fixture
def scan(django_capture_on_commit_callbacks):
    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.waitlist_scan.delay()

    return run


def test_as_many_shoppers_as_units_are_told_in_join_order(scan) -> None:
    variant = sold_out_variant()
    _join(variant, "a@example.com", "b@example.com", "c@example.com", "d@example.com")
    restock(variant, 2)

    scan()

    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert "back in stock" in mail.outbox[0].subject


def test_nobody_is_told_twice_for_the_same_restock(scan) -> None:
    variant = sold_out_variant()
    _join(variant, "a@example.com", "b@example.com")
    restock(variant, 1)

    scan()
    scan()
    scan()

    assert [m.to for m in mail.outbox] == [["a@example.com"]]
    assert WaitlistNotification.objects.count() == 1


def test_next_in_line_is_told_when_earlier_places_lapse_or_buy(scan, settings) -> None:
    variant = sold_out_variant()
    _join(variant, "a@example.com", "b@example.com", "c@example.com", "d@example.com")
    restock(variant, 2)
    scan()
    # a buys through the email; b lets the hold lapse: units remain for c, then d.
    sell(variant, 1, email="A@example.com")
    scan()
    assert len(mail.outbox) == 2  # one unit left, b still holds it

    later = timezone.now() + timedelta(minutes=settings.WAITLIST_NOTIFY_HOLD_MINUTES + 1)
    told = services.waitlist_notify_variant(variant_id=variant.pk, now=later)

    assert [n.entry.email for n in WaitlistNotification.objects.filter(pk__in=told)] == [
        "c@example.com"
    ]
    assert WaitlistEntry.objects.get(email="a@example.com").status == "purchased"


def test_a_new_restock_after_selling_out_tells_the_waiting_again(scan) -> None:
    variant = sold_out_variant()
    _join(variant, "a@example.com", "b@example.com")
    restock(variant, 1)
    scan()
    sell(variant, 1)  # someone else bought the unit: sold out again
    scan()
    restock(variant, 2)

    scan()

    assert [m.to[0] for m in mail.outbox] == ["a@example.com", "a@example.com", "b@example.com"]
    assert WaitlistNotification.objects.values("restock__sequence").distinct().count() == 2


def test_email_link_carries_original_link_with_fresh_window(scan, monkeypatch) -> None:
    variant = sold_out_variant()
    link = link_for(variant)
    twenty_days_ago = time.time() - 20 * 24 * 3600
    with monkeypatch.context() as m:
        m.setattr("django.core.signing.time.time", lambda: twenty_days_ago)
        old_token = token_for_click(click_id="click-42", link_id=link.pk)
    _join(variant, "a@example.com", token=old_token)
    restock(variant, 1)

    scan()

    message = emails_to("a@example.com")[0]
    claims = token_read(emailed_token(message))
    assert (claims.kind, claims.link_id, claims.click_id) == ("link", link.pk, "click-42")
    assert abs((claims.issued_at - timezone.now()).total_seconds()) < 5
    assert token_read(old_token).issued_at < timezone.now() - timedelta(days=19)
    assert f"/@{link.creator.handle}?product={variant.product_id}" in emailed_link(message)


def test_unsubscribed_shopper_is_not_told_and_next_one_is(scan) -> None:
    variant = sold_out_variant()
    _join(variant, "a@example.com", "b@example.com")
    restock(variant, 1)
    scan()
    path = unsubscribe_path(emails_to("a@example.com")[0])
    client = Client(enforce_csrf_checks=True)

    confirm = client.get(path)
    done = client.post(path)

    assert confirm.status_code == 200
    assert done.status_code == 200
    assert WaitlistEntry.objects.get(email="a@example.com").status == "unsubscribed"
    # a's place frees up: the next scan tells b.
    scan()
    assert [m.to[0] for m in mail.outbox] == ["a@example.com", "b@example.com"]


def test_tampered_unsubscribe_link_is_404() -> None:
    response = Client().post("/waitlist/unsubscribe/abc:def/")

    assert response.status_code == 404


def test_unsubscribe_through_the_api() -> None:
    variant = sold_out_variant()
    (entry,) = _join(variant, "a@example.com")

    response = Client().post(
        "/api/v1/waitlist/unsubscribe/",
        {"token": services.unsubscribe_token(entry.pk)},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "unsubscribed"


def test_scan_query_count_is_fixed(django_assert_max_num_queries, monkeypatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr(services, "task_send", lambda name, variant_id: queued.append(variant_id))
    variants = [sold_out_variant() for _ in range(6)]
    for v in variants:
        _join(v, "a@example.com", "b@example.com")
        restock(v, 1)

    with django_assert_max_num_queries(3):
        services.waitlist_scan()

    assert sorted(queued) == sorted(v.pk for v in variants)


def test_notify_run_query_count_does_not_grow_with_the_line(django_assert_max_num_queries) -> None:
    variant = sold_out_variant()
    _join(variant, *[f"s{i}@example.com" for i in range(20)])
    restock(variant, 15)

    with django_assert_max_num_queries(12):  # 2 of them: the outbox events, in bulk
        told = services.waitlist_notify_variant(variant_id=variant.pk)

    assert len(told) == 15

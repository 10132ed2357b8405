"""The brand API for feeds: push a body as a run, read runs; other brands get 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shop.models import BrandMember, InventoryFeed, StockSyncRun
from tests.conftest import client_for
from tests.shop.factories import BrandFactory, BrandMemberFactory, InventoryFeedFactory
from tests.shop.feed_helpers import catalog, csv_body, json_body, levels

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    brand = BrandFactory.create()
    stock = catalog(brand, A=5, B=5)
    feed = InventoryFeedFactory.create(brand=brand)
    member = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER)
    return brand, stock, feed, client_for(member.user)


def push(client, feed, body: str, content_type="text/csv", **headers):
    return client.generic(
        "POST", f"/api/v1/brand/feeds/{feed.pk}/push/", body, content_type=content_type, **headers
    )


def test_pushing_a_csv_body_queues_and_applies_a_run(setup, django_capture_on_commit_callbacks):
    _, stock, feed, client = setup

    with django_capture_on_commit_callbacks(execute=True):
        response = push(client, feed, csv_body({"A": 9, "B": -2}))

    assert response.status_code == 202
    assert response.json()["origin"] == "push"
    run = StockSyncRun.objects.get(pk=response.json()["id"])
    assert (run.state, run.changed, run.invalid, run.payload) == ("succeeded", 1, 1, None)
    assert levels(stock["A"], stock["B"]) == [(9, 0), (5, 0)]
    detail = client.get(f"/api/v1/brand/feed-runs/{run.pk}/").json()
    assert detail["errors"][0] | {"message": ""} == {
        "row": 3,
        "sku": "B",
        "code": "negative",
        "message": "",
    }


def test_a_pushed_json_body_honours_the_as_of_header(setup, django_capture_on_commit_callbacks):
    _, stock, feed, client = setup
    InventoryFeed.objects.filter(pk=feed.pk).update(format="json")
    feed.refresh_from_db()
    as_of = timezone.now() - timedelta(minutes=30)

    with django_capture_on_commit_callbacks(execute=True):
        response = push(
            client,
            feed,
            json_body({"A": 7}),
            content_type="application/json",
            HTTP_X_INVENTORY_AS_OF=as_of.isoformat(),
        )

    assert response.status_code == 202
    run = StockSyncRun.objects.get()
    assert run.as_of == as_of
    assert levels(stock["A"]) == [(7, 0)]


def test_other_brands_get_404_everywhere(setup):
    _, _, feed, _ = setup
    StockSyncRun.objects.create(feed=feed, state="succeeded")
    outsider = client_for(BrandMemberFactory.create(brand=BrandFactory.create()).user)

    assert push(outsider, feed, csv_body({"A": 1})).status_code == 404
    assert outsider.get(f"/api/v1/brand/feeds/{feed.pk}/runs/").status_code == 404
    run = StockSyncRun.objects.get()
    assert outsider.get(f"/api/v1/brand/feed-runs/{run.pk}/").status_code == 404
    assert outsider.get("/api/v1/brand/feeds/").json()["results"] == []
    assert StockSyncRun.objects.count() == 1


def test_viewers_cannot_push(setup):
    brand, _, feed, _ = setup
    viewer = client_for(BrandMemberFactory.create(brand=brand, role=BrandMember.Role.VIEWER).user)

    response = push(viewer, feed, csv_body({"A": 1}))

    assert response.status_code == 403
    assert not StockSyncRun.objects.exists()


def test_a_push_while_a_run_is_active_is_a_retryable_conflict(setup):
    _, _, feed, client = setup
    StockSyncRun.objects.create(feed=feed, state="running")

    response = push(client, feed, csv_body({"A": 1}))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "feed_sync_running"
    assert response.json()["error"]["retryable"] is True


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("", "text/csv", 400, "feed_empty"),
        ('{"items": []}', "application/json", 415, "feed_wrong_format"),
        ("sku,quantity\n" + "A,1\n" * 400, "text/csv", 413, "feed_too_big"),
    ],
)
def test_bad_pushes_are_refused(setup, settings, body, content_type, status, code):
    settings.FEED_MAX_BYTES = 1000
    _, _, feed, client = setup

    response = push(client, feed, body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not StockSyncRun.objects.exists()


def test_a_repeated_idempotency_key_replays_the_first_run(
    setup, django_capture_on_commit_callbacks
):
    _, _, feed, client = setup

    with django_capture_on_commit_callbacks(execute=True):
        first = push(client, feed, csv_body({"A": 2}), HTTP_IDEMPOTENCY_KEY="push-1")
        second = push(client, feed, csv_body({"A": 2}), HTTP_IDEMPOTENCY_KEY="push-1")

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert StockSyncRun.objects.count() == 1


def test_feed_and_run_lists_have_a_fixed_number_of_queries(setup, django_assert_max_num_queries):
    brand, _, feed, client = setup
    for _ in range(5):
        InventoryFeedFactory.create(brand=brand)
    for _ in range(25):
        StockSyncRun.objects.create(feed=feed, state="succeeded")

    with django_assert_max_num_queries(4):
        feeds = client.get("/api/v1/brand/feeds/")
    with django_assert_max_num_queries(5):
        runs = client.get(f"/api/v1/brand/feeds/{feed.pk}/runs/")

    assert len(feeds.json()["results"]) == 6
    assert len(runs.json()["results"]) == 20

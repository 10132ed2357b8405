"""The feed and run admin: scoped to the member's brand, uploads, held runs, run details."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shop.models import BrandMember, InventoryFeed, StockSyncRun
from tests.shop.factories import BrandFactory, BrandMemberFactory, InventoryFeedFactory
from tests.shop.feed_helpers import catalog, csv_body, levels

pytestmark = pytest.mark.django_db


@pytest.fixture
def brands():
    return BrandFactory.create(name="Alpha"), BrandFactory.create(name="Bravo")


def login(client: Client, brand, role=BrandMember.Role.MANAGER) -> Client:
    client.force_login(BrandMemberFactory.create(brand=brand, role=role).user)
    return client


def test_members_see_only_their_brands_feeds_and_runs(client, brands):
    alpha, bravo = brands
    mine = InventoryFeedFactory.create(brand=alpha, name="Alpha WMS")
    theirs = InventoryFeedFactory.create(brand=bravo, name="Bravo WMS")
    my_run = StockSyncRun.objects.create(feed=mine, state="succeeded")
    their_run = StockSyncRun.objects.create(feed=theirs, state="succeeded")
    login(client, alpha)

    feeds = client.get("/admin/shop/inventoryfeed/").context["cl"].result_list
    runs = client.get("/admin/shop/stocksyncrun/").context["cl"].result_list

    assert [f.pk for f in feeds] == [mine.pk]
    assert [r.pk for r in runs] == [my_run.pk]
    for url in (
        f"/admin/shop/inventoryfeed/{theirs.pk}/change/",
        f"/admin/shop/stocksyncrun/{their_run.pk}/change/",
        f"/admin/shop/inventoryfeed/{theirs.pk}/upload/",
    ):
        response = client.get(url, follow=True)
        assert "Bravo WMS" not in response.content.decode(), url
        assert response.status_code in (200, 404), url
        if response.status_code == 200:
            assert response.redirect_chain[0][0] == "/admin/", url


def test_run_detail_shows_counts_errors_and_conflicts(client, brands):
    alpha, _ = brands
    run = StockSyncRun.objects.create(
        feed=InventoryFeedFactory.create(brand=alpha),
        state="succeeded",
        rows=4,
        changed=1,
        invalid=2,
        unknown_sku=1,
        errors=[{"row": 3, "sku": "B", "code": "negative", "message": "Quantity -1 is negative."}],
        conflicts=[{"sku": "A", "on_hand": 1, "reserved": 3}],
    )
    login(client, alpha)

    body = client.get(f"/admin/shop/stocksyncrun/{run.pk}/change/").content.decode()

    assert "Quantity -1 is negative." in body
    assert "<td>3</td><td>B</td><td>negative</td>" in body
    assert "<td>A</td><td>1</td><td>3</td>" in body


def test_a_running_run_shows_its_progress(client, brands):
    alpha, _ = brands
    run = StockSyncRun.objects.create(
        feed=InventoryFeedFactory.create(brand=alpha),
        state="running",
        phase="applying",
        rows_done=500,
    )
    login(client, alpha)

    body = client.get("/admin/shop/stocksyncrun/").content.decode()

    assert "applying, 500 applied" in body
    assert run.pk


def test_uploading_a_file_applies_it_as_a_run(client, brands, django_capture_on_commit_callbacks):
    alpha, _ = brands
    stock = catalog(alpha, A=5, B=5)
    feed = InventoryFeedFactory.create(brand=alpha)
    member = login(client, alpha)
    upload = SimpleUploadedFile("stock.csv", csv_body({"A": 2, "B": "x"}).encode(), "text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(f"/admin/shop/inventoryfeed/{feed.pk}/upload/", {"file": upload})

    run = StockSyncRun.objects.get(feed=feed)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/shop/stocksyncrun/{run.pk}/change/"
    assert (run.origin, run.state, run.changed, run.invalid) == ("upload", "succeeded", 1, 1)
    assert levels(stock["A"], stock["B"]) == [(2, 0), (5, 0)]


def test_viewers_cannot_upload(client, brands):
    alpha, _ = brands
    feed = InventoryFeedFactory.create(brand=alpha)
    login(client, alpha, role=BrandMember.Role.VIEWER)
    upload = SimpleUploadedFile("stock.csv", b"sku,quantity\nA,1\n", "text/csv")

    response = client.post(f"/admin/shop/inventoryfeed/{feed.pk}/upload/", {"file": upload})

    assert response.status_code == 403
    assert not StockSyncRun.objects.exists()


def test_confirming_a_held_run_applies_it(client, brands, django_capture_on_commit_callbacks):
    alpha, _ = brands
    stock = catalog(alpha, A=5, B=5)
    feed = InventoryFeedFactory.create(brand=alpha)
    run = StockSyncRun.objects.create(
        feed=feed, state="held", origin="upload", payload=csv_body({"A": 0, "B": 0}).encode()
    )
    login(client, alpha)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/shop/stocksyncrun/",
            {"action": "confirm_held", ACTION_CHECKBOX_NAME: [run.pk]},
        )

    run.refresh_from_db()
    assert (run.state, run.confirmed, run.changed) == ("succeeded", True, 2)
    assert levels(stock["A"], stock["B"]) == [(0, 0), (0, 0)]


def test_the_feed_form_refuses_internal_urls_and_foreign_secrets(client, brands, settings):
    settings.FEED_ALLOW_LOOPBACK = False
    alpha, _ = brands
    login(client, alpha)
    data = {
        "brand": alpha.pk,
        "name": "WMS",
        "url": "http://169.254.169.254/latest/meta-data/",
        "format": "csv",
        "column_mapping": '{"sku": "sku", "quantity": "qty"}',
        "as_of_header": "X-Inventory-As-Of",
        "auth_header": "Authorization",
        "auth_env": "SECRET_KEY",
        "interval_minutes": 60,
        "max_zero_share": "50",
        "is_active": "on",
    }

    response = client.post("/admin/shop/inventoryfeed/add/", data)

    errors = response.context["adminform"].form.errors
    assert set(errors) == {"url", "auth_env"}
    assert not InventoryFeed.objects.exists()

    data |= {"url": "https://wms.example.com/stock.csv", "auth_env": "TRIBE_FEED_AUTH_ALPHA"}
    assert client.post("/admin/shop/inventoryfeed/add/", data).status_code == 302
    feed = InventoryFeed.objects.get()
    assert (feed.brand, feed.url) == (alpha, "https://wms.example.com/stock.csv")


def test_sync_now_queues_one_run_per_feed(
    client, brands, feed_server, django_capture_on_commit_callbacks
):
    alpha, _ = brands
    stock = catalog(alpha, A=5)
    feed = InventoryFeedFactory.create(
        brand=alpha, url=feed_server.serve("/s.csv", csv_body({"A": 3}))
    )
    login(client, alpha)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/shop/inventoryfeed/", {"action": "sync_now", ACTION_CHECKBOX_NAME: [feed.pk]}
        )

    assert [run.state for run in StockSyncRun.objects.filter(feed=feed)] == ["succeeded"]
    assert levels(stock["A"]) == [(3, 0)]


def test_feed_changelist_queries_do_not_grow_with_feeds(
    client, brands, django_assert_max_num_queries
):
    alpha, _ = brands
    for _ in range(15):
        feed = InventoryFeedFactory.create(brand=alpha)
        StockSyncRun.objects.create(feed=feed, state="succeeded")
    login(client, alpha)

    with django_assert_max_num_queries(12):
        response = client.get("/admin/shop/inventoryfeed/")

    assert len(response.context["cl"].result_list) == 15
    assert "Succeeded" in response.content.decode()

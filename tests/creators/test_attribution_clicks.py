"""The redirect, the app click endpoint, and the click queue on the real Redis."""

from __future__ import annotations

import socket
import threading
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client

from creators.attribution import clicks as click_queue
from creators.attribution.links import link_target_forget
from creators.attribution.tokens import token_read
from creators.models import Click, ClickDaily
from shop.models import Variant
from tests.creators.factories import AffiliateLinkFactory
from tests.shop.factories import ProductFactory, VariantFactory

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 musical_ly_35.1.0"
)
BOT_UA = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


@pytest.fixture(autouse=True)
def _empty_click_queue(settings):
    client = click_queue._redis()
    click_queue.clicks_buffer_flush()  # an earlier test's taps must not land in this one
    for key in client.scan_iter(f"{settings.CLICK_KEY_PREFIX}:clicks:*"):
        client.delete(key)


def make_link(**kwargs):
    product = kwargs.pop("product", None) or ProductFactory.create()
    VariantFactory.create(product=product, on_hand=kwargs.pop("on_hand", 5))
    return AffiliateLinkFactory.create(product=product, **kwargs)


def tap(link, *, ua=PHONE_UA, client=None, ip="203.0.113.7"):
    client = client or Client()
    return client.get(f"/r/{link.code}", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_redirect_sends_to_the_product_on_the_storefront_with_a_token():
    link = make_link()
    response = tap(link)
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.path == f"/@{link.creator.handle}"
    query = parse_qs(target.query)
    assert query["product"] == [str(link.product_id)]
    claims = token_read(query["atk"][0])
    assert claims.link_id == link.pk
    assert response.cookies["tribe_atk"].value == query["atk"][0]
    assert response.cookies["tribe_atk"]["httponly"]


@pytest.mark.django_db
def test_redirect_and_its_404_are_never_cached():
    link = make_link()
    for response in (tap(link), Client().get("/r/nope1234")):
        assert (
            response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
        )
        assert response["Expires"]


@pytest.mark.django_db
def test_sold_out_product_redirects_to_the_fallback():
    fallback = ProductFactory.create()
    VariantFactory.create(product=fallback, on_hand=3)
    link = make_link(on_hand=0, fallback_product=fallback)
    target = urlparse(tap(link)["Location"])
    assert parse_qs(target.query)["product"] == [str(fallback.pk)]


@pytest.mark.django_db
def test_unknown_or_inactive_code_gets_a_friendly_404_page():
    assert Client().get("/r/nope1234").status_code == 404
    link = make_link(is_active=False)
    response = tap(link)
    assert response.status_code == 404
    assert b"not active" in response.content


@pytest.mark.django_db
def test_warm_redirect_makes_no_database_query(django_assert_num_queries):
    link = make_link()
    tap(link)  # warms the link cache
    with django_assert_num_queries(0):
        response = tap(link)
    assert response.status_code == 302


@pytest.mark.django_db
def test_bots_are_redirected_without_a_token_and_counted_apart():
    link = make_link()
    response = tap(link, ua=BOT_UA)
    assert response.status_code == 302
    assert "atk" not in parse_qs(urlparse(response["Location"]).query)
    assert "tribe_atk" not in response.cookies
    click_queue.clicks_flush()
    daily = ClickDaily.objects.get(link=link)
    assert (daily.clicks, daily.unique_clicks, daily.bot_clicks) == (0, 0, 1)


@pytest.mark.django_db
def test_n_clients_times_m_repeats_flush_to_exactly_n_unique_clicks():
    link = make_link()
    clients = [Client() for _ in range(7)]
    for _ in range(4):
        for client in clients:
            tap(link, client=client)
    assert Click.objects.count() == 0  # nothing reaches PostgreSQL on the hot path
    assert click_queue.clicks_flush() == 28
    daily = ClickDaily.objects.get(link=link)
    assert (daily.clicks, daily.unique_clicks) == (28, 7)
    assert Click.objects.filter(is_unique=True).count() == 7


@pytest.mark.django_db
def test_device_id_identifies_an_app_client_without_cookies():
    link = make_link()
    api = Client()
    for _ in range(3):
        response = api.post(
            f"/api/v1/links/{link.code}/clicks/",
            {"device_id": "install-0001-abcd"},
            content_type="application/json",
            HTTP_USER_AGENT="TribeApp/3.2 (iOS 17.5)",
        )
        assert response.status_code == 200
        body = response.json()
        assert token_read(body["attribution_token"]).link_id == link.pk
        assert body["storefront"]["handle"] == link.creator.handle
    click_queue.clicks_flush()
    assert ClickDaily.objects.get(link=link).unique_clicks == 1


@pytest.mark.django_db
def test_app_without_device_id_is_known_by_ip_and_agent():
    link = make_link()
    for ip in ["198.51.100.1", "198.51.100.1", "198.51.100.2"]:
        Client().post(
            f"/api/v1/links/{link.code}/clicks/",
            {},
            content_type="application/json",
            HTTP_USER_AGENT="TribeApp/3.2",
            REMOTE_ADDR=ip,
        )
    click_queue.clicks_flush()
    assert ClickDaily.objects.get(link=link).unique_clicks == 2
    assert not Click.objects.filter(ip_hash__startswith="198.").exists()


@pytest.mark.django_db
def test_first_taps_of_phones_behind_one_carrier_ip_each_count():
    link = make_link()
    for _ in range(5):
        tap(link, client=Client(), ip="100.64.0.1")
    click_queue.clicks_flush()
    assert ClickDaily.objects.get(link=link).unique_clicks == 5


@pytest.mark.django_db
def test_flush_is_idempotent_when_a_batch_is_replayed(settings):
    link = make_link()
    for _ in range(3):
        tap(link, client=Client())
    client = click_queue._redis()
    click_queue.clicks_buffer_flush()
    raw = client.lrange(click_queue._key("pending"), 0, -1)
    click_queue.clicks_flush()
    client.rpush(click_queue._key("pending"), *raw)  # a crashed flusher's batch comes back
    click_queue.clicks_flush()
    assert Click.objects.count() == 3
    assert ClickDaily.objects.get(link=link).clicks == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_double_nothing():
    link = make_link()
    for i in range(300):
        tap(link, client=Client(), ip=f"10.0.{i // 250}.{i % 250}")
    barrier = threading.Barrier(4)
    taken: list[int] = []

    def flush() -> None:
        barrier.wait()
        taken.append(click_queue.clicks_flush(batch_size=40))
        connection.close()

    threads = [threading.Thread(target=flush) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(taken) == 300
    assert Click.objects.count() == 300
    daily = ClickDaily.objects.get(link=link)
    assert (daily.clicks, daily.unique_clicks) == (300, 300)


@pytest.mark.django_db
def test_with_redis_unreachable_the_redirect_writes_directly_and_readyz_says_degraded(
    settings, client, monkeypatch
):
    from creators.attribution import clicks

    monkeypatch.setattr(clicks, "_degraded_since", None)  # restored for the next tests
    settings.CLICK_BUFFER_SECONDS = 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{dead}/0"
    link = make_link()
    for _ in range(2):
        assert tap(link, client=client).status_code == 302
    assert Click.objects.count() == 2
    assert ClickDaily.objects.get(link=link).unique_clicks == 1
    assert clicks.degraded_reason() is not None


@pytest.mark.django_db
def test_retargeted_link_redirects_to_its_new_product(django_capture_on_commit_callbacks):
    from creators.services.links import link_update

    link = make_link()
    tap(link)
    new_product = ProductFactory.create(brand=link.product.brand)
    VariantFactory.create(product=new_product)
    with django_capture_on_commit_callbacks(execute=True):
        link_update(creator=link.creator, link_id=link.pk, product_id=new_product.pk)
    target = urlparse(tap(link)["Location"])
    assert parse_qs(target.query)["product"] == [str(new_product.pk)]


@pytest.mark.django_db
def test_raw_clicks_are_pruned_but_daily_aggregates_stay():
    from datetime import timedelta

    from django.utils import timezone

    link = make_link()
    tap(link)
    click_queue.clicks_flush()
    Click.objects.update(clicked_at=timezone.now() - timedelta(days=91))
    assert click_queue.clicks_prune() == 1
    assert ClickDaily.objects.get(link=link).clicks == 1
    link_target_forget(link.code)
    assert Variant.objects.exists()


def app_click(link, **headers):
    return Client().post(
        f"/api/v1/links/{link.code}/clicks/",
        {"device_id": "install-0002-abcd"},
        content_type="application/json",
        **headers,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("ua", ["okhttp/4.12.0", "axios/1.6.0", "Dart/3.2 (dart:io)"])
def test_an_apps_own_http_client_gets_a_token(ua):
    link = make_link()
    body = app_click(link, HTTP_USER_AGENT=ua).json()
    assert token_read(body["attribution_token"]).link_id == link.pk
    click_queue.clicks_flush()
    assert ClickDaily.objects.get(link=link).bot_clicks == 0


@pytest.mark.django_db
def test_an_app_naming_itself_gets_a_token_whatever_its_agent():
    link = make_link()
    body = app_click(link, HTTP_USER_AGENT="", HTTP_X_TRIBE_APP="tribe-android/3.4.0").json()
    assert token_read(body["attribution_token"]).link_id == link.pk


@pytest.mark.django_db
def test_a_link_preview_fetcher_on_the_app_endpoint_is_still_a_bot():
    link = make_link()
    assert app_click(link, HTTP_USER_AGENT=BOT_UA).json()["attribution_token"] is None


@pytest.mark.django_db
def test_an_http_library_following_the_web_redirect_is_still_a_bot():
    response = tap(make_link(), ua="okhttp/4.12.0")
    assert "atk" not in parse_qs(urlparse(response["Location"]).query)

"""Feed URLs reach public hosts only (SSRF), and the auth secret never sits in the database."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from shop.feeds.netguard import FeedURLRefused, address_allowed, resolve_public, validate_feed_url
from shop.models import InventoryFeed, StockSyncRun
from tests.shop.factories import InventoryFeedFactory
from tests.shop.feed_helpers import catalog, csv_body, levels, run_feed


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "fd00::1", "fe80::1", "::ffff:10.0.0.1", "224.0.0.1", "127.0.0.1", "::1"],
)  # fmt: skip
def test_internal_addresses_are_refused_in_production(settings, address):
    settings.FEED_ALLOW_LOOPBACK = False
    assert not address_allowed(ipaddress.ip_address(address))


def test_public_addresses_are_allowed(settings):
    settings.FEED_ALLOW_LOOPBACK = False
    assert address_allowed(ipaddress.ip_address("93.184.216.34"))
    assert address_allowed(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


def test_the_setting_allows_loopback_but_nothing_else_internal(settings):
    settings.FEED_ALLOW_LOOPBACK = True
    assert address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert not address_allowed(ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://feeds.example.com/stock.csv",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:pw@feeds.example.com/stock.csv",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/admin/",
        "http://[::1]/",
        "http:///nohost",
    ],
)
def test_bad_feed_urls_are_refused_before_any_request(settings, url):
    settings.FEED_ALLOW_LOOPBACK = False
    with pytest.raises(FeedURLRefused):
        validate_feed_url(url)


def test_every_resolved_address_is_checked(monkeypatch, settings):
    settings.FEED_ALLOW_LOOPBACK = False

    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(FeedURLRefused, match=r"10\.1\.2\.3"):
        resolve_public("feeds.example.com", 443)


@pytest.mark.django_db
def test_fetching_a_loopback_feed_is_refused_in_production(
    feed_server, django_capture_on_commit_callbacks, settings
):
    settings.FEED_ALLOW_LOOPBACK = False
    stock = catalog(A=5)
    url = feed_server.serve("/stock.csv", csv_body({"A": 1}))
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.attempts, run.errors[0]["code"]) == ("failed", 1, "url_refused")
    assert feed_server.hits("/stock.csv") == 0
    assert levels(stock["A"]) == [(5, 0)]


@pytest.mark.django_db
def test_a_redirect_to_an_internal_address_is_refused(
    feed_server, django_capture_on_commit_callbacks
):
    stock = catalog(A=5)
    url = feed_server.serve(
        "/moved.csv", "", status=302, headers={"Location": "http://169.254.169.254/latest/"}
    )
    feed = InventoryFeedFactory.create(brand=stock["A"].product.brand, url=url)

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert (run.state, run.errors[0]["code"]) == ("failed", "url_refused")


@pytest.mark.django_db
def test_auth_header_comes_from_the_environment_and_stays_on_its_origin(
    feed_server, django_capture_on_commit_callbacks, monkeypatch
):
    from tests.shop.feed_server import FeedServer

    other = FeedServer()
    import threading

    threading.Thread(target=other.httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("TRIBE_FEED_AUTH_ACME", "Bearer s3cret")
        stock = catalog(A=5)
        target = other.serve("/real.csv", csv_body({"A": 8}))
        url = feed_server.serve("/stock.csv", "", status=302, headers={"Location": target})
        feed = InventoryFeedFactory.create(
            brand=stock["A"].product.brand,
            url=url,
            auth_header="Authorization",
            auth_env="TRIBE_FEED_AUTH_ACME",
        )

        run = run_feed(feed, django_capture_on_commit_callbacks)

        assert run.state == "succeeded"
        assert feed_server.requests[0].headers.get("Authorization") == "Bearer s3cret"
        assert "Authorization" not in other.requests[0].headers
        assert levels(stock["A"]) == [(8, 0)]
        assert "s3cret" not in str(InventoryFeed.objects.values().get())
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()


@pytest.mark.django_db
@pytest.mark.parametrize("env_name", ["SECRET_KEY", "STRIPE_API_KEY", "TRIBE_FEED_AUTH_MISSING"])
def test_auth_from_a_variable_outside_the_prefix_or_unset_fails_without_a_request(
    feed_server, django_capture_on_commit_callbacks, monkeypatch, env_name
):
    monkeypatch.setenv("SECRET_KEY", "not-for-feeds")
    monkeypatch.delenv("TRIBE_FEED_AUTH_MISSING", raising=False)
    stock = catalog(A=5)
    url = feed_server.serve("/stock.csv", csv_body({"A": 1}))
    feed = InventoryFeedFactory.create(
        brand=stock["A"].product.brand, url=url, auth_header="X-Key", auth_env=env_name
    )

    run = run_feed(feed, django_capture_on_commit_callbacks)

    assert run.state == StockSyncRun.State.FAILED
    assert run.errors[0]["code"] in ("auth_env_refused", "auth_env_missing")
    assert feed_server.hits("/stock.csv") == 0

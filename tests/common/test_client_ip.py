"""One client-IP rule for throttles and click hashes: X-Forwarded-For only from our proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from common.client_ip import client_ip
from creators.attribution.clients import click_client

TOKEN_URL = "/api/v1/auth/token/"
CREDENTIALS = {"email": "nobody@example.com", "password": "wrong"}


@pytest.fixture
def auth_rate_2(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"anon": "1000/min", "user": "1000/min", "auth": "2/min"},
    )


@pytest.fixture
def one_proxy(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def login_attempt(remote_addr: str, forwarded: str | None = None) -> int:
    headers: dict[str, Any] = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return APIClient().post(TOKEN_URL, CREDENTIALS, format="json", **headers).status_code


def request_from(remote_addr: str, forwarded: str | None = None):
    headers: dict[str, Any] = {
        "REMOTE_ADDR": remote_addr,
        "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)",
    }
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/r/abc", **headers)


@pytest.mark.django_db
def test_a_new_forwarded_for_on_each_login_attempt_does_not_escape_the_auth_throttle(
    auth_rate_2,
):
    codes = [login_attempt("198.51.100.7", forwarded=f"203.0.113.{n}") for n in range(3)]
    assert codes == [401, 401, 429]


@pytest.mark.django_db
def test_behind_one_proxy_the_throttle_keys_on_the_address_the_proxy_saw(auth_rate_2, one_proxy):
    proxy = "10.0.0.1"
    # The client writes anything it likes to the left; our proxy appends what it saw.
    codes = [login_attempt(proxy, forwarded=f"192.0.2.{n}, 203.0.113.5") for n in range(3)]
    assert codes == [401, 401, 429]
    assert login_attempt(proxy, forwarded="203.0.113.5, 198.51.100.9") == 401


def test_without_trusted_proxies_the_forwarded_header_is_ignored():
    assert client_ip(request_from("198.51.100.7", forwarded="203.0.113.5")) == "198.51.100.7"


def test_with_one_proxy_the_rightmost_hop_is_the_client(one_proxy):
    request = request_from("10.0.0.1", forwarded="192.0.2.1, 203.0.113.5")
    assert client_ip(request) == "203.0.113.5"


def test_with_two_proxies_the_second_hop_from_the_right_is_the_client(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    request = request_from("10.0.0.1", forwarded="192.0.2.1, 203.0.113.5, 10.0.0.2")
    assert client_ip(request) == "203.0.113.5"


def test_a_trusted_hop_that_is_not_an_address_falls_back_to_the_peer(one_proxy):
    assert client_ip(request_from("10.0.0.1", forwarded="203.0.113.5, junk")) == "10.0.0.1"


def test_a_spoofed_forwarded_for_does_not_change_the_click_hashes(one_proxy):
    honest = click_client(request_from("10.0.0.1", "203.0.113.5"), can_set_cookie=False)
    spoofed = click_client(request_from("10.0.0.1", "192.0.2.1, 203.0.113.5"), can_set_cookie=False)
    other = click_client(request_from("10.0.0.1", "198.51.100.9"), can_set_cookie=False)
    assert (spoofed.ip_hash, spoofed.key_hash) == (honest.ip_hash, honest.key_hash)
    assert other.ip_hash != honest.ip_hash

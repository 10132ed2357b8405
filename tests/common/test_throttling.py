"""The API's throttles: DRF's sliding log per client, kept in Redis by one atomic script."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework import throttling
from rest_framework.request import Request

from common.throttling import ScopedRateThrottle


class _View:
    throttle_scope = "test"


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rate_3(monkeypatch):
    monkeypatch.setattr(throttling.SimpleRateThrottle, "THROTTLE_RATES", {"test": "3/min"})
    cache.clear()


def request_from(address: str) -> Request:
    request = Request(RequestFactory().post("/api/v1/anything/", REMOTE_ADDR=address))
    request.user = AnonymousUser()
    return request


def throttle(clock: _Clock | None = None) -> Any:
    made = ScopedRateThrottle()
    if clock is not None:
        made.timer = clock
    return made


def test_a_client_gets_the_rate_then_waits_until_its_oldest_request_leaves_the_window(rate_3):
    clock = _Clock()
    request = request_from("198.51.100.7")
    allowed = []
    for _ in range(3):
        allowed.append(throttle(clock).allow_request(request, _View()))
        clock.now += 10
    refused = throttle(clock)
    assert allowed == [True, True, True]
    assert refused.allow_request(request, _View()) is False
    assert refused.wait() == pytest.approx(30.0)  # the first request, 30 s ago, leaves at 60
    # Another client is counted apart.
    assert throttle(clock).allow_request(request_from("198.51.100.8"), _View()) is True

    clock.now += 29.9
    assert throttle(clock).allow_request(request, _View()) is False
    clock.now += 0.1  # 60 s after the first: it has left the window, the others have not
    assert throttle(clock).allow_request(request, _View()) is True
    assert throttle(clock).allow_request(request, _View()) is False


def test_a_refused_request_is_not_counted(rate_3):
    clock = _Clock()
    request = request_from("198.51.100.7")
    for _ in range(3):
        assert throttle(clock).allow_request(request, _View())
    for _ in range(5):
        clock.now += 1
        assert not throttle(clock).allow_request(request, _View())
    clock.now = 1_000_000.0 + 60  # the three allowed ones have left; the refused never came in
    assert [throttle(clock).allow_request(request, _View()) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]


def test_concurrent_requests_of_one_client_never_get_more_than_the_rate(rate_3):
    request = request_from("198.51.100.7")
    start = threading.Barrier(12)
    results: list[bool] = []

    def one() -> None:
        made = throttle()
        start.wait()
        results.append(made.allow_request(request, _View()))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 9 + [True] * 3


def test_a_view_without_a_scope_is_not_throttled(rate_3):
    class Unscoped:
        pass

    request = request_from("198.51.100.7")
    assert all(throttle().allow_request(request, Unscoped()) for _ in range(10))


def test_a_redis_that_forgot_the_script_is_given_it_again(rate_3):
    request = request_from("198.51.100.7")
    assert throttle().allow_request(request, _View())
    # As after a restart: Redis holds no script.
    cache._cache.get_client(write=True).script_flush()  # type: ignore[attr-defined]

    assert [throttle().allow_request(request, _View()) for _ in range(3)] == [True, True, False]

"""Builds of a stored page take the page's lock (`creators.pages.locks`), on real threads
and their own PostgreSQL connections: an older build never stores over a newer one, a page
is built once however many requests find it missing, and a stuck build blocks nobody."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, connections

from creators.pages import locks, product, storefront
from creators.pages.versions import product_key, storefront_key
from tests.creators.test_shop_pages import stored_text
from tests.creators.test_storefront_page import make_showcase

pytestmark = pytest.mark.django_db(transaction=True)

HANDLE = "maya.glows"


class PausedBuild:
    """Wraps a page selector: the first call reads its rows, then waits to be let go."""

    def __init__(self, read: Callable[..., Any]) -> None:
        self.read = read
        self.calls: list[str] = []
        self.rows_read = threading.Event()
        self.go = threading.Event()
        self._first = True
        self._guard = threading.Lock()

    def __call__(self, **kwargs: Any) -> Any:
        with self._guard:
            first, self._first = self._first, False
        self.calls.append(threading.current_thread().name)
        page = self.read(**kwargs)
        if first:
            self.rows_read.set()
            assert self.go.wait(30)
        return page


def in_thread(name: str, work: Callable[[], Any], results: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = work()
        except BaseException as exc:  # handed to the test to raise
            results[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def wait_for_a_waiting_build() -> None:
    """Until a session waits for a stored page's build lock (pg_locks, not granted)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND classid = %s::oid AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())",
                [locks._keys("any")[0] % 2**32],
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    pytest.fail("no build waited for the page's lock")


def finish(*threads: threading.Thread, results: dict[str, Any]) -> None:
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    for result in results.values():
        if isinstance(result, BaseException):
            raise result


def test_a_build_from_older_rows_never_stores_over_a_newer_one(monkeypatch):
    showcase = make_showcase(HANDLE)
    paused = PausedBuild(storefront.storefront_page_get)
    monkeypatch.setattr(storefront, "storefront_page_get", paused)
    results: dict[str, Any] = {}

    # A reads the rows with the old name and is held before storing.
    first = in_thread("first", lambda: storefront.storefront_stored_get(handle=HANDLE), results)
    assert paused.rows_read.wait(20)
    showcase.serum.title = "Vitamin C serum, new formula"
    showcase.serum.save()  # retires every stored page (a new catalog version)
    # B finds no current page and waits for A's build to end rather than race it.
    second = in_thread("second", lambda: storefront.storefront_stored_get(handle=HANDLE), results)
    wait_for_a_waiting_build()
    paused.go.set()
    finish(first, second, results=results)

    # B built after A stored, from the new rows, and its entry is the one kept.
    assert paused.calls == ["first", "second"]
    kept = cache.get(storefront_key(HANDLE))
    assert kept == results["second"]
    assert "Vitamin C serum, new formula" in stored_text(kept)
    assert "Vitamin C serum, new formula" not in stored_text(results["first"])
    # Current: the next request serves it without building again.
    assert storefront.storefront_stored_get(handle=HANDLE) == kept
    assert paused.calls == ["first", "second"]


def test_requests_that_find_a_page_missing_build_it_once(monkeypatch):
    showcase = make_showcase(HANDLE)
    paused = PausedBuild(product.product_page_get)
    monkeypatch.setattr(product, "product_page_get", paused)
    results: dict[str, Any] = {}

    def get() -> product.StoredProduct:
        return product.product_stored_get(handle=HANDLE, product_id=showcase.serum.pk)

    first = in_thread("first", get, results)
    assert paused.rows_read.wait(20)
    second = in_thread("second", get, results)
    wait_for_a_waiting_build()
    paused.go.set()
    finish(first, second, results=results)

    # The second request waited and served what the first built.
    assert paused.calls == ["first"]
    assert results["first"] == results["second"]
    assert cache.get(product_key(HANDLE, showcase.serum.pk)) == results["first"]


def test_a_build_that_waits_too_long_serves_its_own_page_and_stores_nothing(monkeypatch):
    make_showcase(HANDLE)
    monkeypatch.setattr(locks, "WAIT_SECONDS", 0.2)
    paused = PausedBuild(storefront.storefront_page_get)
    monkeypatch.setattr(storefront, "storefront_page_get", paused)
    results: dict[str, Any] = {}

    first = in_thread("first", lambda: storefront.storefront_stored_get(handle=HANDLE), results)
    assert paused.rows_read.wait(20)
    second = in_thread("second", lambda: storefront.storefront_stored_get(handle=HANDLE), results)
    second.join(30)

    # B gave up waiting for A's lock, built the page for itself, stored nothing.
    assert not second.is_alive()
    assert not isinstance(results["second"], BaseException)
    assert paused.calls == ["first", "second"]
    assert cache.get(storefront_key(HANDLE)) is None
    paused.go.set()
    finish(first, results=results)
    assert cache.get(storefront_key(HANDLE)) == results["first"]

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.shop.feed_server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 serving feeds, in a thread, for one test."""
    server = FeedServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()

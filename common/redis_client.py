"""The Redis clients the service opens itself, beside Django's cache and Celery's broker.

One client per URL and options in a process: a client is thread-safe and holds its own
connection pool, so the threads of a web process share its connections.

redis-py 8 speaks RESP3 and, on every new connection, asks the server to send maintenance
notifications (a handshake meant for Redis Enterprise and Redis Cloud moving shards). The
service runs on Redis and Sentinel, where that handshake only adds a round trip, and when a
connection drops during it redis-py 8.1 raises `AttributeError` instead of a
`ConnectionError`, past the callers that step aside when Redis is unreachable. It is off.

A connection lost or timed out during redis-py's own connect handshake (HELLO, CLIENT
SETINFO) can still surface as `ValueError` ("I/O operation on closed file") or `OSError`
rather than a `RedisError`: callers that step aside when Redis fails catch `REDIS_FAILURES`.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.maint_notifications import MaintNotificationsConfig

# What a Redis call raises when the server is unreachable, slow or drops the connection.
REDIS_FAILURES: tuple[type[Exception], ...] = (
    redis.RedisError,
    OSError,
    ValueError,
    AttributeError,
)

_clients: dict[tuple[str, tuple[tuple[str, Any], ...]], redis.Redis] = {}


def redis_client(url: str, **options: Any) -> redis.Redis:
    """The process's client for `url` with these options (socket timeouts...)."""
    key = (url, tuple(sorted(options.items())))
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(
            url, maint_notifications_config=MaintNotificationsConfig(enabled=False), **options
        )
        _clients[key] = client
    return client

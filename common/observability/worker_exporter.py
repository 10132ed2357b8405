"""`/metrics` of a Celery worker node, which has no web process to serve it.

With `CELERY_WORKER_METRICS_PORT` set, the worker's main process serves Prometheus text on
that port (all paths), behind the same `Authorization: Bearer <METRICS_TOKEN>` as the web's
`/metrics`, adding up its pool processes through `PROMETHEUS_MULTIPROC_DIR`. No token
configured means 404, as on the web.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


def metrics_app(token_of: Callable[[], str], registry: Any) -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving `registry` to a client holding the bearer token."""
    serve = make_wsgi_app(registry)

    def app(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        token = token_of()
        if not token:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"metrics are disabled\n"]
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"unauthorized\n"]
        return serve(environ, start_response)

    return app


def metrics_serve(*, host: str, port: int) -> WSGIServer:
    """Serve this node's metrics on host:port from a daemon thread."""
    from django.conf import settings

    from common.observability.views import _registry

    server = make_server(
        host,
        port,
        metrics_app(lambda: settings.METRICS_TOKEN, _registry()),
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("worker metrics on %s:%s", host, port)
    return server

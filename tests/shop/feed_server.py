"""A real HTTP server on 127.0.0.1, in a thread, that serves inventory feeds to the tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/csv"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    delay: float = 0.0  # seconds before the answer starts
    trickle: float = 0.0  # seconds between 1-byte chunks of the body
    chunked: bool = False  # no Content-Length
    fail_first: int = 0  # answer 503 to this many requests first


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(Seen(self.path, dict(self.headers.items())))
                    route = server.routes.get(self.path)
                    if route is not None and route.fail_first > 0:
                        route.fail_first -= 1
                        route = Route(status=503, body=b"busy")
                if route is None:
                    route = Route(status=404, body=b"no such feed")
                if route.delay:
                    time.sleep(route.delay)
                not_modified = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified
                    and self.headers.get("If-Modified-Since") == route.last_modified
                )
                if not_modified:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.chunked or route.trickle:
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.trickle:
                        for byte in route.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(route.trickle)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if route.chunked or route.trickle:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]

    def serve(self, path: str, body: bytes | str = b"", **options: object) -> str:
        """Serve `body` at `path` and return its URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen.path == path)

"""The server under load: gunicorn serving config.wsgi with the bench settings.

`Server` starts gunicorn on 127.0.0.1 and a free port, with its log under bench/results/,
waits until `/healthz` answers, and stops it (its own process group, so nothing else is
touched); `server_for` shapes one from the command line, `http_get` makes one plain request.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    DEFAULT_THREADS,
    DEFAULT_WORKERS,
    RESULTS_DIR,
    ROOT,
    SETTINGS_MODULE,
    BenchError,
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """Status and body of one GET (any status, no exception for 4xx/5xx)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Server:
    """gunicorn serving config.wsgi with the bench settings on 127.0.0.1 and a free port."""

    name: str
    app: str = "config.wsgi:application"
    workers: int = DEFAULT_WORKERS
    threads: int = DEFAULT_THREADS
    # Connections one worker holds at most; set it to wrk's connections / workers (see README).
    worker_connections: int = 1000
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return RESULTS_DIR / f"{self.name}.gunicorn.log"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def config(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "worker_class": "gthread" if self.threads > 1 else "sync",
            "workers": self.workers,
            "threads": self.threads,
            "worker_connections": self.worker_connections,
            "env": self.env,
        }

    def start(self, timeout: float = 30) -> Server:
        from django.db import connections

        connections.close_all()  # the server gets the database to itself
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "gthread" if self.threads > 1 else "sync",
            "--threads",
            str(self.threads),
            "--worker-connections",
            str(self.worker_connections),
            "--log-level",
            "warning",
        ]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, **self.env}
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-6:])
                raise BenchError(f"gunicorn exited at start ({self.log_path}):\n{tail}")
            try:
                if http_get(self.url("/healthz"), timeout=1)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise BenchError(f"gunicorn did not answer /healthz in {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: idle workers exit at once
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only our gunicorn
            self.process.wait(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_for(args: argparse.Namespace, name: str, env: dict[str, str] | None = None) -> Server:
    """A server with the workers and threads the command line asked for.

    Each worker may hold only its share of wrk's keep-alive connections: uncapped, the
    first worker to wake up accepts most of them and serves them for the whole round while
    the other core idles, which halves the number at random.
    """
    return Server(
        name=name,
        workers=args.workers,
        threads=args.threads,
        worker_connections=-(-args.connections // args.workers),
        env=env or {},
    )

"""Celery worker processes for tests: the environment they run in, and private workers.

The session's shared worker (`celery_worker_process` in conftest) consumes the project's
queues; a test that needs a worker configured its own way starts a private one that
consumes a queue nobody else uses and sends its tasks there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker on the test database and Redis, plus `extra`."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **extra,
    }


@contextmanager
def private_worker(
    log_path: Path,
    *,
    queue: str,
    env: dict[str, str],
    ready: Callable[[], bool] | None = None,
    pool: str = "prefork",
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker with one process consuming only `queue`, stopped on exit.

    Ready when `ready()` is true, or by default when the worker answers a ping by its name.
    """
    from config.celery_app import app

    name = f"{queue}@private"
    if ready is None:

        def ready() -> bool:
            return bool(app.control.ping(destination=[name], timeout=0.5))

    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
            "--concurrency=1", f"--pool={pool}", "-Q", queue, "-n", name,
            "--without-gossip", "--without-mingle",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if ready():
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker not ready in 60 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db.models.sql.compiler import SQLCompiler
from rest_framework.test import APIClient

from creators.pages.versions import local_entries_clear
from devtools.stack.servers import free_port
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()
    local_entries_clear()  # the stored pages' entries each process keeps


@pytest.fixture(autouse=True)
def _staff_sign_in_with_second_factor(monkeypatch) -> None:
    """Every test client's `force_login` of staff who can refund or pay out also passes the
    admin's second factor through the verify page with the user's known TOTP device."""
    from django.test.client import ClientMixin

    from tests.staff_sign_in import force_login_with_second_factor

    monkeypatch.setattr(ClientMixin, "force_login", force_login_with_second_factor)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory.create()


def compiles(call: Callable[[], Any]) -> tuple[int, Any]:
    """How many times the ORM compiled SQL while `call()` ran, and what it returned."""
    with mock.patch.object(
        SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql
    ) as as_sql:
        result = call()
    return as_sql.call_count, result


def client_for(user) -> APIClient:
    """An API client signed in as `user` (`tests.staff_sign_in.staff_tokens`)."""
    from tests.staff_sign_in import staff_tokens

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_tokens(user).access_token}")
    return client


@pytest.fixture
def auth_client(user) -> APIClient:
    return client_for(user)


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup, django_db_blocker, stripe_emulator_base
) -> Iterator[subprocess.Popen]:
    """A real Celery worker process on the real Redis broker, using the test database."""
    from django.conf import settings

    from tests.worker_helpers import worker_env

    env = worker_env(
        STRIPE_API_BASE=stripe_emulator_base,
        # The webhook tests' receiver is plain http on 127.0.0.1; retries come after seconds.
        WEBHOOK_ALLOW_LOOPBACK="1",
        WEBHOOK_REQUIRE_HTTPS="0",
        WEBHOOK_RETRY_BASE_SECONDS="1",
        # Outbox handlers that fail are tried again after 1, 2, 4... seconds.
        OUTBOX_RETRY_BASE_SECONDS="1",
    )
    from config.celery_app import app

    app.control.purge()
    with app.connection_for_write() as conn:
        for queue in settings.BROKER_QUEUES:
            conn.default_channel.queue_purge(queue)  # type: ignore[attr-defined]
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / "test-worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--loglevel=INFO", "--concurrency=2", "--pool=prefork",
            "-Q", ",".join(settings.BROKER_QUEUES), "-n", f"test-worker-{os.getpid()}@%h",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0)
        if replies:
            break
        if proc.poll() is not None:
            raise RuntimeError(f"Celery worker exited early; see {log.name}")
    else:
        proc.terminate()
        raise RuntimeError(f"Celery worker did not answer a ping; see {log.name}")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def real_worker(celery_worker_process, settings):
    """Send tasks to the real worker instead of running them eagerly."""
    from config.celery_app import app

    app.conf.task_always_eager = False
    yield celery_worker_process
    app.conf.task_always_eager = True


def _free_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def stripe_emulator_base() -> Iterator[str]:
    """The project's Stripe emulator as a separate process on a free loopback port."""
    import urllib.request

    port = _free_port()
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"test-stripe-emulator-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "devtools.stripe_emulator", "--port", str(port),
            "--webhook-secret", "whsec_test_secret",
        ],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"Stripe emulator exited; see {log.name}") from None
            time.sleep(0.2)
    else:
        proc.terminate()
        raise RuntimeError(f"Stripe emulator did not start; see {log.name}")
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def stripe_emulator(stripe_emulator_base, settings) -> str:
    """Point the service's Stripe client at the emulator for this test."""
    settings.STRIPE_API_BASE = stripe_emulator_base
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return stripe_emulator_base

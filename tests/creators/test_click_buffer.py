"""The per-process click buffer: batches by size and time, at exit, and across threads."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from creators.attribution import clicks as click_queue
from creators.attribution.buffer import Buffer
from creators.models import Click, ClickDaily
from tests.creators.factories import AffiliateLinkFactory
from tests.shop.factories import ProductFactory, VariantFactory

ROOT = Path(__file__).resolve().parents[2]
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148"


@pytest.fixture(autouse=True)
def _empty_click_queue(settings):
    client = click_queue._redis()
    click_queue.clicks_buffer_flush()
    for key in client.scan_iter(f"{settings.CLICK_KEY_PREFIX}:clicks:*"):
        client.delete(key)


class Gate:
    """Stands in for the buffer thread's sleep: returns only when the test opens it."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.open = threading.Event()
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.asked.set()
        self.open.wait(10)  # a test that never opens it lets the thread go on after 10 s


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.pushed = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> None:
        with self.lock:
            self.batches.append(list(items))
        self.pushed.set()

    @property
    def items(self) -> list[int]:
        with self.lock:
            return [item for batch in self.batches for item in batch]


def make_buffer(recorder: Recorder, *, size: int = 1000, delay: float = 0.02, sleep=None):
    return Buffer(
        push=recorder,
        max_delay=lambda: delay,
        max_items=lambda: size,
        name="test-buffer",
        **({"sleep": sleep} if sleep is not None else {}),
    )


def make_link():
    product = ProductFactory.create()
    VariantFactory.create(product=product, on_hand=5)
    return AffiliateLinkFactory.create(product=product)


def record(link_id: int, client: str) -> click_queue.ClickRecord:
    return click_queue.ClickRecord(
        click_id=click_queue.click_new_id(),
        link_id=link_id,
        client_hash=client,
        ip_hash="",
        user_agent=PHONE_UA,
        source="web",
        is_bot=False,
        at=time.time(),
    )


# --- The buffer on its own ----------------------------------------------------------------


def test_a_full_buffer_pushes_at_once_in_one_call():
    recorder = Recorder()
    buffer = make_buffer(recorder, size=3, sleep=Gate())
    for item in (1, 2, 3):
        buffer.add(item)
    assert recorder.batches == [[1, 2, 3]]
    assert len(buffer) == 0


def test_a_partial_buffer_waits_for_its_delay_then_pushes_everything_taken_meanwhile():
    recorder = Recorder()
    gate = Gate()
    buffer = make_buffer(recorder, delay=0.02, sleep=gate)
    buffer.add(1)
    assert gate.asked.wait(10)
    buffer.add(2)
    assert recorder.batches == []  # still waiting out the delay
    gate.open.set()
    assert recorder.pushed.wait(10)
    assert recorder.batches == [[1, 2]]
    assert gate.delays[0] == 0.02


def test_flush_pushes_what_waits_and_nothing_twice():
    recorder = Recorder()
    buffer = make_buffer(recorder, sleep=Gate())
    buffer.add(1)
    buffer.add(2)
    assert buffer.flush() == 2
    assert buffer.flush() == 0
    assert recorder.batches == [[1, 2]]


def test_items_added_from_many_threads_are_pushed_exactly_once():
    recorder = Recorder()
    buffer = make_buffer(recorder, size=7, delay=0.001)
    threads, per_thread = 8, 500
    barrier = threading.Barrier(threads)

    def add(base: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            buffer.add(base + i)

    workers = [threading.Thread(target=add, args=(n * per_thread,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    buffer.flush()
    assert sorted(recorder.items) == list(range(threads * per_thread))
    assert all(len(batch) <= 7 for batch in recorder.batches)


def test_a_process_pushes_its_buffered_items_when_it_exits(tmp_path):
    out = tmp_path / "pushed.txt"
    script = (
        "import sys\n"
        "from creators.attribution.buffer import Buffer\n"
        f"path = {str(out)!r}\n"
        "def push(items):\n"
        "    with open(path, 'a') as f:\n"
        "        f.write(' '.join(map(str, items)) + '\\n')\n"
        "buffer = Buffer(push=push, max_delay=lambda: 3600, max_items=lambda: 1000)\n"
        "for i in range(5):\n"
        "    buffer.add(i)\n"
        "sys.exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=30)
    assert out.read_text() == "0 1 2 3 4\n"


def test_a_forked_child_pushes_only_its_own_items_and_the_parent_keeps_its_own(tmp_path):
    out = tmp_path / "pushed.txt"
    script = (
        "import os, sys\n"
        "from creators.attribution.buffer import Buffer\n"
        f"path = {str(out)!r}\n"
        "def push(items):\n"
        "    who = 'parent' if os.getpid() == parent else 'child'\n"
        "    with open(path, 'a') as f:\n"
        "        f.write(who + ' ' + ' '.join(map(str, items)) + '\\n')\n"
        "parent = os.getpid()\n"
        "buffer = Buffer(push=push, max_delay=lambda: 3600, max_items=lambda: 1000)\n"
        "buffer.add(0)\n"
        "buffer.add(1)\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    buffer.add(2)\n"
        "    sys.exit(0)\n"
        "os.waitpid(child, 0)\n"
        "sys.exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=30)
    assert out.read_text().splitlines() == ["child 2", "parent 0 1"]


# --- Clicks through the buffer ---------------------------------------------------------------


@pytest.mark.django_db
def test_taps_wait_in_the_buffer_then_reach_redis_in_one_batch(monkeypatch):
    gate = Gate()  # holds the buffer's timer until the test has looked
    pushes: list[int] = []

    def push(records: list[click_queue.ClickRecord]) -> None:
        pushes.append(len(records))
        click_queue._push(records)

    buffer = Buffer(push=push, max_delay=lambda: 0.02, max_items=lambda: 200, sleep=gate)
    monkeypatch.setattr(click_queue, "_buffer", buffer)
    link = make_link()
    for _ in range(3):
        Client().get(f"/r/{link.code}", HTTP_USER_AGENT=PHONE_UA)
    redis = click_queue._redis()
    assert redis is not None
    assert redis.llen(click_queue._key("pending")) == 0
    gate.open.set()
    deadline = time.monotonic() + 10
    while redis.llen(click_queue._key("pending")) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert redis.llen(click_queue._key("pending")) == 3
    assert pushes == [3]


@pytest.mark.django_db(transaction=True)
def test_n_clients_times_m_repeats_from_many_threads_flush_to_exactly_n_unique(settings):
    settings.CLICK_BUFFER_SIZE = 13
    link = make_link()
    clients, repeats = 40, 6
    barrier = threading.Barrier(8)

    def tap(worker: int) -> None:
        barrier.wait()
        for _ in range(repeats):
            for n in range(worker, clients, 8):
                click_queue.click_record(record(link.pk, f"client-{n}"))

    threads = [threading.Thread(target=tap, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert click_queue.clicks_flush() == clients * repeats
    daily = ClickDaily.objects.get(link=link)
    assert (daily.clicks, daily.unique_clicks) == (clients * repeats, clients)
    assert Click.objects.count() == clients * repeats
    assert Click.objects.filter(is_unique=True).values("client_hash").distinct().count() == clients


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_buffered_clicks_are_written_directly(settings, monkeypatch):
    monkeypatch.setattr(click_queue, "_degraded_since", None)  # restored for the next tests
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    link = make_link()
    settings.REDIS_URL = f"redis://127.0.0.1:{dead}/0"
    for client in ("a", "b", "a"):
        click_queue.click_record(record(link.pk, client))
    click_queue.clicks_buffer_flush()
    assert Click.objects.count() == 3
    assert ClickDaily.objects.get(link=link).unique_clicks == 2
    assert click_queue.degraded_reason() is not None


# --- A real server's worker exiting ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, cookie: str = "") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"User-Agent": PHONE_UA, **({"Cookie": cookie} if cookie else {})}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_gunicorn_worker_pushes_its_buffered_clicks_when_it_is_stopped(settings, tmp_path):
    link = make_link()
    prefix = f"tribe-test-exit-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CLICK_KEY_PREFIX": prefix,
        # Neither the size nor the delay pushes during the test: only the exit can.
        "CLICK_BUFFER_SECONDS": "3600",
        "CLICK_BUFFER_SIZE": "100000",
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--worker-class", "gthread", "--threads", "2",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    redis = click_queue._redis()
    assert redis is not None
    pending = f"{prefix}:clicks:pending"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(port, "/healthz") == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, "gunicorn exited at start"
            assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
            time.sleep(0.1)
        for n in range(12):
            assert _get(port, f"/r/{link.code}", f"tribe_cid=exit-client-{n % 4:04d}") == 302
        assert redis.llen(pending) == 0  # all twelve wait in the worker's buffer
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        raw = redis.lrange(pending, 0, -1)
        assert len(raw) == 12
        unique = [click_queue.ClickRecord.decode(item)[1] for item in raw]
        assert sum(unique) == 4
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        log.close()
        for key in redis.scan_iter(f"{prefix}:*"):
            redis.delete(key)

"""Beat schedules live in the database, seeded once; two beats never both fire a job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from common.beat import beat_schedule_seed
from tests.conftest import ROOT


@pytest.mark.django_db
def test_the_seed_creates_every_entry_the_code_needs():
    created = beat_schedule_seed()
    assert set(created) == set(settings.BEAT_SCHEDULE_SEED)
    flush = PeriodicTask.objects.get(name="creators-clicks-flush")
    assert flush.task == "creators.tasks.clicks_flush"
    assert (flush.interval.every, flush.interval.period) == (10, IntervalSchedule.SECONDS)


@pytest.mark.django_db
def test_an_entry_seeded_to_run_at_once_is_due_at_the_first_tick():
    from django.utils import timezone

    from config.celery_app import app

    beat_schedule_seed()
    ensure = PeriodicTask.objects.get(name="creators-clicks-partitions-ensure")
    assert ensure.schedule.is_due(ensure.last_run_at).is_due
    flush = PeriodicTask.objects.get(name="creators-clicks-flush")
    assert flush.last_run_at is None  # first run one interval after the beat starts
    assert app.conf.timezone == "UTC"
    assert ensure.last_run_at < timezone.now()


@pytest.mark.django_db
def test_seeding_again_keeps_what_the_admin_changed():
    beat_schedule_seed()
    slower = IntervalSchedule.objects.create(every=600, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="creators-clicks-flush").update(interval=slower)
    PeriodicTask.objects.filter(name="orders-sellout-scan").update(enabled=False)
    assert beat_schedule_seed() == []
    assert PeriodicTask.objects.get(name="creators-clicks-flush").interval.every == 600
    assert PeriodicTask.objects.get(name="orders-sellout-scan").enabled is False


@pytest.mark.django_db
def test_a_deleted_entry_comes_back_and_the_command_says_so(capsys):
    from django.core.management import call_command

    beat_schedule_seed()
    PeriodicTask.objects.filter(name="orders-waitlist-scan").delete()
    call_command("beat_seed")
    assert "created 1 periodic task(s): orders-waitlist-scan" in capsys.readouterr().out


def test_celery_reads_no_schedule_from_settings():
    """DatabaseScheduler would rewrite every CELERY_BEAT_SCHEDULE entry at each start."""
    from config.celery_app import app

    assert app.conf.beat_schedule == {}
    assert app.conf.beat_scheduler == "common.beat:LockedDatabaseScheduler"


# --- Two real beat processes ---------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Beats:
    """Beat processes on the test database, and the messages they send to a probe queue."""

    def __init__(self, queue: str, log_dir: Path) -> None:
        self.queue = queue
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.redis = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        db = connection.settings_dict
        self.env = {
            # Set even to "", prometheus_client would write its files into the checkout.
            **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}"
                f"/{db['NAME']}"
            ),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # Only the probe entry: the seed would send real jobs to the real queues.
            "BEAT_SEED_ON_START": "0",
            "BEAT_LOCK_RETRY_SECONDS": "0.2",
        }

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    def senders(self) -> list[int]:
        """The pid of the process that sent each probe message so far, oldest first."""
        raw = self.redis.lrange(self.queue, 0, -1)
        # kombu's Redis transport LPUSHes, so the list is newest first.
        origins = [json.loads(item)["headers"]["origin"] for item in reversed(raw)]
        return [int(origin.split("@")[0].removeprefix("gen")) for origin in origins]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.redis.delete(self.queue)


@pytest.fixture
def beats(tmp_path) -> Iterator[Beats]:
    queue = f"beat-probe-{uuid.uuid4().hex[:8]}"
    PeriodicTask.objects.all().delete()
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="probe", task="tests.beat_probe", interval=every_second, queue=queue
    )
    running = Beats(queue, tmp_path)
    yield running
    running.stop()


@pytest.mark.django_db(transaction=True)
def test_with_two_beats_one_fires_each_job_and_the_standby_takes_over_after_a_sigkill(beats):
    first = beats.start("first")
    wait_for(lambda: len(beats.senders()) >= 1, 60, "the first beat to send the probe")
    second = beats.start("second")
    wait_for(lambda: "standing by" in beats.log("second"), 60, "the second beat to stand by")

    # Both running: the job keeps firing once a second, always from the first beat.
    sent_before = len(beats.senders())
    started = time.monotonic()
    wait_for(lambda: len(beats.senders()) >= sent_before + 4, 30, "four more runs")
    elapsed = time.monotonic() - started
    assert set(beats.senders()) == {first.pid}
    assert len(beats.senders()) - sent_before <= elapsed + 2  # once per second, not twice

    # The active beat dies without a chance to clean up; the standby takes over.
    sent_at_kill = len(beats.senders())
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    wait_for(lambda: second.pid in beats.senders(), 30, "the standby to take over")
    takeover = time.monotonic() - killed_at
    assert "lock taken" in beats.log("second")
    assert set(beats.senders()[sent_at_kill:]) == {second.pid}
    assert second.poll() is None
    print(f"standby took over {takeover:.1f}s after the SIGKILL")

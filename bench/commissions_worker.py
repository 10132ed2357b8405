"""The commissions benchmark's Celery worker, and the CPU it and PostgreSQL use.

One `celery worker` process with one prefork child, the bench settings and the bench
database, consuming only its own queue (purged first); it is started in its own session and
stopped with a warm shutdown. Batches are enqueued on that queue and awaited; `cpu_now` reads
from /proc what the machine, the worker's process tree and PostgreSQL have used so far.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import RESULTS_DIR, ROOT, SETTINGS_MODULE, BenchError

QUEUE = "bench-commissions"


# --- CPU --------------------------------------------------------------------


def cpu_now(worker_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the machine, the worker's process tree, and PostgreSQL.

    The worker opens a new database connection per task (Celery's Django fix-up closes it
    before and after each), so backends come and go: PostgreSQL counts every live postgres
    process plus what the postmaster reaped from exited backends (cutime + cstime), of all
    databases; on a shared box it includes other clients' queries.
    """
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    used = {"machine": (sum(fields[:8]) - fields[3] - fields[4]) / tick, "worker": 0.0}
    used["postgres"] = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_fields = (entry / "stat").read_text().rpartition(")")[2].split()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(stat_fields[1])
        # utime + stime, and cutime + cstime: what it reaped from exited children.
        seconds = sum(int(stat_fields[i]) for i in (11, 12, 13, 14)) / tick
        if worker_pid in (pid, ppid):
            used["worker"] += seconds
        elif comm == "postgres":
            used["postgres"] += seconds
    return used


def cores_used(
    before: dict[str, float], after: dict[str, float], seconds: float
) -> dict[str, float]:
    """Cores used during the measurement by the worker, PostgreSQL and everything else."""
    used = {k: after[k] - before[k] for k in after}
    return {
        "worker_cores": used["worker"] / seconds,
        "postgres_cores": used["postgres"] / seconds,
        "other_cores": max(0.0, used["machine"] - used["worker"] - used["postgres"]) / seconds,
    }


# --- The worker -------------------------------------------------------------


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _purge_queue(queue: str) -> None:
    from kombu import Queue

    from config.celery_app import app

    with app.connection_for_write() as conn:
        Queue(queue).bind(conn.default_channel).purge()


def start_worker(
    log_path: Path, *, queue: str = QUEUE, label: str = "bench-commissions"
) -> tuple[subprocess.Popen[bytes], str]:
    """One worker process with one prefork child, consuming only its own bench queue."""
    from django.conf import settings
    from django.db import connections

    from config.celery_app import app

    connections.close_all()
    _purge_queue(queue)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    name = f"{label}-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--concurrency=1", "--pool=prefork", "--loglevel=WARNING",
            "--without-gossip", "--without-mingle", "-Q", queue, "-n", f"{name}@%h",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the Celery worker exited at start; see {log.name}")
        replies = app.control.ping(timeout=0.5) or []
        if any(node.startswith(f"{name}@") for reply in replies for node in reply):
            return process, name
    stop_worker(process)
    raise BenchError(f"the Celery worker did not answer a ping in 60s; see {log.name}")


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only our worker
        process.wait(timeout=5)


def enqueue_batch(order_ids: list[int]) -> Any:
    from commissions.tasks import commissions_record_batch

    return commissions_record_batch.apply_async(args=(order_ids,), queue=QUEUE)


def wait_tasks(results: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(results)
    while pending and time.monotonic() < deadline:
        pending = [r for r in pending if not r.ready()]
        if pending:
            time.sleep(0.02)
    if pending:
        raise BenchError(f"{len(pending)} batch tasks unfinished after {timeout:.0f}s")
    failed = [r for r in results if not r.successful()]
    if failed:
        raise BenchError(f"batch task failed: {failed[0].result!r}")

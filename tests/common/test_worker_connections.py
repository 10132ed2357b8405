"""A worker keeps its database connection across tasks as a web process does across requests.

Each private worker names its sessions (PGAPPNAME), so the test reads from pg_stat_activity
which backend ran its tasks.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tests.worker_helpers import private_worker, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def backends(app_name: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid",
            [app_name],
        )
        return [pid for (pid,) in cursor.fetchall()]


def run(queue: str) -> int:
    from config.celery_app import app

    app.conf.task_always_eager = False
    try:
        return app.send_task("common.tasks.idempotency_prune", queue=queue).get(timeout=60)
    finally:
        app.conf.task_always_eager = True


def test_tasks_share_one_session_within_conn_max_age_and_replace_a_dead_one(tmp_path):
    queue = app_name = "conn-reuse-probe"
    env = worker_env(CONN_MAX_AGE="60", CONN_HEALTH_CHECKS="1", PGAPPNAME=app_name)
    with private_worker(tmp_path / "worker.log", queue=queue, env=env):
        seen = set()
        for _ in range(5):
            assert run(queue) == 0
            seen.update(backends(app_name))
        assert len(seen) == 1, f"five tasks used sessions {sorted(seen)}"

        # The session dies between tasks (a restart, a failover): the next task checks its
        # kept connection first, finds it gone, and runs on a new one.
        (pid,) = seen
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert run(queue) == 0
        after = backends(app_name)
        assert len(after) == 1
        assert after[0] != pid


def test_without_conn_max_age_a_task_leaves_no_session_behind(tmp_path):
    queue = app_name = "conn-close-probe"
    env = worker_env(CONN_MAX_AGE="0", PGAPPNAME=app_name)
    with private_worker(tmp_path / "worker.log", queue=queue, env=env):
        assert run(queue) == 0
        assert backends(app_name) == []

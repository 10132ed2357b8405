"""`make run`'s supervisor: PostgreSQL and Redis from wheels, owned by one process.

Each test runs `python -m devtools.stack exec` as `make run` does, on free ports and a data
directory of its own, and checks what a person running it would see.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.stack.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(tmp_path):
    """Run the supervisor with `script` (bash) as its command; returns (result, env)."""
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env |= {
        "EMBEDDED_POSTGRES_PORT": str(free_port()),
        "EMBEDDED_REDIS_PORT": str(free_port()),
    }
    data = tmp_path / "var"

    def run(script: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "devtools.stack", "exec", "--data", str(data), "--",
             "bash", "-c", script],
            cwd=ROOT, env={**env, **kwargs.pop("env", {})}, capture_output=True, text=True,
            timeout=120, **kwargs,
        )  # fmt: skip

    run.env = env  # type: ignore[attr-defined]
    run.data = data  # type: ignore[attr-defined]
    return run


def psql(sql: str) -> str:
    """A shell command running `sql` on $DATABASE_URL and printing the last row's first value."""
    script = (
        "import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL'], autocommit=True); "
        f"cur = c.execute({sql!r}); print(cur.fetchall()[-1][0] if cur.description else 'ok')"
    )
    return f'{sys.executable} -c "{script}"'


def redis(command: str) -> str:
    """A shell command running `command` on a redis.Redis client for $REDIS_URL."""
    script = f"import os, redis; print(redis.Redis.from_url(os.environ['REDIS_URL']).{command})"
    return f'{sys.executable} -c "{script}"'


SET_QUEUED = redis("set('queued', 'task')")
GET_QUEUED = redis("get('queued')")


def nothing_left_running(data: Path) -> bool:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return str(data) not in listing


def test_servers_start_keep_their_data_and_stop_with_the_command(stack):
    create = psql("CREATE TABLE kept (n int)") + " && " + psql("INSERT INTO kept VALUES (7)")
    first = stack(create + " && " + SET_QUEUED)
    assert first.returncode == 0, first.stderr
    assert "PostgreSQL on postgres://postgres@127.0.0.1:" in first.stdout
    assert nothing_left_running(stack.data)

    second = stack(psql("SELECT n FROM kept") + " && " + GET_QUEUED)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split()[-2:] == ["7", "b'task'"]
    assert (stack.data / "redis").is_dir()
    assert any((stack.data / "redis").iterdir())


def test_the_commands_exit_status_is_the_supervisors(stack):
    assert stack("exit 3").returncode == 3


def test_configured_servers_are_used_and_nothing_is_started(stack):
    result = stack(
        'echo "$DATABASE_URL $REDIS_URL"',
        env={"DATABASE_URL": "postgres://elsewhere/db", "REDIS_URL": "redis://elsewhere:1/0"},
    )
    assert result.returncode == 0
    assert result.stdout.strip() == "postgres://elsewhere/db redis://elsewhere:1/0"
    assert not (stack.data / "postgres").exists()


def test_a_port_in_use_stops_with_a_message_naming_the_variable(stack):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(stack.env["EMBEDDED_POSTGRES_PORT"])))
        taken.listen()
        result = stack("echo should-not-run")
    assert result.returncode == 2
    assert "should-not-run" not in result.stdout
    assert "already in use" in result.stderr
    assert "EMBEDDED_POSTGRES_PORT" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_data_directory_of_another_major_version_is_refused_with_a_message(stack):
    (stack.data / "postgres").mkdir(parents=True)
    (stack.data / "postgres" / "PG_VERSION").write_text("15\n")
    result = stack("echo should-not-run")
    assert result.returncode == 2
    assert "PostgreSQL 15 data directory" in result.stderr
    assert "make clean" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_after_a_sigkill_the_next_run_recovers_the_data(stack):
    assert stack(psql("CREATE TABLE kept (n int)")).returncode == 0
    # Commit a row, then kill the supervisor outright while the servers are busy.
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.stack", "exec", "--data", str(stack.data), "--", "bash",
         "-c", f"{psql('INSERT INTO kept VALUES (1)')} && echo committed && sleep 600"],
        cwd=ROOT, env=stack.env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = ""
    while "committed" not in seen:
        line = proc.stdout.readline()
        assert line, f"the command ended early: {seen}"
        seen += line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    while not nothing_left_running(stack.data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert nothing_left_running(stack.data), "servers or the command outlived the supervisor"

    again = stack(psql("SELECT count(*) FROM kept"))
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[-1] == "1"

"""Run a command with PostgreSQL and Redis, starting them from wheels when none is configured.

    python -m devtools.stack exec [--data var] [--prefer-system] [--ephemeral-redis] -- CMD...

- `DATABASE_URL` / `REDIS_URL` set: those servers are used and nothing is started.
- `--prefer-system`: the servers already answering on 127.0.0.1:5432 / :6379 (a machine's own
  PostgreSQL and Redis, as in CI) are used when they answer.
- Otherwise PostgreSQL (data in DATA/postgres, port `EMBEDDED_POSTGRES_PORT`, default 55432)
  and Redis (append-only file in DATA/redis, port `EMBEDDED_REDIS_PORT`, default 56379) start
  here, CMD runs with `DATABASE_URL` and `REDIS_URL` pointing at them, and they stop after it.
- `--replica`: with the embedded PostgreSQL, a streaming replica of it too (data in
  DATA/postgres-replica, port `EMBEDDED_POSTGRES_REPLICA_PORT`, default 55433), passed to CMD
  as `DATABASE_REPLICA_URL`.

CMD runs in a process group of its own: a Ctrl-C (or a SIGINT/SIGTERM to this process) is passed
to it once, the servers stop only after it has exited, and if this process is killed outright
the servers and CMD are told to stop by the kernel. The exit status is CMD's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from devtools.stack.servers import (
    Server,
    StackError,
    _answers,
    _die_with_parent,
    postgres_replica_start,
    postgres_start,
    redis_start,
)

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "tribe"


def _port(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "")
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{variable} must be a port number, not {raw!r}.") from None
    if not 0 < port < 65536:
        raise StackError(f"{variable} must be a port number between 1 and 65535, not {port}.")
    return port


def servers_for(args: argparse.Namespace, env: dict[str, str]) -> list[Server]:
    """Start what is not configured; put its URL in `env`. Returns the servers started."""
    started: list[Server] = []
    data = Path(args.data).resolve()
    postgres_port = _port("EMBEDDED_POSTGRES_PORT", 55432)
    redis_port = _port("EMBEDDED_REDIS_PORT", 56379)
    try:
        if not env.get("DATABASE_URL") and not (args.prefer_system and _answers(5432)):
            server, url = postgres_start(data / "postgres", postgres_port, database=DATABASE)
            started.append(server)
            env["DATABASE_URL"] = url
            print(f"stack: PostgreSQL on {url} (data in {data / 'postgres'})", flush=True)
            if args.replica and not env.get("DATABASE_REPLICA_URL"):
                replica_port = _port("EMBEDDED_POSTGRES_REPLICA_PORT", 55433)
                replica = postgres_replica_start(
                    data / "postgres-replica", replica_port, primary_port=postgres_port
                )
                started.append(replica)
                env["DATABASE_REPLICA_URL"] = url.replace(f":{postgres_port}/", f":{replica_port}/")
                print(f"stack: PostgreSQL replica on {env['DATABASE_REPLICA_URL']}", flush=True)
        if not env.get("REDIS_URL") and not (args.prefer_system and _answers(6379)):
            server, url = redis_start(data / "redis", redis_port, persist=not args.ephemeral_redis)
            started.append(server)
            env["REDIS_URL"] = url
            print(f"stack: Redis on {url} (data in {data / 'redis'})", flush=True)
    except BaseException:
        stop(started)
        raise
    return started


def stop(servers: list[Server]) -> None:
    for server in reversed(servers):
        server.stop()


def run(command: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        process_group=0,
        preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
    )
    passed: list[int] = []

    def pass_on(signum: int, frame: object) -> None:
        # Once: a second Ctrl-C while the command shuts down must not cut its shutdown short.
        if not passed:
            passed.append(signum)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signum)

    signal.signal(signal.SIGINT, pass_on)
    signal.signal(signal.SIGTERM, pass_on)
    return child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.stack")
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("exec", help="run a command with PostgreSQL and Redis")
    run_parser.add_argument("--data", default=str(ROOT / "var"), help="where server data lives")
    run_parser.add_argument(
        "--prefer-system",
        action="store_true",
        help="use servers already answering on 127.0.0.1:5432 and :6379",
    )
    run_parser.add_argument(
        "--ephemeral-redis", action="store_true", help="keep no append-only file"
    )
    run_parser.add_argument(
        "--replica",
        action="store_true",
        help="with the embedded PostgreSQL, start a streaming replica of it too",
    )
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    env = dict(os.environ)
    try:
        servers = servers_for(args, env)
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 2
    try:
        return run(command, env)
    finally:
        stop(servers)


if __name__ == "__main__":
    sys.exit(main())

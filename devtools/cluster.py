"""Tribe as several nodes on one machine: `make cluster`, and the harness its test drives.

    python -m devtools.cluster [--data var/cluster] [--port 8000]

Starts, each as a process of its own that a test may kill:

- PostgreSQL, primary and a streaming replica (`DATABASE_REPLICA_URL`), from the wheel;
- Redis and a Sentinel watching it (the Celery broker is `sentinel://`);
- two web nodes (gunicorn gthread 2 x 8, as deployed) behind a small round-robin TCP balancer on
  `--port` (a process of its own, `--balance-to`), which sends each new connection to the
  next node that accepts it, so a killed node's clients reconnect to the other;
- two Celery workers on every queue, and two beats (one holds the lock, one stands by);
- the Stripe emulator, whose webhooks go through the balancer.

The balancer is a few lines here rather than nginx so the harness needs nothing beyond the
project's own packages; a real deployment puts its load balancer there, passing the
client's address in `X-Forwarded-For` (`NUM_PROXIES=1`).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.stack.servers import (
    Server,
    _answers,
    _die_with_parent,
    free_port,
    port_free,
    postgres_replica_start,
    postgres_start,
    redis_server_bin,
    redis_start,
)

ROOT = Path(__file__).resolve().parents[1]
SENTINEL_MASTER = "tribe"
QUEUES = "celery,money,clicks,notifications"
MONEY_COUNTS = (
    "paid_orders", "paid_events", "paid_events_orders", "paid_lines", "commission_lines",
    "commission_lines_distinct", "deliveries_pending",
)  # fmt: skip


class Balancer:
    """Round-robin TCP balancer: each accepted connection is piped to the next live node."""

    def __init__(self, port: int, backends: list[int]) -> None:
        self.port = port
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", port), backlog=512)
        self._stopped = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._accept, name="balancer", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def _connect(self) -> socket.socket | None:
        for _ in range(len(self.backends)):
            with self._lock:
                backend = self.backends[next(self._next)]
            try:
                return socket.create_connection(("127.0.0.1", backend), timeout=2)
            except OSError:
                continue  # a dead node: try the next
        return None

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = self._connect()
        if upstream is None:
            client.close()
            return
        upstream.settimeout(None)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@dataclass
class Cluster:
    data: Path
    port: int
    servers: list[Server] = field(default_factory=list)
    nodes: dict[str, subprocess.Popen] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        try:
            self._start_stores()
            self._prepare()
            self._start_nodes()
        except BaseException:
            self.stop()
            raise

    def _start_stores(self) -> None:
        ports = {name: free_port() for name in ("postgres", "replica", "redis", "sentinel")}
        self.ports.update(ports)
        primary, url = postgres_start(self.data / "postgres", ports["postgres"], database="tribe")
        self.servers.append(primary)
        replica = postgres_replica_start(
            self.data / "postgres-replica", ports["replica"], primary_port=ports["postgres"]
        )
        self.servers.append(replica)
        redis, redis_url = redis_start(self.data / "redis", ports["redis"], persist=True)
        self.servers.append(redis)
        self.servers.append(self._sentinel(ports["sentinel"], ports["redis"]))
        stripe_port = free_port()
        self.ports["stripe"] = stripe_port
        sentinel = f"sentinel://127.0.0.1:{ports['sentinel']}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": url,
            "DATABASE_REPLICA_URL": url.replace(f":{ports['postgres']}/", f":{ports['replica']}/"),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": f"{sentinel}/0",
            "CELERY_RESULT_BACKEND": f"{sentinel}/1",
            "CELERY_SENTINEL_MASTER_NAME": SENTINEL_MASTER,
            "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
            "STRIPE_JS_URL": f"http://127.0.0.1:{stripe_port}/js.stripe.com/v3/",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            "NUM_PROXIES": "1",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def _sentinel(self, port: int, redis_port: int) -> Server:
        directory = self.data / "sentinel"
        directory.mkdir(exist_ok=True)
        conf = directory / "sentinel.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {redis_port} 1\n"
            f"sentinel down-after-milliseconds {SENTINEL_MASTER} 2000\n"
        )
        log = self.data / "sentinel.log"
        server = Server("Redis Sentinel", port, log)
        with open(log, "a") as out:
            server.process = subprocess.Popen(
                [str(redis_server_bin()), str(conf), "--sentinel"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
            )  # fmt: skip
        server._wait_ready(lambda: _answers(port), timeout=30)
        return server

    def _manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
            capture_output=True, text=True,
        )  # fmt: skip

    def _prepare(self) -> None:
        self._manage("migrate", "--noinput")
        self._manage("seed_demo")

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.data / f"{name}.log", "a")  # noqa: SIM115 (kept open for the process)
        # PGAPPNAME: the node's PostgreSQL sessions carry its name (pg_stat_activity).
        self.nodes[name] = subprocess.Popen(
            argv, cwd=ROOT, env={**self.env, "PGAPPNAME": name}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )  # fmt: skip

    def _start_nodes(self) -> None:
        bin_dir = Path(sys.executable).parent
        web_ports = [free_port(), free_port()]
        for number, web_port in enumerate(web_ports, start=1):
            self.ports[f"web{number}"] = web_port
            self._spawn(
                f"web{number}",
                [
                    str(bin_dir / "gunicorn"), "-c", "config/gunicorn.py",
                    "config.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
                    "--worker-class", "gthread", "--workers", "2", "--threads", "8",
                    "--graceful-timeout", "10",
                ],
            )  # fmt: skip
        for number in (1, 2):
            self._spawn(
                f"worker{number}",
                [
                    str(bin_dir / "celery"), "-A", "config", "worker", "--loglevel=INFO",
                    "--concurrency=2", "--pool=prefork", "-Q", QUEUES,
                    "-n", f"worker{number}@%h",
                ],
            )  # fmt: skip
            self._spawn(f"beat{number}", [str(bin_dir / "celery"), "-A", "config", "beat"])
        self._spawn(
            "stripe",
            [
                sys.executable, "-m", "devtools.stripe_emulator",
                "--port", str(self.ports["stripe"]),
                "--webhook-url", f"http://127.0.0.1:{self.port}/api/v1/webhooks/stripe/",
            ],
        )  # fmt: skip
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} for the balancer is in use")
        self._spawn(
            "balancer",
            [
                sys.executable, "-m", "devtools.cluster", "--port", str(self.port),
                "--balance-to", ",".join(str(port) for port in web_ports),
            ],
        )  # fmt: skip
        self._wait_healthy([*web_ports, self.ports["stripe"], self.port])

    def _wait_healthy(self, ports: list[int], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(ports)
        while waiting and time.monotonic() < deadline:
            for name, process in self.nodes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited at start; see {self.data / name}.log")
            waiting = {port for port in waiting if not _answers(port)}
            time.sleep(0.2)
        if waiting:
            raise RuntimeError(f"ports {sorted(waiting)} did not answer in {timeout:.0f}s")

    def kill(self, name: str) -> None:
        """SIGKILL a node and everything in its session (a gunicorn master and its workers)."""
        process = self.nodes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def psql(self, sql: str, *, replica: bool = False) -> str:
        from devtools.stack.servers import postgres_bin

        port = self.ports["replica" if replica else "postgres"]
        return subprocess.run(
            [
                str(postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U",
                "postgres", "-d", "tribe", "-tAc", sql,
            ],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    def pids(self) -> dict[str, int]:
        """The process at the root of each node: a node's children (gunicorn and Celery
        workers, PostgreSQL backends) are its descendants."""
        stores = dict(zip(("postgres", "replica", "redis", "sentinel"), self.servers, strict=False))
        pids = {name: server.process.pid for name, server in stores.items() if server.process}
        return {**pids, **{name: process.pid for name, process in self.nodes.items()}}

    def money_counts(self, order_ids: list[int]) -> dict[str, int]:
        """What must hold once for these orders: the paid ones, their `orders.order_paid`
        events (all and distinct orders), their lines and commission lines (all and
        distinct lines), and the outbox deliveries anywhere not done yet."""
        if not order_ids:
            return dict.fromkeys(MONEY_COUNTS, 0)
        ids = ",".join(str(int(order_id)) for order_id in order_ids)
        row = self.psql(
            f"SELECT (SELECT count(*) FROM orders_order WHERE id IN ({ids}) AND status = 'paid'),"
            " e.n, e.orders, (SELECT count(*) FROM orders_orderline l JOIN orders_order o"
            f" ON o.id = l.order_id WHERE o.id IN ({ids}) AND o.status = 'paid'), c.n, c.lines,"
            " (SELECT count(*) FROM common_outboxdelivery WHERE done_at IS NULL)"
            " FROM (SELECT count(*) n, count(DISTINCT payload->>'order_id') orders"
            " FROM common_outboxevent WHERE name = 'orders.order_paid'"
            f" AND (payload->>'order_id')::int IN ({ids})) e,"
            " (SELECT count(*) n, count(DISTINCT order_line_id) lines"
            " FROM creators_commissionline c JOIN orders_orderline l ON l.id = c.order_line_id"
            f" WHERE c.kind = 'commission' AND l.order_id IN ({ids})) c"
        )
        return dict(zip(MONEY_COUNTS, (int(n) for n in row.split("|")), strict=True))

    def stop(self) -> None:
        for process in reversed(list(self.nodes.values())):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.nodes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for server in reversed(self.servers):
            server.stop()


def balance(port: int, backends: list[int]) -> int:
    """The balancer as a node of its own, until SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    balancer = Balancer(port, backends)
    balancer.start()
    stop.wait()
    balancer.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.cluster")
    parser.add_argument("--data", default=str(ROOT / "var" / "cluster"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", 8000)))
    parser.add_argument(
        "--balance-to", help="only the balancer: on --port, to these comma-separated ports"
    )
    args = parser.parse_args(argv)
    if args.balance_to:
        return balance(args.port, [int(port) for port in args.balance_to.split(",")])
    data = Path(args.data).resolve()
    # A fresh cluster each run: a replica must be copied from the primary it follows.
    shutil.rmtree(data, ignore_errors=True)
    cluster = Cluster(data, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cluster.start()
    print(f"cluster: http://127.0.0.1:{args.port} (balancer) ports {cluster.ports}", flush=True)
    print(f"cluster: logs in {cluster.data}; Ctrl-C stops every node", flush=True)
    exited: set[str] = set()
    try:
        while not stop.is_set():
            for name, process in cluster.nodes.items():
                if name not in exited and process.poll() is not None:
                    exited.add(name)
                    print(f"cluster: {name} exited ({process.returncode})", flush=True)
            stop.wait(5)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers every benchmark shares: the bench database, a gunicorn server, wrk, results files.

Speed is reported as ratios against a baseline measured by the same server in the same
minute, so a slower or busier machine moves both numbers together.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
SETTINGS_MODULE = "config.settings.bench"

# Two cores run gunicorn, wrk, PostgreSQL and Redis together. A worker process per core keeps
# both cores busy with Python; a few threads per worker overlap each request's waits on
# PostgreSQL and Redis (the GIL is released there) and keep wrk's connections alive, which
# sync workers cannot do (they close the connection after every response).
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
DEFAULT_CONNECTIONS = 16
WRK_THREADS = 2


class BenchError(RuntimeError):
    """A benchmark could not produce a trustworthy number."""


# --- Command line -----------------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every benchmark understands."""
    parser.add_argument("--smoke", action="store_true", help="seconds-long run to check wiring")
    parser.add_argument("--duration", type=int, help="seconds per measurement (default 15)")
    parser.add_argument("--warmup", type=int, help="seconds of unmeasured load before each")
    parser.add_argument(
        "--rounds", type=int, help="alternate the measured URLs this many times (default 3)"
    )
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep the bench database if it is already seeded"
    )


def durations(args: argparse.Namespace) -> tuple[int, int, int]:
    """Seconds per measurement, seconds of warm-up, and rounds, for these arguments."""
    if args.smoke:
        duration, warmup, rounds = args.duration or 2, 1, args.rounds or 1
    else:
        duration, warmup, rounds = args.duration or 15, 3, args.rounds or 3
    warmup = args.warmup if args.warmup is not None else warmup
    return duration, warmup, max(1, min(rounds, duration))


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


# --- Django, database and cache --------------------------------------------


def django_setup() -> None:
    """Configure Django in this process with the bench settings."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _database() -> dict[str, Any]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        raise BenchError(f"The benchmarks need PostgreSQL, not {db['ENGINE']}.")
    if "bench" not in db["NAME"]:
        raise BenchError(
            f"Refusing to recreate database {db['NAME']!r}: its name must contain 'bench'. "
            "Unset DATABASE_URL or point it at a throwaway database."
        )
    return db


def _admin_connection() -> Any:
    import psycopg

    db = _database()
    return psycopg.connect(
        dbname="postgres",
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=True,
    )


def database_exists() -> bool:
    name = _database()["NAME"]
    with _admin_connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def prepare_database(*, reuse: bool = False) -> bool:
    """Make the bench database current; True if it was recreated empty.

    With `reuse`, an existing database is only migrated forward (other people's new
    migrations included) and keeps its rows; otherwise it is dropped and created afresh.
    """
    from django.core.management import call_command
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    fresh = not (reuse and database_exists())
    if fresh:
        name = sql.Identifier(_database()["NAME"])
        with _admin_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    call_command("migrate", interactive=False, verbosity=0)
    return fresh


def _redis() -> Any:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


def cache_keys(pattern: str = "*") -> list[bytes]:
    """Keys of the bench cache (only its own prefix) that match `pattern`."""
    from django.conf import settings

    client = _redis()
    return list(client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*{pattern}", count=1000))


def cache_clear() -> int:
    """Delete the bench cache's keys; other users of the same Redis db are left alone."""
    keys = cache_keys()
    if keys:
        _redis().delete(*keys)
    return len(keys)


# --- The server -------------------------------------------------------------


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


# --- Load -------------------------------------------------------------------


@dataclass
class WrkResult:
    url: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    seconds: int
    connections: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"Unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/sec, p50/p99 latency (ms), request and error counts from `wrk --latency`."""

    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    rps = find(r"^Requests/sec:\s+([\d.]+)")
    p50 = find(r"^\s+50%\s+(\S+)")
    p99 = find(r"^\s+99%\s+(\S+)")
    total = find(r"^\s+(\d+) requests in")
    if not (rps and p50 and p99 and total):
        raise BenchError(f"Unreadable wrk output:\n{output}")
    non_2xx = find(r"Non-2xx or 3xx responses:\s+(\d+)")
    sockets = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return {
        "rps": float(rps.group(1)),
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
        "requests": int(total.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in sockets.groups()) if sockets else 0,
    }


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk; `make bench` does).")
    return path


def run_wrk(url: str, *, seconds: int, connections: int = DEFAULT_CONNECTIONS) -> WrkResult:
    """Load `url` for `seconds` with wrk; any non-2xx answer makes the number worthless."""
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError(f"Load goes to 127.0.0.1 only, not {url}")
    command = [
        wrk_path(),
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    parsed = parse_wrk(done.stdout)
    if parsed["non_2xx"]:
        raise BenchError(f"{parsed['non_2xx']} non-2xx answers from {url}:\n{done.stdout}")
    return WrkResult(url=url, seconds=seconds, connections=connections, **parsed)


def _jiffies(path: str) -> list[str]:
    return Path(path).read_text().rpartition(")")[2].split()


def cpu_seconds(server: Server, database: str = "") -> dict[str, float]:
    """CPU seconds used so far by the whole machine and by each party to the measurement.

    Processes that exit in between are counted in "machine" only, so "other" (machine minus
    the parties) also covers whatever else ran: other people's tests on a shared box.
    """
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    used = {"machine": (sum(fields[:8]) - idle) / tick}
    server_pid = server.process.pid if server.process else -1
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_fields = _jiffies(f"{entry}/stat")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        pid, ppid = int(entry.name), int(stat_fields[1])
        program = Path(command.split(" ", 1)[0]).name
        if server_pid in (pid, ppid):
            group = "server"
        elif database and command.startswith("postgres:") and f" {database} " in command:
            group = "postgres"
        elif program in ("redis-server", "wrk"):
            group = program.removesuffix("-server")
        else:
            continue
        used[group] = used.get(group, 0.0) + (int(stat_fields[11]) + int(stat_fields[12])) / tick
    return used


def wait_idle(server: Server, timeout: float = 10) -> None:
    """Wait until the server has finished the requests a stopped wrk left in flight."""
    previous = cpu_seconds(server).get("server", 0.0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        current = cpu_seconds(server).get("server", 0.0)
        if current - previous < 0.02:
            return
        previous = current


@dataclass
class Measurement:
    """One URL measured over several rounds, alternating with the other URLs of its server."""

    label: str
    path: str
    rounds: list[WrkResult]
    cpu_cores: dict[str, float]

    @property
    def rps(self) -> float:
        return statistics.fmean(r.rps for r in self.rounds)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> float:
        return max(r.p99_ms for r in self.rounds)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    @property
    def cpu_ms_per_request(self) -> float:
        """Server, PostgreSQL and Redis CPU per request: the cost the load did not hide."""
        seconds = sum(r.seconds for r in self.rounds)
        cores = sum(self.cpu_cores.get(group, 0.0) for group in ("server", "postgres", "redis"))
        return cores * seconds / self.requests * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "cpu_cores": self.cpu_cores,
            "rounds": [asdict(r) for r in self.rounds],
        }


def measure(
    server: Server,
    paths: dict[str, str],
    *,
    seconds: int,
    warmup: int,
    rounds: int,
    connections: int = DEFAULT_CONNECTIONS,
) -> dict[str, Measurement]:
    """Warm each path up unmeasured, then measure them in turn, `rounds` times over.

    Alternating keeps a burst of outside load from landing on one URL only: each URL gets
    `seconds / rounds` per round, and every ratio compares neighbours in time.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]["NAME"]
    for path in paths.values():
        status, body = http_get(server.url(path))
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body[:500]!r}")
        if warmup:
            run_wrk(server.url(path), seconds=warmup, connections=connections)
    results: dict[str, list[WrkResult]] = {label: [] for label in paths}
    cpu: dict[str, dict[str, float]] = {label: {} for label in paths}
    elapsed: dict[str, float] = dict.fromkeys(paths, 0.0)
    for _ in range(rounds):
        for label, path in paths.items():
            wait_idle(server)
            before, started = cpu_seconds(server, database), time.monotonic()
            results[label].append(
                run_wrk(
                    server.url(path), seconds=max(1, seconds // rounds), connections=connections
                )
            )
            after = cpu_seconds(server, database)
            elapsed[label] += time.monotonic() - started
            for group, used in after.items():
                spent = cpu[label].get(group, 0.0) + used - before.get(group, 0.0)
                cpu[label][group] = spent
    measurements = {}
    for label, path in paths.items():
        cores = {group: used / elapsed[label] for group, used in cpu[label].items()}
        parties = sum(v for k, v in cores.items() if k != "machine")
        cores["other"] = max(0.0, cores.get("machine", 0.0) - parties)
        measurements[label] = Measurement(label, path, results[label], cores)
    return measurements


# --- Results ----------------------------------------------------------------


def table_row(
    label: str, measured: Measurement, ratio: float | None, **leading: Any
) -> dict[str, Any]:
    """One printed-table row of a measurement; `leading` columns come first."""
    return {
        **leading,
        "url": label,
        "rps": measured.rps,
        "÷ bare": ratio,
        "p50 ms": measured.p50_ms,
        "p99 ms": measured.p99_ms,
        "cpu ms/req": measured.cpu_ms_per_request,
        "other cores": measured.cpu_cores.get("other"),
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write bench/results/<name>.json (stamped with the time and machine) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    stamped = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(stamped, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as an aligned text table, floats to two decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}"
        return "" if value is None else str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))

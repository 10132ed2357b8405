"""Load and what it measured: wrk against a `Server`, CPU accounting, rounds in turns.

wrk runs (plain, or with a Lua script and its arguments) and their output parsed into a
`WrkResult`; the CPU the server, PostgreSQL, Redis, wrk and everything else used, read from
/proc; `measure` and `measure_rounds` load a server's URLs in turns, round after round, into
one `Measurement` per URL; `table_row` prints one.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import DEFAULT_CONNECTIONS, WRK_THREADS, BenchError
from bench.server import Server, http_get

# --- wrk --------------------------------------------------------------------


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


def run_wrk_script(
    url: str,
    *,
    seconds: int,
    connections: int,
    script: Path | None = None,
    script_args: tuple[str, ...] = (),
    allow_errors: bool = False,
) -> WrkResult:
    """`run_wrk` plus `-s script -- args`; 4xx/5xx answers may be allowed."""
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError(f"Load goes to 127.0.0.1 only, not {url}")
    command = [wrk_path(), f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s"]
    command += ["--timeout", "10s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    command += [url, "--", *script_args] if script_args else [url]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if completed.returncode != 0:
        raise BenchError(
            f"wrk failed ({completed.returncode}): {completed.stderr or completed.stdout}"
        )
    output = completed.stdout
    parsed = parse_wrk(output)
    if parsed["non_2xx"] and not allow_errors:
        raise BenchError(f"{parsed['non_2xx']} non-2xx/3xx answers from {url}:\n{output}")
    if parsed["socket_errors"]:
        raise BenchError(f"{parsed['socket_errors']} socket errors loading {url}:\n{output}")
    return WrkResult(url=url, seconds=seconds, connections=connections, **parsed)


# --- CPU --------------------------------------------------------------------


def _jiffies(path: str) -> list[str]:
    return Path(path).read_text().rpartition(")")[2].split()


def cpu_snapshot(server: Server, database: str = "") -> dict[tuple[str, int], float]:
    """CPU seconds used so far by the whole machine (`("machine", 0)`) and by each process of
    each party to the measurement, by (party, pid); `cpu_between` makes two of them a
    measurement.
    """
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    used = {("machine", 0): (sum(fields[:8]) - idle) / tick}
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
        used[(group, pid)] = (int(stat_fields[11]) + int(stat_fields[12])) / tick
    return used


def cpu_between(
    before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]
) -> dict[str, float]:
    """CPU seconds each party used from `before` to `after`, process by process: one started
    since counts whole. One that ended in between is left out, its time since `before` lost
    with it (it shows in "other", from the machine's count): subtracting its whole life
    instead, as a sum per party did, took a PostgreSQL backend's minutes of CPU off the
    round in which Django closed it (`CONN_MAX_AGE`), and a round's CPU came out negative.
    """
    used: dict[str, float] = {}
    for key, seconds in after.items():
        used[key[0]] = used.get(key[0], 0.0) + seconds - before.get(key, 0.0)
    return used


def cpu_seconds(server: Server, database: str = "") -> dict[str, float]:
    """CPU seconds used so far by the whole machine and by each party's live processes.

    Processes that exit in between are counted in "machine" only, so "other" (machine minus
    the parties) also covers whatever else ran: other tests on a shared box.
    """
    return cpu_between({}, cpu_snapshot(server, database))


def tree_cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process and all its descendants.

    Each live process counts its own time plus that of the children it has reaped
    (cutime, cstime): a PostgreSQL backend that ended, a gunicorn or Celery child that was
    replaced. A root that is gone is left out (its time is lost with it).
    """
    tick = os.sysconf("SC_CLK_TCK")
    own: dict[int, float] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _jiffies(f"{entry}/stat")
        except OSError:
            continue
        pid = int(entry.name)
        own[pid] = sum(int(n) for n in fields[11:15]) / tick  # utime stime cutime cstime
        children.setdefault(int(fields[1]), []).append(pid)
    used = {}
    for name, root in roots.items():
        if root not in own:
            continue
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += own.get(pid, 0.0)
            stack.extend(children.get(pid, ()))
        used[name] = total
    return used


def children_cpu_seconds(root: int) -> dict[int, tuple[str, float]]:
    """Each live child of `root`: what its command line says it is (the first two words,
    "postgres: walsender", "postgres: checkpointer") and the CPU seconds it has used."""
    tick = os.sysconf("SC_CLK_TCK")
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _jiffies(f"{entry}/stat")
            if int(fields[1]) != root:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        kind = " ".join(command.split()[:2])
        children[int(entry.name)] = (kind, sum(int(n) for n in fields[11:15]) / tick)
    return children


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has used (every core, everyone's processes)."""
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


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


# --- Measurements -----------------------------------------------------------


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
    for path in paths.values():
        status, body = http_get(server.url(path))
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body[:500]!r}")
        if warmup:
            run_wrk(server.url(path), seconds=warmup, connections=connections)
    per_round = max(1, seconds // rounds)

    def loader(path: str) -> Callable[[int], WrkResult]:
        return lambda _round: run_wrk(server.url(path), seconds=per_round, connections=connections)

    runs = {label: (path, loader(path)) for label, path in paths.items()}
    return measure_rounds(server, runs, rounds=rounds)


def measure_rounds(
    server: Server, runs: dict[str, tuple[str, Callable[[int], WrkResult]]], *, rounds: int
) -> dict[str, Measurement]:
    """Load each run in turn, `rounds` times over, with the CPU each party used meanwhile.

    `runs` maps a label to its path and a function that loads it once, given the round's
    index; `measure` shapes plain wrk runs, a caller with a script or state shapes its own.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]["NAME"]
    results: dict[str, list[WrkResult]] = {label: [] for label in runs}
    cpu: dict[str, dict[str, float]] = {label: {} for label in runs}
    elapsed: dict[str, float] = dict.fromkeys(runs, 0.0)
    for round_index in range(rounds):
        for label, (_path, run) in runs.items():
            wait_idle(server)
            before, started = cpu_snapshot(server, database), time.monotonic()
            results[label].append(run(round_index))
            after = cpu_snapshot(server, database)
            elapsed[label] += time.monotonic() - started
            for group, used in cpu_between(before, after).items():
                cpu[label][group] = cpu[label].get(group, 0.0) + used
    measurements = {}
    for label, (path, _run) in runs.items():
        cores = {group: used / elapsed[label] for group, used in cpu[label].items()}
        parties = sum(v for k, v in cores.items() if k != "machine")
        cores["other"] = max(0.0, cores.get("machine", 0.0) - parties)
        measurements[label] = Measurement(label, path, results[label], cores)
    return measurements


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

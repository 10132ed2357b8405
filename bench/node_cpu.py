"""CPU per node of the multi-node harness, read from /proc while a benchmark loads it.

`Sampler` reads each node's whole process tree (`bench.load.tree_cpu_seconds`) four times
a second, keeping a killed node's last reading, and follows the primary's backends one by
one, naming each by the node it serves (the harness starts every node with PGAPPNAME set
to its name). `used_between` turns two readings into each node's share, the cluster's
total and what the rest of the machine used; `per_node` into figures per checkout.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from bench.load import children_cpu_seconds, machine_cpu_seconds, tree_cpu_seconds

# The order of the report; the Stripe emulator stands in for Stripe, outside the service.
NODES = (
    "web1", "web2", "balancer", "worker1", "worker2", "beat1", "beat2", "postgres", "replica",
    "redis", "sentinel",
)  # fmt: skip
CLUSTER = "cluster (all the nodes above)"


class Sampler:
    """Each node's CPU seconds four times a second; a killed node keeps its last reading.

    The primary's children are followed one by one, each backend named by the node it
    serves (the harness sets PGAPPNAME; pg_stat_activity says which backend is whose), so
    the primary's CPU can be split by node. A backend that lived less than a sampling
    interval is not seen: its time shows as "unattributed (ended unseen)".
    """

    def __init__(self, pids: dict[str, int], primary_url: str) -> None:
        import psycopg

        self.pids = pids
        self._activity = psycopg.connect(
            primary_url, autocommit=True, application_name="bench sampler"
        )
        self.last: dict[str, float] = {}
        self.backends: dict[int, list[Any]] = {}  # pid: [label, cpu when first seen, last cpu]
        self.loads: list[float] = []
        self._marked: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def read(self) -> dict[str, float]:
        with self._lock:
            self.last.update(tree_cpu_seconds(self.pids))
            names = dict(
                self._activity.execute(
                    "SELECT pid, application_name FROM pg_stat_activity"
                    " WHERE backend_type = 'client backend'"
                ).fetchall()
            )
            for pid, (kind, cpu) in children_cpu_seconds(self.pids["postgres"]).items():
                seen = self.backends.setdefault(pid, [kind, cpu, cpu])
                if pid in names:
                    seen[0] = f"backends of {names[pid] or '?'}"
                seen[2] = cpu
            return {
                **self.last,
                "fans (this process)": time.process_time(),
                "machine": machine_cpu_seconds(),
            }

    def mark(self) -> None:
        """From here on: each backend seen so far counts only what it uses after this."""
        with self._lock:
            for seen in self.backends.values():
                seen[1] = seen[2]
        self._marked = set(self.backends)

    def primary_split(self, total: float) -> dict[str, float]:
        """The primary's CPU since `mark()` by the node each backend served."""
        split: dict[str, float] = {}
        with self._lock:
            for pid, (label, first, last) in self.backends.items():
                # A backend first seen after the mark started after it: all its time counts.
                used = last - (first if pid in self._marked else 0.0)
                split[label] = split.get(label, 0.0) + used
        split["unattributed (ended unseen, postmaster)"] = total - sum(split.values())
        return dict(sorted(split.items(), key=lambda item: -item[1]))

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.read()
            self.loads.append(os.getloadavg()[0])

    def __enter__(self) -> Sampler:
        self.read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._activity.close()


def used_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What each node used between two readings, in the report's order, with the cluster's
    total and what the rest of the machine used (other processes)."""
    used = {k: after[k] - before.get(k, 0.0) for k in (*NODES, *after) if k in after}
    used[CLUSTER] = sum(used.get(k, 0.0) for k in NODES)
    parties = used[CLUSTER] + used.get("stripe", 0.0) + used["fans (this process)"]
    used["other (outside the cluster)"] = max(0.0, used["machine"] - parties)
    return used


def primary_sessions(cluster: Any) -> dict[str, int]:
    """Sessions opened on the primary's database so far, and transactions committed."""
    row = cluster.psql(
        "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()"
    )
    sessions, transactions = (int(n) for n in row.split("|"))
    return {"sessions": sessions, "transactions": transactions}


def per_node(
    used: dict[str, float],
    idle: dict[str, float],
    *,
    paid: int,
    seconds: float,
    idle_seconds: float,
) -> dict[str, dict[str, float]]:
    """Each node's CPU: in all, per completed checkout, in cores, and idle per second."""
    rows = {}
    for name, cpu in used.items():
        rows[name] = {
            "cpu_s": cpu,
            "cpu_ms_per_checkout": cpu / paid * 1000 if paid else 0.0,
            "cores": cpu / seconds,
            "idle_cpu_ms_per_s": idle.get(name, 0.0) / idle_seconds * 1000,
            "checkouts_per_core_second": paid / cpu if cpu > 0 else 0.0,
        }
    return rows

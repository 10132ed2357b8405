"""gunicorn settings shared by `make run` and deployments: Prometheus multiprocess bookkeeping.

With `PROMETHEUS_MULTIPROC_DIR` set, every worker process writes its metrics to files in
that directory and `/metrics` adds them up. The directory must exist and be empty when the
master starts (a fresh emptyDir/tmpfs in a container; `make run` clears var/prometheus).
"""

import os


def on_starting(server) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker) -> None:
    # A dead worker's live gauges stop counting; its counters stay in the totals.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

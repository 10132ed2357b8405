"""The benchmarks' CPU accounting between two readings of /proc."""

from __future__ import annotations

from bench.load import cpu_between


def test_a_process_that_ended_in_between_takes_nothing_off_its_party():
    before = {("machine", 0): 100.0, ("postgres", 11): 40.0, ("postgres", 12): 1.0}
    # Backend 11 closed (CONN_MAX_AGE) and 13 opened in its place during the round.
    after = {("machine", 0): 103.0, ("postgres", 12): 1.5, ("postgres", 13): 0.25}

    used = cpu_between(before, after)

    assert used == {"machine": 3.0, "postgres": 0.75}


def test_each_party_sums_its_own_processes():
    before = {("machine", 0): 5.0, ("server", 1): 2.0, ("server", 2): 3.0, ("redis", 3): 1.0}
    after = {("machine", 0): 6.0, ("server", 1): 2.5, ("server", 2): 3.25, ("redis", 3): 1.0}

    assert cpu_between(before, after) == {"machine": 1.0, "server": 0.75, "redis": 0.0}

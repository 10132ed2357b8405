"""The contract fuzzer's fixtures: the seeded world, a savepoint per case, and a tally of
cases and failures printed at the end of the run."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction

from tests.contract.world import World, world_build


@dataclass
class Tally:
    """Cases sent and failed checks per run, so a report can say what the fuzzer did."""

    cases: Counter[str] = field(default_factory=Counter)
    # run -> kind -> the operations that failed that way (Hypothesis replays a failing case
    # while shrinking it, so operations are counted, not attempts).
    failures: defaultdict[str, defaultdict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def lines(self) -> list[str]:
        out = []
        for run in sorted(self.cases):
            kinds = ", ".join(f"{k}: {len(ops)}" for k, ops in sorted(self.failures[run].items()))
            failing = kinds or "none"
            out.append(f"{run}: {self.cases[run]} cases; operations failing by kind: {failing}")
        return out


TALLY = Tally()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.cases:
        terminalreporter.write_sep("-", "API contract fuzzing")
        for line in TALLY.lines():
            terminalreporter.write_line(line)


@pytest.fixture
def contract_world(db, stripe_emulator) -> Iterator[World]:
    """The seeded objects, with requests kept on the test's connection and transaction."""
    # A request's end closes "old" connections, which would close the test's transaction;
    # Django's own test client disconnects the same handler for the same reason.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield world_build()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run a case in a savepoint undone afterwards, so every case meets the same world.

    Marked as a test case's block, as Django's TestCase marks its own, so the services'
    durable transactions open inside it as they do inside any test."""
    atomic = transaction.atomic()
    atomic._from_testcase = True  # type: ignore[attr-defined]
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


def record(run: str, label: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call `call`, counting the case and the kinds of any failed checks under `run`."""
    from schemathesis.core.failures import FailureGroup

    TALLY.cases[run] += 1
    try:
        return call(*args, **kwargs)
    except FailureGroup as group:
        for failure in group.exceptions:
            TALLY.failures[run][failure.title].add(label)
        raise
    except Exception as exc:
        TALLY.failures[run][type(exc).__name__].add(label)
        raise

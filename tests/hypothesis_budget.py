"""The fixed budget the state-machine tests run with: the same sequences on every run."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def state_machine_budget(*, examples: int, steps: int) -> settings:
    """`examples` sequences of up to `steps` steps, derandomized (a fixed seed), with no
    per-example deadline: each step writes to PostgreSQL."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )

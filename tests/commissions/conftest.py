"""Fixtures shared by the commissions tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Run what a service enqueues on commit (a payout's send), as a real commit would."""

    def run(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run

"""Log lines are JSON objects carrying the request id, user, task and order they belong to."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from celery import shared_task

from common.observability import context
from common.observability.logs import ContextFilter, JsonFormatter
from tests.conftest import client_for

probe_logger = logging.getLogger("tests.observability")


@shared_task(name="tests.observability.order_probe")
def order_probe(order_id: int) -> None:
    probe_logger.info("probing order")


class Lines:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[dict]:
        return iter([json.loads(line) for line in self.stream.getvalue().splitlines()])


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """Every record logged during the test, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        # Services called straight from other tests (no request, no task) may have bound an order.
        with context.bound(order_id=None, task_id=None, task_name=None, user_id=None, request=None):
            yield Lines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_a_line_outside_any_request_is_json_with_level_logger_and_message():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    record = logging.LogRecord("tribe.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    handler.handle(record)
    line = json.loads(stream.getvalue())
    assert line["level"] == "WARNING"
    assert line["logger"] == "tribe.x"
    assert line["message"] == "hello you"
    assert line["request_id"] == "-"
    assert "time" in line
    assert "user_id" not in line  # unknown context is left out, not null


@pytest.mark.django_db
def test_an_authenticated_request_logs_its_request_id_and_user(user, json_lines):
    client = client_for(user)
    response = client.get("/api/v1/orders/999999/", HTTP_X_REQUEST_ID="req-abcdef12")
    assert response.status_code == 404
    # Django logs every 4xx on django.request after the view; the line names the caller.
    line = next(line for line in json_lines if line["logger"] == "django.request")
    assert line["request_id"] == "req-abcdef12"
    assert line["user_id"] == user.pk


def test_a_task_logs_its_id_name_and_order(json_lines):
    result = order_probe.apply(args=(4242,), task_id="task-0001")
    assert result.successful()
    line = next(line for line in json_lines if line["message"] == "probing order")
    assert line["task_id"] == "task-0001"
    assert line["task_name"] == "tests.observability.order_probe"
    assert line["order_id"] == 4242


def test_the_task_context_ends_with_the_task(json_lines):
    order_probe.apply(kwargs={"order_id": 7})
    probe_logger.info("after the task")
    after = next(line for line in json_lines if line["message"] == "after the task")
    assert "task_id" not in after
    assert "order_id" not in after


def test_an_order_bound_in_a_service_reaches_later_lines_of_the_same_work(json_lines):
    with context.bound(order_id=None):
        context.order_bind(55)
        probe_logger.info("inside")
    probe_logger.info("outside")
    inside = next(line for line in json_lines if line["message"] == "inside")
    outside = next(line for line in json_lines if line["message"] == "outside")
    assert inside["order_id"] == 55
    assert "order_id" not in outside


def test_the_log_format_setting_refuses_an_unknown_value():
    import subprocess
    import sys

    from tests.config.test_settings import ROOT

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_FORMAT": "xml", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr

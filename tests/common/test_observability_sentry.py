"""sentry-sdk reports errors only when SENTRY_DSN is set."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.config.test_settings import ROOT

PROBE = (
    "import django; django.setup(); import sentry_sdk;"
    "client = sentry_sdk.get_client();"
    "print(client.is_active());"
    "print(sorted(getattr(client, 'integrations', {})));"
    "print(client.options.get('send_default_pii'))"
)


def run_probe(**env: str) -> list[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_without_a_dsn_sentry_stays_off():
    assert run_probe()[0] == "False"


def test_with_a_dsn_sentry_reports_django_and_celery_errors_without_personal_data():
    # The DSN's host is never contacted: nothing is captured in this process.
    active, integrations, pii = run_probe(SENTRY_DSN="http://public@127.0.0.1:9/1")
    assert active == "True"
    assert "'django'" in integrations
    assert "'celery'" in integrations
    assert pii == "False"

"""Production refuses to start half-configured and passes `check --deploy` when configured."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x7!Kq2#pL9@vR4$wT8^yU3&zN6*mB1(cD5)eF0-gH7+jJ2=kL4_xQ9",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tribe",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "api.tribe.example",
    "STRIPE_API_KEY": "sk_live_example",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
}


def manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_passes_check_deploy_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "STRIPE_WEBHOOK_SECRET"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_malformed_env_value_names_the_variable():
    result = manage("check", env={**PRODUCTION_ENV, "CONN_MAX_AGE": "soon"})
    assert result.returncode != 0
    assert "CONN_MAX_AGE is malformed" in result.stderr


PRINT_NUM_PROXIES = (
    "from django.conf import settings; print(settings.REST_FRAMEWORK['NUM_PROXIES'])"
)


def num_proxies(env: dict[str, str]) -> str:
    result = manage(
        "shell",
        "-c",
        PRINT_NUM_PROXIES,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_num_proxies_comes_from_the_environment_and_defaults_to_trusting_none():
    assert num_proxies({}) == "0"
    assert num_proxies({"NUM_PROXIES": "2"}) == "2"
    # The deprecated click setting still means "one proxy in front".
    assert num_proxies({"CLICK_TRUST_X_FORWARDED_FOR": "True"}) == "1"

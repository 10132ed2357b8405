"""Tests: the real PostgreSQL and Redis at their local defaults (overridable by env)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    celery_transport_options,
    connection_lifetime,
    env,
    env_value,
    psycopg_prepared,
    replica_add,
)

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789"
ALLOWED_HOSTS = ["*"]

DATABASES = {
    "default": env_value(
        env.db_url, "DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/tribe"
    )
}
connection_lifetime(DATABASES["default"])
psycopg_prepared(DATABASES["default"])
replica_add(DATABASES)
REDIS_URL = env_value(env.str, "REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES = {
    "default": {
        "BACKEND": "common.cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "tribe-test",
    }
}
CELERY_BROKER_URL = env_value(env.str, "CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env_value(env.str, "CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = celery_transport_options(
    CELERY_BROKER_URL, CELERY_RESULT_BACKEND
)
# Logic tests run tasks eagerly; the worker tests start a real worker process instead.
CELERY_TASK_ALWAYS_EAGER = env_value(env.bool, "CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True

# The feed tests serve feeds from a real HTTP server on 127.0.0.1.
FEED_ALLOW_LOOPBACK = True
# Outbound webhooks keep production's URL rules by default, so the rule tests mean something;
# the receiver fixtures turn them off per test, and the real worker (tests/conftest.py) gets
# them through its environment for its plain-http receiver on 127.0.0.1.
WEBHOOK_ALLOW_LOOPBACK = env_value(env.bool, "WEBHOOK_ALLOW_LOOPBACK", default=False)
WEBHOOK_REQUIRE_HTTPS = env_value(env.bool, "WEBHOOK_REQUIRE_HTTPS", default=True)
WEBHOOK_RETRY_BASE_SECONDS = env_value(env.int, "WEBHOOK_RETRY_BASE_SECONDS", default=30)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

STRIPE_API_KEY = env_value(env.str, "STRIPE_API_KEY", default="sk_test_local_emulator")
STRIPE_PUBLISHABLE_KEY = "pk_test_local_emulator"
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
STRIPE_API_BASE = env_value(env.str, "STRIPE_API_BASE", default="http://127.0.0.1:8421")

REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/min",
        "user": "100000/min",
        "auth": "100000/min",
        "checkout": "100000/min",
        "clicks": "100000/min",
    },
}
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

"""Benchmarks: production-like serving (no debug, JSON only) on a throwaway database and Redis db.

`bench/` starts gunicorn with these settings; `make bench` recreates the database named here,
so it must be one that holds nothing else (the bench helpers refuse a name without "bench").
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import env, env_value, psycopg_prepared, replica_add

DEBUG = False
SECRET_KEY = "bench-only-secret-key-not-used-anywhere-else-0123456789abcdef"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "config.bench_urls"

DATABASES = {
    "default": env_value(
        env.db_url, "DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/tribe_bench"
    )
}
psycopg_prepared(DATABASES["default"])
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# As in production: every worker thread keeps its connection between requests, and no
# health check runs before each request's first query (config/settings/production.py).
DATABASES["default"]["CONN_MAX_AGE"] = env_value(env.int, "CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_value(
    env.bool, "CONN_HEALTH_CHECKS", default=False
)
replica_add(DATABASES)

REDIS_URL = env_value(env.str, "REDIS_URL", default="redis://127.0.0.1:6379/11")
CACHE_KEY_PREFIX = "tribe-bench"
CACHES = {
    "default": {
        "BACKEND": "common.cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}  # noqa: F405

STRIPE_API_KEY = "sk_test_bench"
STRIPE_PUBLISHABLE_KEY = "pk_test_bench"
STRIPE_WEBHOOK_SECRET = "whsec_bench"
# The journey benchmark points checkout at its Stripe emulator (or a delaying proxy).
STRIPE_API_BASE = env_value(env.str, "STRIPE_API_BASE", default="http://127.0.0.1:9")

REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
if not env_value(env.bool, "BENCH_PRODUCTION_THROTTLES", default=False):
    # Every wrk request comes from one address: a real throttle would answer 429 within a
    # second, and a huge rate would make its per-client history list grow to tens of
    # thousands of timestamps, re-pickled on each request. Neither is what we measure. The
    # journey benchmark's fans come as distinct clients (NUM_PROXIES=1 and X-Forwarded-For)
    # and keep production's throttles.
    # Every scope stays named, with no rate: a view's own scoped throttle (checkout's) lets
    # everything through instead of failing to find its scope.
    REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(
        REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    )
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGGING = {
    **LOGGING,  # noqa: F405
    "root": {"handlers": ["console"], "level": "WARNING"},
}

"""Production: no defaults for secrets, HTTPS everywhere, refuses to start half-configured."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import celery_transport_options, env, env_value, replica_add

DEBUG = False


def _required(name: str) -> str:
    value = env_value(env.str, name, default="")
    if not value:
        raise ImproperlyConfigured(f"Environment variable {name} is required in production.")
    return value


SECRET_KEY = _required("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "Environment variable SECRET_KEY must be at least 50 random characters."
    )
_required("DATABASE_URL")
ALLOWED_HOSTS = env_value(env.list, "ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Environment variable ALLOWED_HOSTS is required in production.")
STRIPE_API_KEY = _required("STRIPE_API_KEY")
STRIPE_PUBLISHABLE_KEY = _required("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = _required("STRIPE_WEBHOOK_SECRET")
REDIS_URL = _required("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "common.cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_value(env.str, "CACHE_KEY_PREFIX", default="tribe"),
    }
}
CELERY_BROKER_URL = env_value(env.str, "CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env_value(env.str, "CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = celery_transport_options(
    CELERY_BROKER_URL, CELERY_RESULT_BACKEND
)

DATABASES["default"]["CONN_MAX_AGE"] = env_value(env.int, "CONN_MAX_AGE", default=60)  # noqa: F405
# A health check is one more round trip (SELECT 1) on every request that uses the database;
# connections live at most CONN_MAX_AGE seconds, so without it a database restart costs each
# worker thread one failed request, after which Django drops the broken connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_value(  # noqa: F405
    env.bool, "CONN_HEALTH_CHECKS", default=False
)
replica_add(DATABASES)  # noqa: F405  (again, to take the connection settings above)

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_value(env.bool, "SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_value(env.int, "SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

"""`make run`: PostgreSQL and Redis (started from wheels unless configured), the Stripe emulator."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env, env_value

# Off by default so a local run answers as production does (JSON errors, the error pages);
# DEBUG=1 shows Django's debug pages for HTML routes (the API answers JSON either way).
DEBUG = env_value(env.bool, "DEBUG", default=False)
SECRET_KEY = env_value(env.str, "SECRET_KEY", default="local-development-only-not-secret")
ALLOWED_HOSTS = env_value(env.list, "ALLOWED_HOSTS", default=["*"])
DEMO_SEED_ALLOWED = True
STATIC_ROOT = BASE_DIR / "var" / "static"  # noqa: F405

STRIPE_API_KEY = env_value(env.str, "STRIPE_API_KEY", default="sk_test_local_emulator")
STRIPE_PUBLISHABLE_KEY = env_value(
    env.str, "STRIPE_PUBLISHABLE_KEY", default="pk_test_local_emulator"
)
STRIPE_WEBHOOK_SECRET = env_value(env.str, "STRIPE_WEBHOOK_SECRET", default="whsec_local_emulator")
STRIPE_API_BASE = env_value(env.str, "STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_JS_URL = env_value(
    env.str, "STRIPE_JS_URL", default="http://127.0.0.1:8420/js.stripe.com/v3/"
)

# gunicorn serves static files through WhiteNoise straight from the apps (no collectstatic).
WHITENOISE_USE_FINDERS = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

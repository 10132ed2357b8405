"""The embedded default: SQLite, a filesystem broker, the local Stripe emulator."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env, env_value

DEBUG = env_value(env.bool, "DEBUG", default=True)
SECRET_KEY = env_value(env.str, "SECRET_KEY", default="local-development-only-not-secret")
ALLOWED_HOSTS = env_value(env.list, "ALLOWED_HOSTS", default=["*"])

STRIPE_API_KEY = env_value(env.str, "STRIPE_API_KEY", default="sk_test_local_emulator")
STRIPE_PUBLISHABLE_KEY = env_value(
    env.str, "STRIPE_PUBLISHABLE_KEY", default="pk_test_local_emulator"
)
STRIPE_WEBHOOK_SECRET = env_value(env.str, "STRIPE_WEBHOOK_SECRET", default="whsec_local_emulator")
STRIPE_API_BASE = env_value(env.str, "STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_JS_URL = env_value(
    env.str, "STRIPE_JS_URL", default="http://127.0.0.1:8420/js.stripe.com/v3/"
)

"""Settings shared by every environment; everything that varies comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
ENV_FILE = BASE_DIR / ".env"
if ENV_FILE.exists():
    environ.Env.read_env(str(ENV_FILE), overwrite=False)


def env_value(reader, name: str, **kwargs):
    """Read one variable, turning a malformed value into a message that names it."""
    try:
        return reader(name, **kwargs)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # environ raises ValueError/TypeError deep inside parsers
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from exc


# --- Core -----------------------------------------------------------------
DEBUG = env_value(env.bool, "DEBUG", default=False)
SECRET_KEY = env_value(env.str, "SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env_value(env.list, "ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS: list[str] = env_value(env.list, "CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env_value(env.str, "SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# `manage.py seed_demo` writes demo users with a known password: local runs only.
DEMO_SEED_ALLOWED = False

INSTALLED_APPS = [
    # The admin theme (django-unfold) and its integrations come before the apps they restyle.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.inlines",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "import_export",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_celery_beat",
    # Sign-in lockout and one-time passwords for staff (accounts/lockout.py, shop/two_factor.py).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "common",
    "accounts",
    "payments",
    "shop",
    "creators",
    "orders",
    "commissions",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "common.middleware.RequestIdMiddleware",
    "common.middleware.ApiErrorMiddleware",
    "common.replica.ReplicaPinMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "shop.two_factor.AdminTwoFactorMiddleware",
    # The admin in the brand's time zone for its staff (shop/timezones.py).
    "shop.timezones.BrandTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a sign-in that axes locked out into the page or the JSON error (accounts/lockout.py).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orders.web.context.visitor_cart",
            ],
        },
    },
]

# --- Data stores ----------------------------------------------------------
# PostgreSQL and Redis everywhere; `make run` and `make test` start both from wheels when
# these are not set and no server answers at the defaults (devtools/stack).
DATABASES = {
    "default": env_value(
        env.db_url, "DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/tribe"
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False


def connection_lifetime(database: dict) -> dict:
    """How long web and worker processes keep a connection, and whether they check a kept
    one before its first query (CONN_MAX_AGE, CONN_HEALTH_CHECKS), from the environment."""
    database.setdefault("CONN_MAX_AGE", env_value(env.int, "CONN_MAX_AGE", default=0))
    database.setdefault(
        "CONN_HEALTH_CHECKS", env_value(env.bool, "CONN_HEALTH_CHECKS", default=False)
    )
    return database


connection_lifetime(DATABASES["default"])


def psycopg_prepared(database: dict) -> dict:
    """Bind parameters on the server and let psycopg prepare what a connection runs often.

    A statement run DB_PREPARE_THRESHOLD times on a connection is prepared and from then on
    only executed: a hot short query (checkout's hold, a list page) is not planned again on
    every request. Measured against our own PREPARE/EXECUTE by bench/bench_prepared.py.
    A prepared statement lives in its session: no transaction-mode pooler in between.
    """
    database.setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=env_value(env.int, "DB_PREPARE_THRESHOLD", default=5),
    )
    return database


psycopg_prepared(DATABASES["default"])


def replica_add(databases: dict) -> dict:
    """Add the `replica` alias when DATABASE_REPLICA_URL is set: a streaming replica for the
    reads that may lag a little (common/replica.py says which, and when they fall back to the
    primary). Unset, every read goes to the primary. Connection settings follow the primary's.
    """
    url = env_value(env.str, "DATABASE_REPLICA_URL", default="")
    if url:
        replica = psycopg_prepared(env.db_url_config(url))
        for name in ("ATOMIC_REQUESTS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
            if name in databases["default"]:
                replica[name] = databases["default"][name]
        # A replica that does not answer is noticed in two seconds, not the driver's default.
        replica["OPTIONS"].setdefault("connect_timeout", 2)
        databases["replica"] = replica
    return databases


replica_add(DATABASES)
# Which reads may go to the replica, read-your-writes, and the lag limit: common/replica.py.
DATABASE_ROUTERS = ["common.replica.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env_value(env.float, "REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_LAG_CHECK_SECONDS = env_value(env.float, "REPLICA_LAG_CHECK_SECONDS", default=1.0)
REPLICA_RETRY_SECONDS = env_value(env.float, "REPLICA_RETRY_SECONDS", default=5.0)

REDIS_URL = env_value(env.str, "REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "common.cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_value(env.str, "CACHE_KEY_PREFIX", default="tribe"),
    }
}

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
# axes first: a locked-out username and address is refused before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After this many failed sign-ins, a username is locked out from that client address (another
# address is not) for the cool-off time; the address comes through the trusted proxies only.
AXES_FAILURE_LIMIT = env_value(env.int, "LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_value(env.int, "LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "common.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "accounts.lockout.login_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "email"]
PASSWORD_RESET_URL = env_value(
    env.str, "PASSWORD_RESET_URL", default=f"{SITE_URL}/reset-password?uid={{uid}}&token={{token}}"
)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env_value(env.int, "JWT_ACCESS_MINUTES", default=15)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_value(env.int, "JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# --- I18N / static --------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded files (product images) go through the default storage: the file system under
# MEDIA_ROOT here; production may name an object store (django-storages) in STORAGES.
MEDIA_URL = env_value(env.str, "MEDIA_URL", default="/media/")
MEDIA_ROOT = env_value(env.path, "MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Admin theme ------------------------------------------------------------
# django-unfold: the sidebar groups pages by task (config/admin_navigation.py); every
# asset is served from static files, nothing from a CDN.
from config.admin_navigation import is_superuser, sidebar_navigation  # noqa: E402

# unfold's sign-in page posts no `next` field, so a sign-in started at /admin/login/ would
# land on Django's default /accounts/profile/; the admin is the only page that signs in.
LOGIN_REDIRECT_URL = "admin:index"
UNFOLD = {
    "SITE_TITLE": "Tribe admin",
    "SITE_HEADER": "Tribe",
    "SITE_SYMBOL": "storefront",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    # The admin's home: a brand's figures (commissions/admin/dashboard.py).
    "DASHBOARD_CALLBACK": "commissions.admin.dashboard.dashboard_callback",
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": is_superuser,
        "navigation": sidebar_navigation(),
    },
}

# --- Product images -----------------------------------------------------------
# An upload larger than this, or with more pixels (a decompression bomb), is refused.
PRODUCT_IMAGE_MAX_BYTES = env_value(env.int, "PRODUCT_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
PRODUCT_IMAGE_MAX_PIXELS = env_value(env.int, "PRODUCT_IMAGE_MAX_PIXELS", default=40_000_000)
# Widths of the resized copies made of each upload (never wider than the original).
PRODUCT_IMAGE_WIDTHS = (200, 600, 1200)

# --- Email ----------------------------------------------------------------
EMAIL_BACKEND = env_value(
    env.str, "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_value(
    env.str, "DEFAULT_FROM_EMAIL", default="Tribe <no-reply@tribe.local>"
)

# --- REST framework -------------------------------------------------------
# How many proxies in front of us append to X-Forwarded-For (common/client_ip.py). The
# CLICK_TRUST_X_FORWARDED_FOR of earlier releases still means one proxy (deprecated).
NUM_PROXIES = env_value(
    env.int,
    "NUM_PROXIES",
    default=1 if env_value(env.bool, "CLICK_TRUST_X_FORWARDED_FOR", default=False) else 0,
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.IdCursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_CLASSES": [
        "common.throttling.AnonRateThrottle",
        "common.throttling.UserRateThrottle",
    ],
    # Proxies in front of the service that append to X-Forwarded-For; 0 ignores the header.
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_value(env.str, "THROTTLE_ANON", default="120/min"),
        "user": env_value(env.str, "THROTTLE_USER", default="600/min"),
        "auth": env_value(env.str, "THROTTLE_AUTH", default="10/min"),
        "checkout": env_value(env.str, "THROTTLE_CHECKOUT", default="30/min"),
        "clicks": env_value(env.str, "THROTTLE_CLICKS", default="120/min"),
    },
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would ask validator.swagger.io about the schema; nothing leaves the page.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "TITLE": "Tribe API",
    "DESCRIPTION": (
        "Community commerce: creators' storefronts and affiliate links, brands' catalogs, "
        "Stripe checkout. Errors share one envelope; money is a decimal string with a currency; "
        "creating POSTs accept an Idempotency-Key header. See docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ProductStatusEnum": "shop.models.Product.Status",
        "CartStatusEnum": "orders.models.Cart.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "StockSyncRunOriginEnum": "shop.models.StockSyncRun.Origin",
        "StockSyncRunStateEnum": "shop.models.StockSyncRun.State",
        "InventoryFeedFormatEnum": "shop.models.InventoryFeed.Format",
        "RefundStatusEnum": "orders.models.Refund.Status",
        "FulfilmentStatusEnum": "orders.models.Fulfilment.Status",
        "DiscountStatusEnum": "shop.models.Discount.Status",
        "DiscountKindEnum": "shop.models.Discount.Kind",
        "DisputeStatusEnum": "orders.models.Dispute.Status",
    },
}

# Cached public catalog list pages live this long (stock in them is at most this stale).
CATALOG_LIST_CACHE_SECONDS = env_value(env.int, "CATALOG_LIST_CACHE_SECONDS", default=5)

# Idempotency-Key records are kept this long; a repeat inside the window replays the response.
IDEMPOTENCY_TTL = timedelta(hours=24)

# --- Stripe ---------------------------------------------------------------
STRIPE_API_KEY = env_value(env.str, "STRIPE_API_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env_value(env.str, "STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env_value(env.str, "STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env_value(env.str, "STRIPE_API_BASE", default="https://api.stripe.com")
# Stripe's Files API has its own host; empty: the API base's host when that is not Stripe's
# (the local emulator serves both), else https://files.stripe.com.
STRIPE_FILES_BASE = env_value(env.str, "STRIPE_FILES_BASE", default="")
STRIPE_JS_URL = env_value(env.str, "STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_MAX_NETWORK_RETRIES = env_value(env.int, "STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_TIMEOUT_SECONDS = env_value(env.int, "STRIPE_TIMEOUT_SECONDS", default=15)
STRIPE_WEBHOOK_TOLERANCE = 300

# --- Creators -------------------------------------------------------------
LINK_RATE_LOCK_DAYS = env_value(env.int, "LINK_RATE_LOCK_DAYS", default=30)
# Product cards per page of a storefront (`/@handle`, `/@handle/page/N`).
STOREFRONT_PAGE_PRODUCTS = 48
# Deep links: the apps open storefront and link URLs directly.
APPLE_APP_IDS: list[str] = env_value(env.list, "APPLE_APP_IDS", default=[])
ANDROID_APP_PACKAGE = env_value(env.str, "ANDROID_APP_PACKAGE", default="")
ANDROID_CERT_FINGERPRINTS: list[str] = env_value(env.list, "ANDROID_CERT_FINGERPRINTS", default=[])
# Where a request may ask Stripe's Connect onboarding to send the creator back
# (`return_url`, `refresh_url`): `scheme://host` pairs, e.g. `tribe://payouts` for an app's
# deep link. The site itself (SITE_URL) is always allowed.
CONNECT_RETURN_URL_ORIGINS: list[str] = env_value(
    env.list, "CONNECT_RETURN_URL_ORIGINS", default=[]
)

# Clicks: the same client on the same link counts once within this window.
CLICK_UNIQUE_WINDOW_SECONDS = env_value(env.int, "CLICK_UNIQUE_WINDOW_SECONDS", default=3600)
CLICK_RETENTION_DAYS = env_value(env.int, "CLICK_RETENTION_DAYS", default=90)
# Raw clicks are partitioned by UTC day; beat keeps this many days' partitions ready ahead.
CLICK_PARTITIONS_AHEAD_DAYS = env_value(env.int, "CLICK_PARTITIONS_AHEAD_DAYS", default=7)
# Where flushed clicks are written (creators/attribution/sinks.py).
CLICK_SINK = env_value(
    env.str, "CLICK_SINK", default="creators.attribution.clicks.PostgresClickSink"
)
CLICK_HASH_SALT = env_value(env.str, "CLICK_HASH_SALT", default="")
CLICK_KEY_PREFIX = env_value(env.str, "CLICK_KEY_PREFIX", default="tribe")
CLICK_REDIS_TIMEOUT = 0.5
# Each worker process sends its clicks to Redis in one call per this many seconds (or taps).
CLICK_BUFFER_SECONDS = env_value(env.float, "CLICK_BUFFER_SECONDS", default=0.02)
CLICK_BUFFER_SIZE = env_value(env.int, "CLICK_BUFFER_SIZE", default=200)
# How long the redirect may serve a link's target (and sold-out state) from cache.
LINK_CACHE_SECONDS = env_value(env.int, "LINK_CACHE_SECONDS", default=10)

# --- Commissions ----------------------------------------------------------
COMMISSION_HOLD_DAYS = env_value(env.int, "COMMISSION_HOLD_DAYS", default=30)
COMMISSION_PAYOUT_MINIMUM = env_value(env.str, "COMMISSION_PAYOUT_MINIMUM", default="25.00")
# Zero-decimal currencies need their own minimum: 25 yen is not 25 dollars.
COMMISSION_PAYOUT_MINIMUMS = {"JPY": "2500", "KRW": "30000"}
# A link selling above this multiple of its 7-day daily average (with at least the minimum
# orders in 24 h) keeps its rate from dropping, even past its lock.
COMMISSION_VIRAL_MULTIPLE = env_value(env.int, "COMMISSION_VIRAL_MULTIPLE", default=3)
COMMISSION_VIRAL_MIN_ORDERS = env_value(env.int, "COMMISSION_VIRAL_MIN_ORDERS", default=5)
# Tribe's fee, in percent of a brand's sales net of refunds, on its settlement statements.
COMMISSION_PLATFORM_FEE_PERCENT = env_value(env.str, "COMMISSION_PLATFORM_FEE_PERCENT", default="5")
# A creator is flagged to brands above this refund rate (percent) over at least N orders.
COMMISSION_FRAUD_REFUND_RATE = env_value(env.str, "COMMISSION_FRAUD_REFUND_RATE", default="30")
COMMISSION_FRAUD_MIN_ORDERS = env_value(env.int, "COMMISSION_FRAUD_MIN_ORDERS", default=20)
# Fraud rules that hold a new sale's commission for review (commissions/fraud_rules.py), over
# the paid orders of the last COMMISSION_FRAUD_WINDOW_DAYS: one device or address ordering
# through at least _SHARED_CREATORS creators in at least _SHARED_ORDERS orders; a creator with
# at least _NO_CLICK_MIN_ORDERS orders of which more than _NO_CLICK_SHARE percent had no click.
COMMISSION_FRAUD_WINDOW_DAYS = env_value(env.int, "COMMISSION_FRAUD_WINDOW_DAYS", default=30)
COMMISSION_FRAUD_SHARED_ORDERS = env_value(env.int, "COMMISSION_FRAUD_SHARED_ORDERS", default=5)
COMMISSION_FRAUD_SHARED_CREATORS = env_value(env.int, "COMMISSION_FRAUD_SHARED_CREATORS", default=3)
COMMISSION_FRAUD_NO_CLICK_SHARE = env_value(
    env.str, "COMMISSION_FRAUD_NO_CLICK_SHARE", default="90"
)
COMMISSION_FRAUD_NO_CLICK_MIN_ORDERS = env_value(
    env.int, "COMMISSION_FRAUD_NO_CLICK_MIN_ORDERS", default=20
)

# --- Checkout -------------------------------------------------------------
CHECKOUT_HOLD_MINUTES = env_value(env.int, "CHECKOUT_HOLD_MINUTES", default=15)
CART_MAX_LINE_QUANTITY = env_value(env.int, "CART_MAX_LINE_QUANTITY", default=20)
CART_MAX_LINES = 50
# Unknown codes a client may try per window before code lookups answer 429 (anti-guessing).
CODE_LOOKUP_MISSES = env_value(env.int, "CODE_LOOKUP_MISSES", default=10)
CODE_LOOKUP_WINDOW_SECONDS = env_value(env.int, "CODE_LOOKUP_WINDOW_SECONDS", default=600)
# Card testing: declines counted per window for each client IP (hashed), device id, cart and
# card fingerprint; at a limit, that one's payment attempts answer 429 for PAYMENT_BLOCK_SECONDS.
PAYMENT_DECLINES_PER_CLIENT = env_value(env.int, "PAYMENT_DECLINES_PER_CLIENT", default=10)
PAYMENT_DECLINES_PER_DEVICE = env_value(env.int, "PAYMENT_DECLINES_PER_DEVICE", default=6)
PAYMENT_DECLINES_PER_CART = env_value(env.int, "PAYMENT_DECLINES_PER_CART", default=5)
PAYMENT_DECLINES_PER_CARD = env_value(env.int, "PAYMENT_DECLINES_PER_CARD", default=4)
PAYMENT_DECLINE_WINDOW_SECONDS = env_value(env.int, "PAYMENT_DECLINE_WINDOW_SECONDS", default=3600)
PAYMENT_BLOCK_SECONDS = env_value(env.int, "PAYMENT_BLOCK_SECONDS", default=3600)
PAYMENT_GUARD_KEY_PREFIX = env_value(env.str, "PAYMENT_GUARD_KEY_PREFIX", default="tribe")

# --- Inventory feeds ------------------------------------------------------
# Feed URLs may never reach private, loopback or link-local addresses; tests allow loopback.
FEED_ALLOW_LOOPBACK = env_value(env.bool, "FEED_ALLOW_LOOPBACK", default=False)
FEED_CONNECT_TIMEOUT = env_value(env.float, "FEED_CONNECT_TIMEOUT", default=5.0)
FEED_READ_TIMEOUT = env_value(env.float, "FEED_READ_TIMEOUT", default=30.0)
# Wall-clock cap on one download, so a server trickling bytes cannot hold a worker.
FEED_FETCH_DEADLINE = env_value(env.float, "FEED_FETCH_DEADLINE", default=300.0)
FEED_MAX_BYTES = env_value(env.int, "FEED_MAX_BYTES", default=50 * 1024 * 1024)
FEED_MAX_RETRIES = env_value(env.int, "FEED_MAX_RETRIES", default=5)
FEED_RETRY_BASE_SECONDS = env_value(env.int, "FEED_RETRY_BASE_SECONDS", default=30)
FEED_RETRY_MAX_SECONDS = env_value(env.int, "FEED_RETRY_MAX_SECONDS", default=60 * 60)
# A feed's auth header value is read from an environment variable whose name starts with
# this prefix, so a brand can never make Tribe send one of its own secrets to a feed host.
FEED_AUTH_ENV_PREFIX = env_value(env.str, "FEED_AUTH_ENV_PREFIX", default="TRIBE_FEED_AUTH_")
FEED_BATCH_SIZE = env_value(env.int, "FEED_BATCH_SIZE", default=500)

# --- Outbound order webhooks ------------------------------------------------
# Brands' endpoints must be https and never private, loopback or link-local addresses;
# the tests turn on loopback (and plain http) for their local receiver.
WEBHOOK_REQUIRE_HTTPS = env_value(env.bool, "WEBHOOK_REQUIRE_HTTPS", default=True)
WEBHOOK_ALLOW_LOOPBACK = env_value(env.bool, "WEBHOOK_ALLOW_LOOPBACK", default=False)
WEBHOOK_TIMEOUT_SECONDS = env_value(env.float, "WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A delivery is retried with exponential backoff for this long, then marked failed.
WEBHOOK_RETRY_WINDOW = timedelta(hours=env_value(env.int, "WEBHOOK_RETRY_HOURS", default=24))
WEBHOOK_RETRY_BASE_SECONDS = env_value(env.int, "WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env_value(env.int, "WEBHOOK_RETRY_MAX_SECONDS", default=60 * 60)

# --- Celery ---------------------------------------------------------------
# Redis, or Redis behind Sentinel (`sentinel://...`, see config/celery_options.py).
CELERY_BROKER_URL = env_value(env.str, "CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env_value(env.str, "CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_SENTINEL_MASTER_NAME = env_value(env.str, "CELERY_SENTINEL_MASTER_NAME", default="")
CELERY_SENTINEL_PASSWORD = env_value(env.str, "CELERY_SENTINEL_PASSWORD", default="")
# An unacked message is redelivered after this; it must stay above the longest countdown or
# ETA any task is sent with, or a delayed message would run twice (checked at start-up).
CELERY_VISIBILITY_TIMEOUT = env_value(env.int, "CELERY_VISIBILITY_TIMEOUT", default=60 * 60 * 2)


def celery_transport_options(broker_url: str, result_backend: str) -> tuple[dict, dict]:
    """Transport options of the broker and the result backend (Sentinel needs a master name)."""
    from config.celery_options import transport_options

    def options(url: str, variable: str) -> dict:
        return transport_options(
            url=url,
            variable=variable,
            visibility_timeout=CELERY_VISIBILITY_TIMEOUT,
            master_name=CELERY_SENTINEL_MASTER_NAME,
            sentinel_password=CELERY_SENTINEL_PASSWORD,
        )

    return (
        options(broker_url, "CELERY_BROKER_URL"),
        options(result_backend, "CELERY_RESULT_BACKEND"),
    )


CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = celery_transport_options(
    CELERY_BROKER_URL, CELERY_RESULT_BACKEND
)
CELERY_TASK_TIME_LIMIT = 60 * 30
CELERY_TASK_SOFT_TIME_LIMIT = 60 * 25
CELERY_TASK_ALWAYS_EAGER = env_value(env.bool, "CELERY_TASK_ALWAYS_EAGER", default=False)
# Workers keep their database connections as web requests do, by CONN_MAX_AGE and
# CONN_HEALTH_CHECKS (config/celery_app.py), so Celery's Django fixup must not close them
# around every task, which costs a new PostgreSQL session per task (docs/scaling.md): its
# "reconnect every N tasks" is set out of reach.
CELERY_DB_REUSE_MAX = 2**31
# Queues by kind of work, so a flood of click flushes or emails never delays money. Routes
# match task names (first match wins); names of apps a refactor may introduce are listed
# too. Unrouted tasks (feeds, scans, pruning) go to the default queue `celery`.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Workers and beat log through LOGGING (JSON, with the task's id and order) like the web does.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
QUEUE_MONEY = "money"
QUEUE_CLICKS = "clicks"
QUEUE_NOTIFICATIONS = "notifications"
CELERY_TASK_ROUTES = {
    # Money: payments, the outbox, commissions, payouts, settlements, stock holds.
    "orders.tasks.payment_*": {"queue": QUEUE_MONEY},
    "orders.tasks.order_auto_refund": {"queue": QUEUE_MONEY},
    "orders.tasks.refunds_*": {"queue": QUEUE_MONEY},
    "orders.tasks.reservations_*": {"queue": QUEUE_MONEY},
    "common.tasks.outbox_*": {"queue": QUEUE_MONEY},
    # The commission tasks live in commissions/tasks.py under the names they were queued by.
    "creators.tasks.commission*": {"queue": QUEUE_MONEY},
    "creators.tasks.payout*": {"queue": QUEUE_MONEY},
    "creators.tasks.settlement*": {"queue": QUEUE_MONEY},
    "commissions.tasks.*": {"queue": QUEUE_MONEY},
    "payments.tasks.*": {"queue": QUEUE_MONEY},
    # Clicks.
    "creators.tasks.click*": {"queue": QUEUE_CLICKS},
    # Email and notifications: shoppers' emails, waitlist and sell-out alerts, brands' webhooks.
    "orders.tasks.notify_*": {"queue": QUEUE_NOTIFICATIONS},
    "orders.tasks.waitlist_notification_send": {"queue": QUEUE_NOTIFICATIONS},
    "orders.tasks.sellout_alert_notify": {"queue": QUEUE_NOTIFICATIONS},
    "orders.tasks.webhook*": {"queue": QUEUE_NOTIFICATIONS},
}
# Every queue a task may be routed to: workers consume them, `/metrics` reports their depth.
BROKER_QUEUES = [CELERY_TASK_DEFAULT_QUEUE, QUEUE_MONEY, QUEUE_CLICKS, QUEUE_NOTIFICATIONS]
# Beat: schedules live in the database (django-celery-beat, editable in the admin) and one
# beat at a time runs them, the others waiting on a PostgreSQL advisory lock (common/beat.py).
# The entries below are created when missing and never changed afterwards.
CELERY_BEAT_SCHEDULER = "common.beat:LockedDatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}
# A standby beat retries the lock this often; the active one checks its lock session this often.
BEAT_LOCK_RETRY_SECONDS = env_value(env.float, "BEAT_LOCK_RETRY_SECONDS", default=1.0)
BEAT_LOCK_CHECK_SECONDS = env_value(env.float, "BEAT_LOCK_CHECK_SECONDS", default=10.0)
# Record each run as soon as it is sent, so a standby taking over never repeats it.
CELERY_BEAT_SYNC_EVERY = 1
# Create missing seed entries when a beat becomes active (`manage.py beat_seed` does it too).
BEAT_SEED_ON_START = env_value(env.bool, "BEAT_SEED_ON_START", default=True)
BEAT_SCHEDULE_SEED: dict = {
    "common-idempotency-prune": {
        "task": "common.tasks.idempotency_prune",
        "schedule": 60 * 60,
    },
    "creators-clicks-flush": {
        "task": "creators.tasks.clicks_flush",
        "schedule": 10,
    },
    "creators-clicks-prune": {
        "task": "creators.tasks.clicks_prune",
        "schedule": 60 * 60 * 6,
    },
    "creators-clicks-partitions-ensure": {
        "task": "creators.tasks.clicks_partitions_ensure",
        "schedule": 60 * 60 * 6,
        # A new deployment gets today's partitions at once, not six hours later.
        "run_at_once": True,
    },
    "orders-reservations-expire": {
        "task": "orders.tasks.reservations_expire",
        "schedule": 60,
    },
    "orders-webhooks-sweep": {
        "task": "orders.tasks.webhooks_sweep",
        "schedule": 30,
    },
    "orders-refunds-pending-sweep": {
        "task": "orders.tasks.refunds_pending_sweep",
        "schedule": 60 * 5,
    },
    "creators-commissions-approve-due": {
        "task": "creators.tasks.commissions_approve_due",
        "schedule": 60 * 15,
    },
    "creators-payouts-create-due": {
        "task": "creators.tasks.payouts_create_due",
        "schedule": 60 * 60,
    },
    "commissions-ledger-reconcile": {
        "task": "commissions.tasks.commissions_ledger_reconcile",
        "schedule": 60 * 60 * 24,
    },
    "commissions-settlements-close-due": {
        "task": "commissions.tasks.settlements_close_due",
        "schedule": 60 * 60,
    },
    "creators-settlements-pay-due": {
        "task": "creators.tasks.settlements_pay_due",
        "schedule": 60 * 60,
    },
    "shop-feeds-enqueue-due": {
        "task": "shop.tasks.feeds_enqueue_due",
        "schedule": 60,
    },
    "orders-waitlist-scan": {
        "task": "orders.tasks.waitlist_scan",
        "schedule": 60,
    },
    "orders-sellout-scan": {
        "task": "orders.tasks.sellout_scan",
        "schedule": 60 * 5,
    },
    "common-outbox-sweep": {
        "task": "common.tasks.outbox_sweep",
        "schedule": 60,
    },
    "common-outbox-prune": {
        "task": "common.tasks.outbox_prune",
        "schedule": 60 * 60,
    },
}

# --- Outbox (events between apps) ------------------------------------------------
# A delivery not done this long after it was recorded (or after its retry was due) is
# taken by the sweep; failures wait base x 2^(n-1) seconds, capped; done events are kept
# this many days.
OUTBOX_SWEEP_AFTER_SECONDS = env_value(env.int, "OUTBOX_SWEEP_AFTER_SECONDS", default=60)
OUTBOX_SWEEP_BATCH = env_value(env.int, "OUTBOX_SWEEP_BATCH", default=500)
OUTBOX_RETRY_BASE_SECONDS = env_value(env.int, "OUTBOX_RETRY_BASE_SECONDS", default=10)
OUTBOX_RETRY_MAX_SECONDS = env_value(env.int, "OUTBOX_RETRY_MAX_SECONDS", default=60 * 60)
OUTBOX_RETENTION_DAYS = env_value(env.int, "OUTBOX_RETENTION_DAYS", default=7)

# --- Waitlist and sell-out alerts --------------------------------------------
# A notified shopper holds a place this long before the next in line is told.
WAITLIST_NOTIFY_HOLD_MINUTES = env_value(env.int, "WAITLIST_NOTIFY_HOLD_MINUTES", default=120)
# Storefront notify-me form posts per client IP per minute (the API uses a DRF throttle).
WAITLIST_FORM_RATE_PER_MINUTE = env_value(env.int, "WAITLIST_FORM_RATE_PER_MINUTE", default=10)
WAITLIST_API_RATE = env_value(env.str, "WAITLIST_API_RATE", default="20/min")
SELLOUT_VELOCITY_WINDOW_MINUTES = env_value(env.int, "SELLOUT_VELOCITY_WINDOW_MINUTES", default=60)
SELLOUT_ALERT_THRESHOLD_MINUTES = env_value(env.int, "SELLOUT_ALERT_THRESHOLD_MINUTES", default=60)


# --- Logging ----------------------------------------------------------------
# One JSON object per line (`json`, the default) or plain text for a terminal (`text`);
# every line carries the request id and, where known, the user, task and order.
LOG_LEVEL = env_value(env.str, "LOG_LEVEL", default="INFO")
LOG_FORMAT = env_value(env.str, "LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("Environment variable LOG_FORMAT must be 'json' or 'text'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "common.observability.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "common.observability.logs.JsonFormatter"},
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s "
            "user=%(user_id)s task=%(task_id)s order=%(order_id)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Observability ------------------------------------------------------------
# `/metrics` answers only a scraper sending `Authorization: Bearer <METRICS_TOKEN>`; with no
# token configured the endpoint does not exist (404).
METRICS_TOKEN = env_value(env.str, "METRICS_TOKEN", default="")
# A worker node serves its own metrics on this port (0: off), behind the same token.
CELERY_WORKER_METRICS_PORT = env_value(env.int, "CELERY_WORKER_METRICS_PORT", default=0)
CELERY_WORKER_METRICS_HOST = env_value(env.str, "CELERY_WORKER_METRICS_HOST", default="0.0.0.0")  # noqa: S104
SENTRY_DSN = env_value(env.str, "SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env_value(env.str, "SENTRY_ENVIRONMENT", default="")
SENTRY_RELEASE = env_value(env.str, "SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env_value(env.float, "SENTRY_TRACES_SAMPLE_RATE", default=0.0)

from common.observability.sentry import sentry_init  # noqa: E402

sentry_init(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)

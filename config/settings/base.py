"""Settings shared by every environment, read from environment variables.

Each group names the documentation it follows. `local`, `test` and
`production` adjust only what differs between them.
"""

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, getcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab

from config.env import env, env_bool, env_gc_thresholds, env_int, env_list, env_networks
from config.logging import logging_config
from core.converters import SCHEMA as PATH_CONVERTER_SCHEMA

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Money: one decimal context for the whole process. Amounts are quantized to
# their currency's scale at the edges (wallets.money); 28 significant digits
# covers any stake times any price we store (NUMERIC(30, 8)).
getcontext().prec = 28
getcontext().rounding = ROUND_HALF_EVEN

# --- Core (https://docs.djangoproject.com/en/5.2/ref/settings/) ------------
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "wallets",
    "realtime",
    "market",
    "trading",
    "frontend",
    "ops",
    "push",
]

MIDDLEWARE = [
    # First, so the latency it measures includes every other middleware.
    "ops.metrics.RequestLatencyMiddleware",
    # Next, so every response (an error page too) and every log line of the
    # request carry its id.
    "ops.requestid.RequestIdMiddleware",
    # Probes of /healthz by address: answered before host validation and the
    # HTTPS redirect (ops/healthz.py).
    "ops.healthz.HealthzMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A control character in an admin query parameter: the site's 400 page
    # before the admin passes it to PostgreSQL (frontend/middleware.py).
    "frontend.middleware.AdminQueryGuardMiddleware",
    # Django's own 405 (an empty HTML body) as JSON under /api/.
    "frontend.middleware.ApiMethodNotAllowedMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "frontend.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database (https://docs.djangoproject.com/en/5.2/ref/databases/) -------
# PostgreSQL only: the ledger relies on its triggers, deferred constraints and
# row locks. `dev.py` sets DATABASE_URL to the embedded server when
# the user gives none.
DATABASE_URL = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradevision")
# Local and production settings pool connections per process. With health
# checks a pooled connection is checked (an empty query) as it is taken, so
# one PostgreSQL dropped while it sat in the pool (a restart) is replaced
# rather than failing the request or task that took it: workers keep theirs
# between tasks (CELERY_DB_REUSE_MAX below).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker, latest-price cache ---------------
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")

# channels-redis' pub/sub layer: measured (docs/decisions.md) at ~30x the
# throughput of the list-based core layer with no loss at 1,000 events/s.
# It keeps no backlog, which is fine: the outbox and resume make the stream
# lossless (docs/realtime.md).
# CHANNEL_LAYER_REDIS_URLS (comma-separated): the layer's own Redis servers.
# channels-redis spreads channels and groups over them by a consistent hash,
# so each carries its share of the fan-out; every web process and worker must
# list the same ones in the same order (docs/scaling.md, "The channel layer").
CHANNEL_LAYER_REDIS_URLS = env_list("CHANNEL_LAYER_REDIS_URLS", REDIS_URL)
# Pub/sub channels belong to the Redis server, not to one of its databases:
# two installations on one server (databases 12 and 13, say) with one prefix
# heard each other's groups, prices and users' events alike (user 1 is the
# demo user of every installation). The default prefix carries the cache
# prefix and the database number of REDIS_URL, so installations apart in
# their data are apart on the layer too.
_REDIS_DB = urlsplit(REDIS_URL).path.strip("/") or "0"
CHANNEL_PREFIX = env("CHANNEL_PREFIX", f"{env('CACHE_PREFIX', 'tv')}{_REDIS_DB}")
CHANNEL_LAYERS: dict[str, Any] = {
    "default": {
        "BACKEND": "realtime.channel_layer.StreamChannelLayer",  # channels-redis pub/sub
        "CONFIG": {"hosts": CHANNEL_LAYER_REDIS_URLS, "prefix": CHANNEL_PREFIX},
    }
}

CACHES: dict[str, Any] = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_PREFIX", "tv"),
    }
}

# --- Auth (https://docs.djangoproject.com/en/5.2/topics/auth/) -------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# Failed logins per (username, client address) before a cool-down; also per
# username over all addresses (a distributed guess at one account) and per
# address over all usernames (password spraying). docs/ledger.md "Accounts app".
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_USER = env_int("LOGIN_FAILURE_LIMIT_PER_USER", 20)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 50)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 300)
# Reverse proxies in front of the app that append to X-Forwarded-For. 0: the
# header is ignored and the client address is REMOTE_ADDR (a client can write
# any X-Forwarded-For it likes). Used by the login limiter and DRF throttles.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# The load balancer's addresses (IPs or CIDRs, comma-separated; docs/scaling.md).
# The web server (realtime/daphne_server.py) removes X-Forwarded-* and
# Forwarded from every other peer, so only the balancer can say which scheme,
# host and client a request came from; and Django reads the scheme and host
# from them only when a balancer is configured. Empty (the default): none is
# trusted and none is read.
TRUSTED_PROXY = env_networks("TRUSTED_PROXY", "")
USE_X_FORWARDED_HOST = bool(TRUSTED_PROXY)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY else None

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A refused form: the site's 403 page, or JSON under /api/ (not Django's stock page).
CSRF_FAILURE_VIEW = "frontend.errors.csrf_failure"

# --- Email (settlement and maturity notices; docs/frontend.md) -------------
# SMTP by default; `local` prints mails to the console, `test` keeps them in
# memory. PUBLIC_URL makes the links in mails absolute.
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "TradeVision <no-reply@tradevision.example>")
PUBLIC_URL = env("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# --- I18N ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (https://whitenoise.readthedocs.io/) ---------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"

# Request bodies: money forms and trade batches are small.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- DRF (https://www.django-rest-framework.org/api-guide/settings/) -------
REST_FRAMEWORK: dict[str, Any] = {
    # Token first: DRF takes the WWW-Authenticate header from the first class,
    # and only a class that has one makes a refusal 401 (RFC 9110) instead of
    # 403. A request without `Authorization: Token` falls through to the
    # session, which still enforces CSRF for browsers.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        # DRF's, with forms that carry an idempotency key (core/renderers.py).
        "core.renderers.BrowsableApiRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.openapi.ApiSchema",  # drf-spectacular's, with error statuses
    # Throttles key anonymous clients on this, not on a client-supplied header.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's anon and user throttles, one Redis round trip each (core/throttling.py).
        "core.throttling.AnonThrottle",
        "core.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", "60/min"),
        "user": env("THROTTLE_USER", "6000/min"),
        "token_obtain": env("THROTTLE_TOKEN_OBTAIN", "10/min"),
        "money": env("THROTTLE_MONEY", "120/min"),
        "trades": env("THROTTLE_TRADES", "3000/min"),
        # The order ticket asks for a quote as the trader types (debounced):
        # its own budget, so previews never use up the trade requests'.
        "quotes": env("THROTTLE_QUOTES", "600/min"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TradeVision API",
    "DESCRIPTION": "Paper trading with live prices, a double-entry wallet and a lossless event stream.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from the installed sidecar package (static files,
    # served by WhiteNoise): the docs work offline and load nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge image from the public validator service.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # The bounded path converters of core.converters state their bounds.
    "PATH_CONVERTER_OVERRIDES": PATH_CONVERTER_SCHEMA,
    # Several models have a `status` field; name each choice set explicitly.
    "ENUM_NAME_OVERRIDES": {
        "WithdrawalStatusEnum": "wallets.models.WithdrawalStatus",
        "TradeStatusEnum": "trading.trades.models.TradeStatus",
        "PlanStatusEnum": "trading.plans.models.PlanStatus",
    },
}

# --- Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A message is acknowledged after its task returns, and given back if the
# worker dies, so a killed worker loses no work; tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
# One result backend object per process, not per thread. Django runs each
# request's sync code on a new thread under ASGI, and a per-thread backend
# was built again for every trade request's send (1.4 ms of CPU: redis-py
# reads its package metadata for each new client). redis-py's client is
# thread-safe, and web processes never wait on results (trade_enqueue).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
# Celery's Django fixup closes the database connections before and after
# every task, and with a psycopg pool under prefork it closes the pool
# itself: every task paid a new PostgreSQL session (5.7 ms to connect, then
# a cold backend's first statements). With a reuse count it closes them only
# every that many tasks; config/celery_app.py hands each task's connection
# back to the pool instead, as a request's end does (bench/REPORT.md).
CELERY_DB_REUSE_MAX = 10_000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # Every running worker looks this often for messages a dead worker left
    # unacknowledged past the visibility timeout and puts them back (one small
    # Redis range read). kombu's default is every ~100 s (10 s x a throttle of
    # 10); a killed worker's task is then taken by another running worker, not
    # only by a worker that starts (docs/scaling.md).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_SECONDS", 10),
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".data" / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "process-completed-trades": {
        "task": "trading.tasks.process_completed_trades",
        "schedule": crontab(minute="*"),
    },
    # Expiry tasks for trades that opened too far ahead of their expiry to
    # send one then (SETTLE_SCHEDULE_HORIZON_SECONDS; docs/decisions.md).
    "schedule-expiry-settlements": {
        "task": "trading.tasks.schedule_expiry_settlements",
        "schedule": crontab(minute="*"),
    },
    "auto-initiate-daily-trades": {
        "task": "trading.tasks.auto_initiate_daily_trades",
        "schedule": crontab(minute=0),
    },
    "check-investment-maturity": {
        "task": "trading.tasks.check_investment_maturity",
        "schedule": crontab(minute=0, hour=0),
    },
    "update-wallet-balances": {
        "task": "wallets.tasks.update_wallet_balances",
        "schedule": crontab(minute=0, hour="6,18"),
    },
    "cleanup-failed-trades": {
        "task": "trading.tasks.cleanup_failed_trades",
        "schedule": crontab(minute=0, hour=2),
    },
    # The sweeper alone (also part of the daily cleanup): re-enqueues queued
    # trades whose enqueue was lost, so they wait minutes, not until 02:00.
    "sweep-queued-trades": {
        "task": "trading.tasks.sweep_queued_trades",
        "schedule": crontab(minute="*/5"),
    },
    # The equity curve (docs/trading.md, "Portfolio"): hourly upserts of the
    # day's row, so the last (23:55 UTC) is the day's close and a missed run
    # still leaves the day a point.
    "snapshot-portfolios": {
        "task": "trading.tasks.snapshot_portfolios",
        "schedule": crontab(minute=55),
    },
}

# CSV exports of the trade list per user (frontend.views.TradeExportView):
# each reads up to 10,000 trades.
TRADE_EXPORT_RATE = env("THROTTLE_TRADE_EXPORT", "20/min")

# --- Wallets (docs/ledger.md) ---------------------------------------------
WALLET_CURRENCIES = {"USD": 2}
# Rows per system account kind and currency, so deposits and settlements of
# different users do not queue on one row lock (docs/ledger.md).
WALLET_SYSTEM_SHARDS = env_int("WALLET_SYSTEM_SHARDS", 16)
DEMO_DEPOSIT_DAILY_LIMIT = env("DEMO_DEPOSIT_DAILY_LIMIT", "100000.00")
MONEY_MAX_AMOUNT = env("MONEY_MAX_AMOUNT", "10000000.00")

# --- Market data (docs/market-data.md) -------------------------------------
PRICE_STALE_AFTER = env_int("PRICE_STALE_AFTER", 30)
TICKER_MAX_RATE = env_int("TICKER_MAX_RATE", 4)
FEED_SEED = env_int("FEED_SEED", 42)
# Seconds between feed steps (faster than TICKER_MAX_RATE: the feed coalesces)
# and between batched writes of bars to PostgreSQL.
FEED_TICK_INTERVAL = float(env("FEED_TICK_INTERVAL", "0.1"))
FEED_FLUSH_INTERVAL = float(env("FEED_FLUSH_INTERVAL", "2.0"))
# The feed also flushes at the first step of every new second (that second's
# ticks are final then), and checks the price watches (market/watches.py) on
# every step, telling their listeners at most this often per symbol.
PRICE_WATCH_INTERVAL = float(env("PRICE_WATCH_INTERVAL", "0.25"))
# Per-symbol source overrides, e.g. "BTC-USD=replay,GOOG=random_walk"; unset
# symbols use Instrument.feed_source (replay for GOOG and EUR-USD).
MARKET_FEED_SOURCES = dict(item.split("=", 1) for item in env_list("MARKET_FEED_SOURCES", ""))
# 1-second price ticks behind market.prices.price_at; older instants fall
# back to 1-minute bar closes. Longer than any instrument's max trade duration.
PRICE_TICK_RETENTION_DAYS = env_int("PRICE_TICK_RETENTION_DAYS", 30)

# --- Trading (docs/trading.md) ---------------------------------------------
MAX_OPEN_TRADES = env_int("MAX_OPEN_TRADES", 50)
QUEUED_TIMEOUT = env_int("QUEUED_TIMEOUT", 600)
TRADE_RETENTION_DAYS = env_int("TRADE_RETENTION_DAYS", 90)
TRADE_DEFAULT_DURATION = timedelta(hours=24)
TRADE_MIN_DURATION = timedelta(minutes=1)
# The ceiling of any duration input, whatever the instrument says: it bounds
# the serializer and the form before an instrument is known (no timedelta
# overflow), and it is what the schema states as `maximum`.
TRADE_MAX_DURATION = timedelta(days=366)
# initiate_manual_trade: transient errors retried this many times, the n-th
# retry after base x 2^(n-1) seconds with jitter (a float so tests run the
# real retry path fast).
TRADE_MAX_RETRIES = env_int("TRADE_MAX_RETRIES", 3)
TRADE_RETRY_BASE_SECONDS = float(env("TRADE_RETRY_BASE_SECONDS", "30"))
# The sweeper re-enqueues a queued trade whose task has not run this long after it was due.
TRADE_SWEEP_AFTER_SECONDS = env_int("TRADE_SWEEP_AFTER_SECONDS", 120)
# Settlement at expiry waits for the feed to have recorded prices through
# the expiry instant, at most this long, then settles on what was recorded.
SETTLEMENT_GRACE_SECONDS = env_int("SETTLEMENT_GRACE_SECONDS", 120)
SETTLEMENT_BATCH_SIZE = env_int("SETTLEMENT_BATCH_SIZE", 500)
# Settlement at the instant (trading/trades/schedule.py): the expiry task runs
# this long after the expiry's second ends (the feed writes that second's
# last tick at the first step of the next one); while its trades still wait
# for their price it tries again for SETTLE_AT_EXPIRY_RETRY_SECONDS. Expiry
# tasks are sent only this far ahead: an ETA task waits unacknowledged in a
# worker's memory, and the Redis broker redelivers it after the visibility
# timeout (docs/decisions.md).
SETTLE_AT_EXPIRY_DELAY = float(env("SETTLE_AT_EXPIRY_DELAY", "0.2"))
SETTLE_AT_EXPIRY_RETRY_SECONDS = float(env("SETTLE_AT_EXPIRY_RETRY_SECONDS", "10"))
SETTLE_SCHEDULE_HORIZON_SECONDS = env_int("SETTLE_SCHEDULE_HORIZON_SECONDS", 300)
TRADE_BATCH_MAX_ITEMS = 20
# Test-only fault points (trading/faults.py); never enable in production.
TRADING_FAULT_INJECTION = env_bool("TRADING_FAULT_INJECTION", False)

# --- Realtime (docs/realtime.md) -------------------------------------------
EVENT_RETENTION = timedelta(days=env_int("EVENT_RETENTION_DAYS", 7))
WS_HEARTBEAT_SECONDS = env_int("WS_HEARTBEAT_SECONDS", 20)
WS_MAX_MESSAGES_PER_SECOND = env_int("WS_MAX_MESSAGES_PER_SECOND", 20)
WS_MAX_FRAME_BYTES = 64 * 1024
# Open streams per user per web process (docs/realtime.md "Close codes"): tabs
# and devices of one person, with room to spare; a script opening sockets in
# a loop is refused with 4029.
WS_MAX_CONNECTIONS_PER_USER = env_int("WS_MAX_CONNECTIONS_PER_USER", 20)
WS_TICKET_TTL_SECONDS = 30
# The web process's cyclic garbage collector (realtime/collector.py): what
# exists when it starts serving is frozen, and these thresholds replace
# CPython's (700, 10, 10 on 3.11 and 3.12); "python" keeps CPython's.
WEB_GC_THRESHOLDS = env_gc_thresholds("WEB_GC_THRESHOLDS", "50000,2,3")

# --- Web Push (docs/push.md) ----------------------------------------------
# The VAPID key signs every push; all processes and hosts must share one.
# Production sets PUSH_VAPID_PRIVATE_KEY (PEM or base64url raw key);
# otherwise it is generated on first use into PUSH_VAPID_KEY_FILE (mode 0600).
PUSH_VAPID_PRIVATE_KEY = env("PUSH_VAPID_PRIVATE_KEY", "")
PUSH_VAPID_KEY_FILE = env("PUSH_VAPID_KEY_FILE", str(BASE_DIR / ".data" / "vapid-private.pem"))
# Who runs this server, for push services to contact (RFC 8292 "sub").
PUSH_VAPID_SUBJECT = env("PUSH_VAPID_SUBJECT", "mailto:ops@tradevision.example")
# Plain-http endpoints on the loopback host (a local push service): DEBUG and tests only.
PUSH_ALLOW_HTTP_LOOPBACK = env_bool("PUSH_ALLOW_HTTP_LOOPBACK", DEBUG)
PUSH_MAX_SUBSCRIPTIONS_PER_USER = env_int("PUSH_MAX_SUBSCRIPTIONS_PER_USER", 20)
PUSH_TTL_SECONDS = env_int(
    "PUSH_TTL_SECONDS", 24 * 3600
)  # a push service keeps it this long for an offline device
PUSH_TIMEOUT_SECONDS = env_int("PUSH_TIMEOUT_SECONDS", 10)
# Transient faults (5xx, 429, network) are retried this many times, the n-th
# after about base x 2^(n-1) seconds (jittered), at most PUSH_RETRY_MAX_SECONDS.
PUSH_MAX_RETRIES = env_int("PUSH_MAX_RETRIES", 6)
PUSH_RETRY_BASE_SECONDS = float(env("PUSH_RETRY_BASE_SECONDS", "5"))
PUSH_RETRY_MAX_SECONDS = float(env("PUSH_RETRY_MAX_SECONDS", "600"))
# The installable app's cache version; empty: a hash of the static files
# (so every deploy that changes them gets a fresh service-worker cache).
APP_VERSION = env("APP_VERSION", "")

# --- Operations (docs/operations.md) --------------------------------------
# /metrics answers staff sessions and `Authorization: Bearer <METRICS_TOKEN>`;
# empty (the default) turns token access off. No client address is trusted.
METRICS_TOKEN = env("METRICS_TOKEN", "")
# A periodic task is overdue when its next run is this late.
OPS_OVERDUE_GRACE_SECONDS = env_int("OPS_OVERDUE_GRACE_SECONDS", 120)
OPS_QUEUE_DEPTH_WARN = env_int("OPS_QUEUE_DEPTH_WARN", 1000)
OPS_LATENCY_WARN_MS = env_int("OPS_LATENCY_WARN_MS", 250)
OPS_PAGE_POLL_SECONDS = env_int("OPS_PAGE_POLL_SECONDS", 5)
# Outbox lag (newest event written vs newest event sent to a client), judged
# only while WebSocket clients are connected: amber past WARN, red past RED.
OPS_OUTBOX_LAG_WARN_SECONDS = env_int("OPS_OUTBOX_LAG_WARN_SECONDS", 60)
OPS_OUTBOX_LAG_RED_SECONDS = env_int("OPS_OUTBOX_LAG_RED_SECONDS", 300)
# Every web and worker process writes its heartbeat (and a web process its
# open WebSocket count) to Redis this often; one silent for 3 intervals is
# "lost" on the health page and its sockets are no longer counted.
OPS_HEARTBEAT_SECONDS = env_int("OPS_HEARTBEAT_SECONDS", 10)

# --- Logging (docs/operations.md "Structured logs") ------------------------
# "plain" for a terminal, "json" for one object per line (production's default).
# Celery workers and beat apply this too (config/celery_app.py); their
# --loglevel is ignored, LOG_LEVEL decides.
LOG_FORMAT = env("LOG_FORMAT", "plain")
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)

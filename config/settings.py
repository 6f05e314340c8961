"""Settings, read from the environment. Every variable is documented in README.md."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_days_or_unlimited, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=not DEBUG)
if SECRET_KEY is None:
    # Only reachable with DEBUG on: a fixed development key keeps sessions alive across restarts.
    SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"

# Old keys still accepted for signatures and for decrypting stored DSN passwords during a rotation.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "console.admin_apps.CatalogAdminConfig",
    "console",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_prometheus",
    "mozilla_django_oidc",
    "djstripe",
    "orgs",
    "catalog",
    "checks",
    "lineage",
    "billing",
    "workflows",
    "alerts",
]

METRICS_ENABLED = env_bool("METRICS_ENABLED", True)

MIDDLEWARE = [
    # First: every response, a 413 or a 500 included, carries the id its log lines carry.
    "config.request_id.RequestIdMiddleware",
    # Before anything that validates the Host header: probes answer the container's IP too (config/probes.py).
    "config.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    "config.middleware.JsonDepthLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # An unreachable database or pending migrations: a 503 page saying so (config/database_error_pages.py).
    "config.database_error_pages.DatabaseErrorPagesMiddleware",
    # Last, as django-axes requires: turns a locked-out admin sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]
if METRICS_ENABLED:
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DEFAULT_SQLITE_PATH = VAR_DIR / "dataxpipe.sqlite3"
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that stops answering must fail a request in seconds, not hang a worker.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3))
    DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", None)}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, OIDC userinfo cache) ------------------------------------------
REDIS_URL = env_str("REDIS_URL", None)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------------------
# Axes first: it refuses a locked-out sign-in before the password is checked. API keys and OIDC
# bearer tokens are DRF authenticators that never call authenticate(), so axes never sees them.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Admin sign-in throttling (django-axes): after DATAXPIPE_LOGIN_FAILURE_LIMIT failures for one
# username from one address, that pair is locked for DATAXPIPE_LOGIN_COOLOFF_MINUTES (429 page);
# a success resets the count. Attempts live in the database, shared by every worker and instance.
AXES_FAILURE_LIMIT = env_int("DATAXPIPE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DATAXPIPE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
# Reverse proxies in front of the service that append to X-Forwarded-For (0: use REMOTE_ADDR).
DATAXPIPE_TRUSTED_PROXY_COUNT = env_int("DATAXPIPE_TRUSTED_PROXY_COUNT", 0)

# Scaffold keys (platform-key, admin-key, dev-key) are a local-development convenience only.
DATAXPIPE_ALLOW_SCAFFOLD_KEYS = env_bool("DATAXPIPE_ALLOW_SCAFFOLD_KEYS", DEBUG)
DATAXPIPE_SCAFFOLD_ORG_SLUG = "local-dev"
# The pepper turns a stolen key table into useless digests. Digests made under a fallback still verify and are
# re-digested under the current pepper on use. Without an explicit pepper the secret key is the pepper, so the
# secret key's fallbacks are the pepper's: rotating DJANGO_SECRET_KEY as documented keeps every API key working.
_EXPLICIT_API_KEY_PEPPER = env_str("DATAXPIPE_API_KEY_PEPPER", None)
DATAXPIPE_API_KEY_PEPPER = _EXPLICIT_API_KEY_PEPPER or SECRET_KEY
DATAXPIPE_API_KEY_PEPPER_FALLBACKS = env_list(
    "DATAXPIPE_API_KEY_PEPPER_FALLBACKS", [] if _EXPLICIT_API_KEY_PEPPER else SECRET_KEY_FALLBACKS
)
DATAXPIPE_KEY_LAST_USED_INTERVAL_SECONDS = 60
DATAXPIPE_MAX_BODY_BYTES = env_int("DATAXPIPE_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = DATAXPIPE_MAX_BODY_BYTES
# Deeper JSON bodies get 400 before anything parses them (config/json_depth.py); recursion in the
# parser, serializers and redaction walks stays far from Python's limit.
DATAXPIPE_MAX_JSON_DEPTH = env_int("DATAXPIPE_MAX_JSON_DEPTH", 64)
if not 2 <= DATAXPIPE_MAX_JSON_DEPTH <= 200:
    raise ImproperlyConfigured("DATAXPIPE_MAX_JSON_DEPTH must lie between 2 and 200.")

OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "HS256")
OIDC_ENABLED = bool(OIDC_OP_USER_ENDPOINT)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 5)
# Userinfo answers are cached per token for this long (never past the token's own expiry).
OIDC_USERINFO_CACHE_SECONDS = env_int("OIDC_USERINFO_CACHE_SECONDS", 300)
OIDC_DRF_AUTH_BACKEND = "orgs.oidc.CatalogOIDCBackend"
OIDC_CREATE_USER = env_bool("OIDC_CREATE_USER", True)
# Users are found by (issuer, subject), never by e-mail (orgs/oidc.py). The issuer names the subjects'
# namespace; unset, the userinfo URL stands for it. Changing it later orphans existing links.
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER", "")
if len(OIDC_OP_ISSUER or OIDC_OP_USER_ENDPOINT) > 255:
    raise ImproperlyConfigured("OIDC_OP_ISSUER (or OIDC_OP_USER_ENDPOINT when it is unset) must fit 255 characters.")

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orgs.authentication.ApiKeyAuthentication",
        "orgs.authentication.ScaffoldKeyAuthentication",
        "orgs.oidc.CatalogOIDCAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["orgs.permissions.HasOrganizationRole"],
    "DEFAULT_THROTTLE_CLASSES": ["orgs.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"principal": env_str("DATAXPIPE_THROTTLE_RATE", "1200/min")},
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orgs.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PagePagination",
    "PAGE_SIZE": 50,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "DataXPipe Catalog API",
    "DESCRIPTION": "System of record for pipeline metadata, run history, check results and lineage.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # Scaffold keys ride the X-API-KEY header of ApiKeyAuth and are off in production: not a scheme of their own.
    "AUTHENTICATION_WHITELIST": ["orgs.authentication.ApiKeyAuthentication", "orgs.oidc.CatalogOIDCAuthentication"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "catalog.models.RunStatus",
        "CheckStatusEnum": "checks.models.CheckStatus",
        "AlertEventEnum": "alerts.models.AlertEventType",
    },
}

# --- Plans and limits (billing issue refines enforcement) -------------------------------
PLAN_LIMITS = {
    "free": {
        "pipelines": env_int("PLAN_FREE_PIPELINES", 10),
        "api_keys": env_int("PLAN_FREE_API_KEYS", 5),
        "connections": env_int("PLAN_FREE_CONNECTIONS", 3),
        "runs_per_month": env_int("PLAN_FREE_RUNS_PER_MONTH", 10_000),
        "check_executions_per_month": env_int("PLAN_FREE_CHECK_EXECUTIONS_PER_MONTH", 5_000),
        "openlineage_events_per_month": env_int("PLAN_FREE_OPENLINEAGE_EVENTS_PER_MONTH", 50_000),
        "check_concurrency": env_int("PLAN_FREE_CHECK_CONCURRENCY", 2),
        "history_days": env_days_or_unlimited("PLAN_FREE_HISTORY_DAYS", 30),
    },
    "team": {
        "pipelines": env_int("PLAN_TEAM_PIPELINES", 200),
        "api_keys": env_int("PLAN_TEAM_API_KEYS", 50),
        "connections": env_int("PLAN_TEAM_CONNECTIONS", 50),
        "runs_per_month": env_int("PLAN_TEAM_RUNS_PER_MONTH", 1_000_000),
        "check_executions_per_month": env_int("PLAN_TEAM_CHECK_EXECUTIONS_PER_MONTH", 500_000),
        "openlineage_events_per_month": env_int("PLAN_TEAM_OPENLINEAGE_EVENTS_PER_MONTH", 5_000_000),
        "check_concurrency": env_int("PLAN_TEAM_CHECK_CONCURRENCY", 10),
        "history_days": env_days_or_unlimited("PLAN_TEAM_HISTORY_DAYS", 400),
    },
    "enterprise": {
        "pipelines": None,
        "api_keys": None,
        "connections": None,
        "runs_per_month": None,
        "check_executions_per_month": None,
        "openlineage_events_per_month": None,
        "check_concurrency": env_int("PLAN_ENTERPRISE_CHECK_CONCURRENCY", 50),
        "history_days": env_days_or_unlimited("PLAN_ENTERPRISE_HISTORY_DAYS", None),
    },
}

# --- Check execution: Celery workers, or an in-process pool without a broker ----------
# amqp://guest:guest@127.0.0.1:5672// (RabbitMQ) or redis://127.0.0.1:6379/0; empty = embedded mode.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
# "celery" (a broker and `celery -A config worker`), "threads" (in-process pool: `make run`, one box),
# "inline" (the caller's thread; the test suite, whose rows live in the test's transaction).
CHECK_EXECUTION_BACKEND = env_str("CHECK_EXECUTION_BACKEND", "celery" if CELERY_BROKER_URL else "threads")
if CHECK_EXECUTION_BACKEND not in ("celery", "threads", "inline"):
    raise ImproperlyConfigured("CHECK_EXECUTION_BACKEND must be celery, threads or inline.")
if CHECK_EXECUTION_BACKEND == "celery" and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("CHECK_EXECUTION_BACKEND=celery needs CELERY_BROKER_URL.")
CHECK_EXECUTION_THREADS = env_int("CHECK_EXECUTION_THREADS", 4)
# The queue check executions are sent to (a test run names its own so parallel runs keep their messages).
CHECK_EXECUTION_QUEUE = env_str("CHECK_EXECUTION_QUEUE", "checks")
# A running execution's lease: its statement timeout plus this margin (connect, record the result).
CHECK_EXECUTION_LEASE_MARGIN_SECONDS = env_int("CHECK_EXECUTION_LEASE_MARGIN_SECONDS", 60)
# A dispatched execution no worker picked up within this is sent again (a message lost with a broker's disk).
CHECK_EXECUTION_DISPATCH_LEASE_SECONDS = env_int("CHECK_EXECUTION_DISPATCH_LEASE_SECONDS", 900)
# Requests of one web process that may wait for a result at once; past it they answer 202 at once, so waiting
# requests never take every gunicorn thread (GUNICORN_THREADS, 4) from /health and the rest of the API.
CHECK_EXECUTION_MAX_WAITERS = env_int("CHECK_EXECUTION_MAX_WAITERS", 2)
CHECK_EXECUTION_REAP_SECONDS = env_int("CHECK_EXECUTION_REAP_SECONDS", 30)
# Without a broker one process of the box runs CELERY_BEAT_SCHEDULE in-process (config/embedded_beat.py):
# the process holding this file's lock.
EMBEDDED_BEAT_LOCK_FILE = env_str("EMBEDDED_BEAT_LOCK_FILE", str(VAR_DIR / "embedded-beat.lock"))
# Executions of one organization sent to the broker and not started yet: 1 makes the broker's FIFO queue a
# round robin over organizations (a flood is ahead of another organization's check by one message at most).
CHECK_EXECUTION_DISPATCH_AHEAD = max(1, env_int("CHECK_EXECUTION_DISPATCH_AHEAD", 1))

# --- Retention: history older than the plan's window (PLAN_LIMITS "history_days") is purged ------
# Hourly: each pass deletes about an hour of expired rows, a short job, and a failed pass is retried soon.
RETENTION_PURGE_SECONDS = env_int("RETENTION_PURGE_SECONDS", 3600)
# Rows per DELETE statement and its transaction; the pause between batches lets ingestion and vacuum in.
RETENTION_BATCH_ROWS = max(1, env_int("RETENTION_BATCH_ROWS", 5000))
RETENTION_BATCH_PAUSE_MS = max(0, env_int("RETENTION_BATCH_PAUSE_MS", 100))

CELERY_TASK_DEFAULT_QUEUE = CHECK_EXECUTION_QUEUE
# The message is removed only once the task returned: a worker that dies between receiving a message and
# starting the check leaves it to another worker (the execution row says whether it had started).
CELERY_TASK_ACKS_LATE = True
# A worker child killed in the middle of a check does not get the message again: a check that kills its
# worker would loop. The lease turns that execution into an error result instead.
CELERY_TASK_REJECT_ON_WORKER_LOST = False
# One message per worker process at a time: a busy worker holds no other organization's check back.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Worker processes per `celery -A config worker` (its -c flag wins).
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 4)
# Results live in the database (CheckExecution, CheckResult), not in a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 3)
# A broker that is down must not hold a request: the execution stays dispatched and is sent again later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Redis redelivers an unacknowledged message after this: longer than any check plus its margin.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "reap-check-executions": {"task": "checks.reap_executions", "schedule": float(CHECK_EXECUTION_REAP_SECONDS)},
    # Alerts (issue 16): detection reads the run and check-result tables and sends what it finds right after, so
    # this period is the alert's latency; 20 s keeps it under half a minute for about three indexed queries a pass.
    "alerts-sweep": {"task": "alerts.sweep", "schedule": float(env_int("DATAXPIPE_ALERT_SWEEP_SECONDS", 20))},
    # Late pipelines (catalog.late_detection): a missed slot is seen within a minute of its grace running out.
    "detect-late-pipelines": {"task": "catalog.detect_late_pipelines", "schedule": 60.0},
    "purge-history": {"task": "workflows.purge_history", "schedule": float(RETENTION_PURGE_SECONDS)},
}

# --- Stripe / dj-stripe -------------------------------------------------------------------
STRIPE_LIVE_MODE = env_bool("STRIPE_LIVE_MODE", False)
# dj-stripe falls back to STRIPE_SECRET_KEY for test- and live-mode events alike: no per-mode copies.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
BILLING_SUCCESS_URL = env_str("BILLING_SUCCESS_URL", "http://localhost:8000/billing/success")
BILLING_CANCEL_URL = env_str("BILLING_CANCEL_URL", "http://localhost:8000/billing/cancel")
BILLING_PORTAL_RETURN_URL = env_str("BILLING_PORTAL_RETURN_URL", "http://localhost:8000/")
# Per request to Stripe's API (connect and read); the stripe library would wait 80 s.
BILLING_STRIPE_TIMEOUT_SECONDS = env_int("BILLING_STRIPE_TIMEOUT_SECONDS", 20)
# "price_123:team,price_456:enterprise"
STRIPE_PRICE_PLANS = dict(item.split(":", 1) for item in env_list("STRIPE_PRICE_PLANS", []) if ":" in item)
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_SUBSCRIBER_MODEL = "orgs.Organization"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"

# --- Static files, i18n -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names (cached forever by browsers) and gzip copies, written by collectstatic with DEBUG off
        # (the Dockerfile's build step); pages using {% static %} need that manifest, so run collectstatic.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security (production) ------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "config.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {
            "()": "config.request_id.RequestIdFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Checks / warehouses (checks issue) ---------------------------------------------------
DATAXPIPE_SQLITE_ALLOWED_DIRS = env_list("DATAXPIPE_SQLITE_ALLOWED_DIRS", [str(VAR_DIR / "warehouses")], separator=":")
DATAXPIPE_CHECK_MAX_TIMEOUT_SECONDS = env_int("DATAXPIPE_CHECK_MAX_TIMEOUT_SECONDS", 300)
# Tenant isolation of warehouse access (docs/security.md): networks a connection may reach beyond
# public addresses (comma-separated CIDRs), whether a privileged warehouse role may run checks, and the
# Vault path segment under which an organization's secrets must lie (`<prefix>/<org-slug>/`).
DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS = env_networks("DATAXPIPE_WAREHOUSE_ALLOWED_NETWORKS")
DATAXPIPE_ALLOW_PRIVILEGED_WAREHOUSE_ROLES = env_bool("DATAXPIPE_ALLOW_PRIVILEGED_WAREHOUSE_ROLES", False)
DATAXPIPE_VAULT_PATH_PREFIX = env_str("DATAXPIPE_VAULT_PATH_PREFIX", "dataxpipe")
# A BigQuery connection without its own credentials_secret would run as the catalog's Google identity.
DATAXPIPE_BIGQUERY_ALLOW_PLATFORM_CREDENTIALS = env_bool("DATAXPIPE_BIGQUERY_ALLOW_PLATFORM_CREDENTIALS", False)

# --- Lineage ------------------------------------------------------------------------------
DATAXPIPE_LINEAGE_MAX_NODES = env_int("DATAXPIPE_LINEAGE_MAX_NODES", 5000)
DATAXPIPE_LINEAGE_MAX_EDGES = env_int("DATAXPIPE_LINEAGE_MAX_EDGES", 20_000)
DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS = env_int("DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS", 20_000)
DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES = env_int("DATAXPIPE_OPENLINEAGE_MAX_EVENT_BYTES", 8 * 1024 * 1024)
DATAXPIPE_OPENLINEAGE_MAX_EDGES_PER_EVENT = env_int("DATAXPIPE_OPENLINEAGE_MAX_EDGES_PER_EVENT", 10_000)

# --- Start-up, release and API docs (issue 14) ------------------------------------------------
# Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar): /api/docs/ works offline.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS.update(SWAGGER_UI_DIST="SIDECAR", SWAGGER_UI_FAVICON_HREF="SIDECAR", REDOC_DIST="SIDECAR")
# Django's own "django" handler prints every request warning a second time, unformatted, when DEBUG is on:
# one line per event (the root handler's, with the request id) is enough.
LOGGING["loggers"]["django"] = {"handlers": [], "level": "INFO", "propagate": True}

# A batch (POST /lineage/batch, /runs/batch, up to 1,000 events) decompressed: a gzip bomb stops here.
DATAXPIPE_MAX_BATCH_BYTES = env_int("DATAXPIPE_MAX_BATCH_BYTES", 16 * 1024 * 1024)
# OpenLineage events per API key and minute, batches counted by their events (orgs/throttling.py).
DATAXPIPE_OPENLINEAGE_THROTTLE_RATE = env_str("DATAXPIPE_OPENLINEAGE_THROTTLE_RATE", "30000/min")

# --- Alerts (issue 16): delivery retries, e-mail through Django's mail backend ---------------------------------
# A failed delivery is tried again after this, doubled each time (30 s, 1, 2, 4 min: 5 attempts in all).
DATAXPIPE_ALERT_RETRY_BASE_SECONDS = env_int("DATAXPIPE_ALERT_RETRY_BASE_SECONDS", 30)
# Networks a webhook or Slack URL may reach beyond public addresses (comma-separated CIDRs). Separate from the
# warehouse list: opening a private network for tenants' warehouses must not open every HTTP service in it to
# any organization admin's webhook (docs/security.md).
DATAXPIPE_ALERT_ALLOWED_NETWORKS = env_networks("DATAXPIPE_ALERT_ALLOWED_NETWORKS")
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT_SECONDS", 10)
DEFAULT_FROM_EMAIL = env_str("DATAXPIPE_ALERT_FROM_EMAIL", "DataXPipe alerts <alerts@localhost>")

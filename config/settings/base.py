"""Settings shared by every environment. Every value comes from the environment through
django-environ, with a default that works on a laptop (see `.env.example`)."""

from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
# Our own host, which requests for a store's domain are handled as (default: the first plain
# name in ALLOWED_HOSTS).
CANONICAL_HOST = env("CANONICAL_HOST", default="")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.DomainkeeperAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "config.apps.ProjectConfig",
    "accounts",
    "audit",
    "webhooks",
    "domains",
    "storefronts",
]

MIDDLEWARE = [
    # First: a store's own domain is mapped to its storefront (or refused) before anything
    # checks the host against ALLOWED_HOSTS.
    "storefronts.middleware.CustomDomainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.context.AuditContextMiddleware",
    "config.middleware.RejectNulBytesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.dashboard",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file: WAL lets readers run beside a writer, IMMEDIATE
    # takes the write lock when a transaction starts instead of failing halfway through it.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker, counters ------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dk",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N, static -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Email ------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Domainkeeper <noreply@localhost>")
# The SMTP relay the `local` provider hands signed mail to (with the smtp backend).
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Messages above this many recipients (to + cc + bcc) are refused: SES's own limit.
EMAIL_MAX_RECIPIENTS = env.int("EMAIL_MAX_RECIPIENTS", default=50)
# Accept addresses at `.test` names (RFC 6761): the test suite's DNS zone. Off in real use.
EMAIL_ALLOW_TEST_DOMAINS = env.bool("EMAIL_ALLOW_TEST_DOMAINS", default=False)
# How long an Idempotency-Key on POST /emails answers with its first result.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)

# --- Proxy ------------------------------------------------------------------------------
# How many reverse proxies stand in front of the app. Zero (the default) means no proxy
# header is trusted: neither X-Forwarded-Proto for HTTPS nor X-Forwarded-For for client IPs.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
if TRUSTED_PROXY_HOPS > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Product ----------------------------------------------------------------------------
BACKEND_BASE_URL = env("BACKEND_BASE_URL", default="http://127.0.0.1:8000")
CUSTOM_DOMAIN_TARGET = env("CUSTOM_DOMAIN_TARGET", default="") or (
    urlsplit(BACKEND_BASE_URL).hostname or "127.0.0.1"
)
CRON_SECRET = env("CRON_SECRET", default="")

# --- Secrets at rest ---------------------------------------------------------------------
# Fernet keys (urlsafe base64, 32 bytes), newest first; empty: one derived from SECRET_KEY.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])

# --- Webhooks ------------------------------------------------------------------------------
# Plain HTTP and loopback/private receivers: tests and local development only.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_USER_AGENT = "Domainkeeper-Webhooks/1.0"
# Deliveries the sweep sends at once (each in its own thread and database connection).
WEBHOOK_RELAY_THREADS = env.int("WEBHOOK_RELAY_THREADS", default=8)

# --- Audit log ----------------------------------------------------------------------------
# Days to keep audit events; 0 keeps them forever. Older events are archived, then pruned.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=0)
AUDIT_ARCHIVE_DIR = env("AUDIT_ARCHIVE_DIR", default=str(VAR_DIR / "audit-archive"))

# --- Sending domains ----------------------------------------------------------------------
# `local`: our own DKIM keys and DNS checks (no AWS needed); `ses`: Amazon SES identities.
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="local")
AWS_REGION = env("AWS_REGION", default="us-east-1")
SES_ALLOWED_REGIONS = env.list(
    "SES_ALLOWED_REGIONS",
    default=[
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "il-central-1",
        "me-south-1",
        "af-south-1",
        "us-gov-west-1",
    ],
)
# The `local` provider's records point at our own hosts, under the service's domain.
_SERVICE_HOST = urlsplit(BACKEND_BASE_URL).hostname or ""
SERVICE_DOMAIN = env(
    "SERVICE_DOMAIN",
    default=_SERVICE_HOST
    if "." in _SERVICE_HOST and not _SERVICE_HOST[-1].isdigit()
    else "domainkeeper.localhost",
)
LOCAL_DKIM_SELECTOR = env("LOCAL_DKIM_SELECTOR", default="dk1")
LOCAL_SPF_INCLUDE = env("LOCAL_SPF_INCLUDE", default=f"_spf.{SERVICE_DOMAIN}")
LOCAL_RETURN_PATH_HOST = env("LOCAL_RETURN_PATH_HOST", default="bounces")
LOCAL_RETURN_PATH_TARGET = env("LOCAL_RETURN_PATH_TARGET", default=f"return.{SERVICE_DOMAIN}")
LOCAL_DMARC_RUA = env("LOCAL_DMARC_RUA", default="")  # mailto: address for DMARC reports
# SES API calls per second across every worker (a shared limit, counted in the cache).
SES_MAX_RPS = env.int("SES_MAX_RPS", default=1)
# Requests per minute to the diagnose endpoint, per organization.
DIAGNOSE_RATE_LIMIT = env("DIAGNOSE_RATE_LIMIT", default="30/min")

# --- Storefront domains -----------------------------------------------------------------
# The TXT record that proves ownership: `<label>.<domain>` holding `<prefix>=<token>`.
STOREFRONT_VERIFY_LABEL = env("STOREFRONT_VERIFY_LABEL", default="_sendy-verify")
STOREFRONT_VERIFY_PREFIX = env("STOREFRONT_VERIFY_PREFIX", default="sendy-verify")
# How long each process keeps a public storefront lookup (by slug, by domain, for the TLS
# ask) in its own memory in front of the shared cache: a change made through another process
# shows within this many seconds (0: always ask the shared cache).
PUBLIC_LOCAL_CACHE_SECONDS = env.float("PUBLIC_LOCAL_CACHE_SECONDS", default=2.0)
# A/AAAA values a store's apex domain should point at (subdomains CNAME to the target).
CUSTOM_DOMAIN_TARGET_IPS = env.list("CUSTOM_DOMAIN_TARGET_IPS", default=[])
# The live probe of verified store domains (storefronts.live): HTTPS through the public name.
LIVE_PROBE_HTTPS_PORT = env.int("LIVE_PROBE_HTTPS_PORT", default=443)
# A PEM bundle of CAs to trust instead of the system's (a private CA in tests or staging).
LIVE_PROBE_CA_FILE = env("LIVE_PROBE_CA_FILE", default="")
# Seconds for each step (connect, TLS handshake, HTTP answer) of one probe.
LIVE_PROBE_TIMEOUT = env.float("LIVE_PROBE_TIMEOUT", default=5.0)
# Minutes after verification during which a missing certificate is `pending`, not `failed`.
LIVE_PROBE_TLS_GRACE_MINUTES = env.int("LIVE_PROBE_TLS_GRACE_MINUTES", default=60)
# The CA(s) our edge gets certificates from, as CAA `issue` values name them (RFC 8659).
TLS_CA_DOMAINS = env.list("TLS_CA_DOMAINS", default=["letsencrypt.org"])
# Days a verified domain a store clears or changes stays reserved to it: other stores can
# neither set it nor verify it, unless they prove ownership by DNS (0: no reservation).
CUSTOM_DOMAIN_HOLD_DAYS = env.int("CUSTOM_DOMAIN_HOLD_DAYS", default=7)

# --- DNS (dnscheck) -----------------------------------------------------------------------
# Resolvers for the public view, `host[:port],...`; empty: the system's (/etc/resolv.conf).
DNS_NAMESERVERS = env("DNS_NAMESERVERS", default="")
DNS_DOH_URL = env("DNS_DOH_URL", default="https://cloudflare-dns.com/dns-query")
DNS_AUTHORITATIVE_PORT = env.int("DNS_AUTHORITATIVE_PORT", default=53)
DNS_TIMEOUT = env.float("DNS_TIMEOUT", default=3.0)

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsOrganizationMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.negotiation.QuickContentNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.EnvelopeCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "principal": env("API_RATE_LIMIT", default="1200/min"),
        "diagnose": DIAGNOSE_RATE_LIMIT,
        "public": env("PUBLIC_API_RATE_LIMIT", default="300/min"),
    },
    "EXCEPTION_HANDLER": "config.envelope.api_exception_handler",
    # 0: the client address is REMOTE_ADDR; X-Forwarded-For is read only behind known proxies.
    "NUM_PROXIES": TRUSTED_PROXY_HOPS,
    "DEFAULT_SCHEMA_CLASS": "config.schema.EnvelopeAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Domainkeeper API",
    "DESCRIPTION": (
        "Bring-your-own-domain for SaaS customers. Authenticate with "
        "`Authorization: Bearer <api key>`. Every response is an envelope: "
        '`{"success": true, "message": ..., "data": ...}` or '
        '`{"success": false, "code": ..., "message": ..., "errors": ...}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The schema is public: a stale key in a browser extension must not make it a 401.
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["config.schema.only_public_api_endpoints"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.describe_webhook_event_types",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        # pending | verified | failed, for domains and their records alike
        "VerificationStatusEnum": "domains.models.SendingDomain.Status",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
    },
}

# --- Celery -----------------------------------------------------------------------------
# Without REDIS_URL, kombu's filesystem transport stands in for the broker, so web, worker
# and beat work on a laptop with nothing else running.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    # Longer than any countdown a task is given (webhook retries wait up to a day and 10 %),
    # so Redis never hands an unacknowledged delayed task to a second worker.
    {"visibility_timeout": 30 * 3600}
    if REDIS_URL
    else {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django logs every 4xx as a warning: a line per scanner's request for an unknown
        # host or a stale key, which the proxy's access log already has. Server errors
        # stay. REQUEST_LOG_LEVEL=WARNING brings the 4xx lines back.
        "django.request": {"level": env("REQUEST_LOG_LEVEL", default="ERROR")},
    },
}

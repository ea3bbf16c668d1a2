"""Test settings: pytest uses these. The database is SQLite unless DATABASE_URL names another
(CI runs the suite on PostgreSQL and on SQLite)."""

from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
WHITENOISE_AUTOREFRESH = True  # no collectstatic before tests
WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the test receiver listens on loopback
WEBHOOK_RELAY_THREADS = 1  # threads would not see the test transaction's rows
# The `local` provider's records point at a service domain the test DNS server serves.
SERVICE_DOMAIN = "dk-service.test"
LOCAL_SPF_INCLUDE = "_spf.dk-service.test"
LOCAL_RETURN_PATH_TARGET = "return.dk-service.test"
LOCAL_DMARC_RUA = "dmarc@dk-service.test"
EMAIL_PROVIDER = "local"
EMAIL_ALLOW_TEST_DOMAINS = True
AWS_REGION = "us-east-1"
# Tests talk to loopback only: DNS goes nowhere unless a test points it at its own server
# (the `dns` and `knot` fixtures).
DNS_NAMESERVERS = "127.0.0.1:9"
DNS_DOH_URL = "http://127.0.0.1:9/dns-query"
DNS_TIMEOUT = 1.0
SES_MAX_RPS = 100  # the rate limit has its own test

"""The Celery app. Settings live in Django settings under the CELERY_ namespace; the beat
schedule is declared here, in one place, and django-celery-beat's database scheduler syncs
it into the database at start so staff can pause an entry from the admin."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("domainkeeper")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job, with its cron written out. Installed into django-celery-beat's
# tables on every `migrate` (config.apps), so staff see and can pause them in the admin.
BEAT_SCHEDULE = {
    # * * * * *  (every minute): sending domains due a check (the rows' own schedule decides:
    # every minute in a pending domain's first hour, then 5 and 30 minutes; verified daily)
    "domains-poll": {"task": "domains.poll", "schedule": crontab(minute="*")},
    # 10 0 * * *  (00:10 UTC daily): warmups that completed
    "domains-warmup": {
        "task": "domains.warmup_bookkeeping",
        "schedule": crontab(minute="10", hour="0"),
    },
    # 15 * * * *  (hourly): verified storefront domains whose daily re-check is due, and
    # storefront domain holds past their end
    "storefronts-recheck": {
        "task": "storefronts.recheck_domains",
        "schedule": crontab(minute="15"),
    },
    # * * * * *  (every minute): verified storefront domains due their live probe (the rows
    # decide: right after verification, then every 6 hours, every 10 minutes while not live)
    "storefronts-live-probe": {
        "task": "storefronts.probe_live_status",
        "schedule": crontab(minute="*"),
    },
    # * * * * *  (every minute): webhook deliveries whose enqueue was lost, or whose worker died
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": crontab(minute="*")},
    # 30 3 * * *  (03:30 UTC daily): archive and prune audit events past AUDIT_RETENTION_DAYS
    "audit-prune": {"task": "audit.prune", "schedule": crontab(minute="30", hour="3")},
}
app.conf.beat_schedule = BEAT_SCHEDULE

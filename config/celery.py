"""The Celery app. Settings live in Django settings under the CELERY_ namespace; the beat
schedule is declared here, in one place, and django-celery-beat's database scheduler syncs
it into the database at start so staff can pause an entry from the admin."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("domainkeeper")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Entries are added by the apps that own the work, each with its cron written out.
app.conf.beat_schedule = {}

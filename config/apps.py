from typing import Any

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


def install_beat_schedule(**kwargs: Any) -> None:
    """Writes every entry of config.celery.BEAT_SCHEDULE into django-celery-beat's tables
    (idempotent: an existing entry is updated, not duplicated; a paused one stays paused)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from config.celery import BEAT_SCHEDULE

    for name, entry in BEAT_SCHEDULE.items():
        cron = entry["schedule"]
        schedule, _ = CrontabSchedule.objects.get_or_create(
            minute=cron._orig_minute,
            hour=cron._orig_hour,
            day_of_week=cron._orig_day_of_week,
            day_of_month=cron._orig_day_of_month,
            month_of_year=cron._orig_month_of_year,
            timezone="UTC",
        )
        task, created = PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": entry["task"], "crontab": schedule}
        )
        if not created and (task.task != entry["task"] or task.crontab_id != schedule.pk):
            task.task, task.crontab, task.interval = entry["task"], schedule, None
            task.save()


class ProjectConfig(AppConfig):
    name = "config"
    verbose_name = "Domainkeeper"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, dispatch_uid="install-beat-schedule")


def _after_migrate(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "name", "") == "django_celery_beat":
        install_beat_schedule()


class DomainkeeperAdminConfig(AdminConfig):
    """Django's admin app with our site (the domain search) as `admin.site`."""

    default_site = "config.admin.DomainkeeperAdminSite"

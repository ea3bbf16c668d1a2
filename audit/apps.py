from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _rearm_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from audit.db import install_append_only_triggers

    install_append_only_triggers(connections[using])


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import signals  # noqa: F401 - sign-ins and Celery tasks set the actor
        from audit.admin import audit_every_registered_admin

        audit_every_registered_admin()
        post_migrate.connect(_rearm_triggers, sender=self, dispatch_uid="audit-triggers")

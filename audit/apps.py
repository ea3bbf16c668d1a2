from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import signals  # noqa: F401 - sign-ins and Celery tasks set the actor
        from audit.admin import audit_every_registered_admin

        audit_every_registered_admin()

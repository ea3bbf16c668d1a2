from celery import shared_task
from django.core.management import call_command


@shared_task(name="audit.prune")
def prune_audit_events() -> None:
    """Daily: applies AUDIT_RETENTION_DAYS (a no-op while it is 0, keep forever)."""
    call_command("prune_audit_events")

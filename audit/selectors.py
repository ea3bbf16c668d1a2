from typing import Any

from django.db.models import QuerySet

from audit.models import AuditEvent, AuditTarget


def audit_events_for(*, organization: Any, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(organization=organization)
    action = filters.get("action")
    if action:
        if action.endswith("*"):
            events = events.filter(action__startswith=action[:-1])
        else:
            events = events.filter(action=action)
    for name in ("outcome", "actor_type", "actor_id"):
        if filters.get(name):
            events = events.filter(**{name: filters[name]})
    if filters.get("since"):
        events = events.filter(occurred_at__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(occurred_at__lt=filters["until"])
    if filters.get("target_id") or filters.get("target_type"):
        rows = AuditTarget.objects.filter(organization=organization)
        if filters.get("target_id"):
            rows = rows.filter(target_id=filters["target_id"])
        if filters.get("target_type"):
            rows = rows.filter(target_type=filters["target_type"])
        events = events.filter(sequence__in=rows.values("event_id"))
    return events

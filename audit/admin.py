import json
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from audit.models import AuditEvent
from audit.services import record, target

REDACTED_FIELDS = ("password", "secret", "token", "hash")


def _organization_of(obj: Model) -> Any:
    if obj._meta.label == "accounts.Organization":
        return obj
    return getattr(obj, "organization_id", None)


def _safe(value: Any) -> Any:
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, QuerySet | list | tuple | set):
        return [_safe(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


class AuditedModelAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the admin is an audit event too, by the staff
    user, with the changed fields' old and new values (secrets redacted)."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        request._audit_changes = {
            name: (
                ["(redacted)", "(redacted)"]
                if any(word in name for word in REDACTED_FIELDS)
                else [_safe(form.initial.get(name)), _safe(form.cleaned_data.get(name))]
            )
            for name in form.changed_data
        }
        super().save_model(request, obj, form, change)

    def _record(self, request: HttpRequest, verb: str, obj: Model, message: Any = None) -> None:
        changes = getattr(request, "_audit_changes", {}) if verb != "deleted" else {}
        record(
            action=f"admin.{target(obj)['type']}.{verb}",
            organization=_organization_of(obj),
            targets=[target(obj)],
            changes=changes,
            metadata={"admin_message": json.loads(message) if _is_json(message) else message},
        )

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._record(request, "created", obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._record(request, "changed", obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self._record(request, "deleted", obj)
        return super().log_deletions(request, queryset)


def audit_every_registered_admin(site: admin.AdminSite = admin.site) -> None:
    """Gives every ModelAdmin on the site, third-party ones too (Celery beat schedules,
    groups), the same audit trail as ours. Runs once the admin modules are loaded."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, AuditedModelAdmin):
            continue
        audited = type(
            f"Audited{type(model_admin).__name__}", (AuditedModelAdmin, type(model_admin)), {}
        )
        site.unregister(model)
        site.register(model, audited)


def _is_json(message: Any) -> bool:
    if not isinstance(message, str) or not message.startswith("["):
        return False
    try:
        json.loads(message)
    except ValueError:
        return False
    return True


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, so nobody adds, changes or deletes here."""

    list_display = [
        "occurred_at",
        "action",
        "outcome",
        "actor_type",
        "actor_name",
        "organization",
        "id",
    ]
    list_filter = ["outcome", "actor_type", "action"]
    search_fields = ["id", "action", "actor_name", "actor_id", "organization__name"]
    date_hierarchy = "occurred_at"
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

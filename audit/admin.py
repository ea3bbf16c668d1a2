import json
from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.text import slugify

from audit.models import AuditChainHead, AuditEvent, AuditTarget
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
        changes = dict(getattr(request, "_audit_changes", {})) if verb != "deleted" else {}
        metadata = {"admin_message": json.loads(message) if _is_json(message) else message}
        moved = changes.get("organization")
        if moved and moved[0] and moved[0] != moved[1]:
            # Each organization sees that the object left or arrived, never the other's id.
            record(
                action=f"admin.{target(obj)['type']}.moved_out",
                organization=moved[0],
                targets=[target(obj)],
                changes={"organization": [moved[0], "(another organization)"]},
                metadata=metadata,
            )
            changes["organization"] = ["(another organization)", moved[1]]
        record(
            action=f"admin.{target(obj)['type']}.{verb}",
            organization=_organization_of(obj),
            targets=[target(obj)],
            changes=changes,
            metadata=metadata,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Inline rows (an organization's memberships) are changes too, each recorded."""
        edits = []
        for inline_form in formset.forms:
            if not inline_form.has_changed() or inline_form in formset.deleted_forms:
                continue
            edits.append(
                (
                    inline_form,
                    {
                        name: [
                            _safe(inline_form.initial.get(name)),
                            _safe(inline_form.cleaned_data.get(name)),
                        ]
                        for name in inline_form.changed_data
                    },
                )
            )
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk]
        for obj in deleted:
            record(
                action=f"admin.{target(obj)['type']}.deleted",
                organization=_organization_of(obj),
                targets=[target(obj)],
            )
        super().save_formset(request, form, formset, change)
        for inline_form, changes in edits:
            obj = inline_form.instance
            verb = "changed" if inline_form.initial else "created"
            record(
                action=f"admin.{target(obj)['type']}.{verb}",
                organization=_organization_of(obj),
                targets=[target(obj)],
                changes=changes,
            )

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> Any:
        """Bulk actions (revoke keys, disable beat tasks) often `update()` rows directly;
        the action and what it was applied to are recorded."""
        name = request.POST.get("action", "")
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        response = super().response_action(request, queryset)
        if name and name != "delete_selected":  # deletions are recorded one by one
            model = self.model
            record(
                action=f"admin.{slugify(model._meta.verbose_name).replace('-', '_')}.action",
                metadata={"action": name, "selected": selected[:500]},
            )
        return response

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        """Rows shown read-only (records, deliveries, counters) go with what they belong
        to: nobody may delete them one by one, but they must not block deleting a domain
        or an endpoint."""
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        read_only = {
            str(model._meta.verbose_name)
            for model, model_admin in self.admin_site._registry.items()
            if isinstance(model_admin, ReadOnlyModelAdmin)
        }
        return to_delete, model_count, perms_needed - read_only, protected

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


class ListedFieldsReadOnly:
    """Every field listed in `fields` is read-only (a non-editable one, `created_at`, may
    then be listed too); without `fields`, the admin's own `readonly_fields`."""

    fields: Sequence[str] | None = None

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Sequence[str]:
        return self.fields or super().get_readonly_fields(request, obj)  # type: ignore[misc]


class ReadOnlyModelAdmin(ListedFieldsReadOnly, AuditedModelAdmin):
    """For rows that record what happened (logs, attempts, counters) or that a service
    derives: shown to staff, never added, changed or deleted here, superusers included."""

    # These tables only grow: a filtered or searched list counts its matches, not also
    # the whole table every time.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyTabularInline(ListedFieldsReadOnly, admin.TabularInline):
    """The same for rows listed under what they belong to (a domain's records, an event's
    deliveries): shown with it, never added, changed or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AuditTargetInline(ReadOnlyTabularInline):
    model = AuditTarget
    fields = ["target_type", "target_id"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """The log is append-only: nobody adds, changes or deletes here."""

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
    search_fields = [
        "id",
        "action",
        "actor_name",
        "actor_id",
        "organization__name",
        "=target_rows__target_id",
    ]
    date_hierarchy = "occurred_at"
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    inlines = [AuditTargetInline]


@admin.register(AuditTarget)
class AuditTargetAdmin(ReadOnlyModelAdmin):
    """What each event touched, one row per target: find every event about an object."""

    list_display = ["target_type", "target_id", "event", "organization"]
    list_filter = ["target_type"]
    search_fields = ["=target_id", "=event__id", "organization__name"]
    list_select_related = ["event", "organization"]
    readonly_fields = ["event", "organization", "target_type", "target_id"]


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyModelAdmin):
    """Where each organization's hash chain ends; the next event links to it. Everything
    is in the list: the global chain's key is "", which no admin URL can carry."""

    list_display = ["chain_name", "position", "hash"]
    list_display_links = None
    search_fields = ["=chain"]
    readonly_fields = ["chain", "position", "hash"]

    @admin.display(description="Chain", ordering="chain")
    def chain_name(self, obj: AuditChainHead) -> str:
        return obj.chain or "(global)"

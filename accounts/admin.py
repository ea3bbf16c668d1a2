from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import ApiKey, Membership, Organization, Tenant, User
from accounts.services import api_key_create, api_key_revoke
from audit.admin import AuditedModelAdmin
from config.admin import ActionReport


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Organization)
class OrganizationAdmin(AuditedModelAdmin):
    list_display = ["name", "id", "created_at"]
    search_fields = ["name", "id", "memberships__user__email"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__email", "user__name", "organization__name", "=organization__id"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Tenant)
class TenantAdmin(AuditedModelAdmin):
    list_display = ["name", "id", "organization", "external_id", "created_at"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    search_fields = ["name", "id", "external_id", "organization__name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    autocomplete_fields = ["organization"]


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedModelAdmin):
    """Keys are created here through the same service as in the dashboard, so the secret
    is hashed before it is stored; it is shown once, in the message after saving."""

    list_display = ["name", "prefix", "organization", "active", "last_used_at", "created_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["name", "prefix", "organization__name", "id"]
    autocomplete_fields = ["organization"]
    actions = ["revoke_keys"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["organization", "name"]
        return [
            "id",
            "organization",
            "name",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return [
            "id",
            "organization",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    @admin.display(boolean=True, description="Active")
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        issued = api_key_create(
            organization=obj.organization, name=obj.name, created_by=request.user
        )
        # The admin goes on to use `obj` (its pk for the redirect and the log entry).
        obj.pk = issued.api_key.pk
        obj.prefix = issued.api_key.prefix
        obj.secret_hash = issued.api_key.secret_hash
        obj._state.adding = False
        messages.warning(
            request,
            f"API key for {obj.organization}: {issued.raw_key} — copy it now, it is not "
            "shown again.",
        )

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        report = ActionReport()
        for api_key in queryset:
            if api_key.revoked_at is not None:
                report.skip("already revoked", api_key)
            else:
                api_key_revoke(api_key=api_key)
                report.ok("Revoked", api_key)
        report.send(self, request)

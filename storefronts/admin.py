from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin, ReadOnlyModelAdmin, ReadOnlyTabularInline
from config.admin import ActionReport, DomainNameSearchMixin, first_of_selection
from config.errors import ServiceError
from dnscheck.names import to_display
from storefronts.models import (
    CustomDomainHold,
    Order,
    OrderLine,
    OrderOtp,
    Product,
    Store,
    Storefront,
)
from storefronts.services import storefront_recheck_domain, storefront_verify_domain

RECHECK_OUTCOMES = {
    "ok": "Re-checked, still verified",
    "missing": "Re-checked, token missing (counts toward unverifying)",
    "unverified": "Re-checked, token gone: unverified",
}


class ProductInline(admin.TabularInline):
    model = Product
    extra = 0
    fields = ["name", "price", "currency", "stock", "active"]


class CustomDomainHoldInline(ReadOnlyTabularInline):
    """Verified domains this storefront let go, reserved to it until `until` (an expired
    one no longer holds anything). They end through the services: set again, reclaimed
    by proof, or expired."""

    model = CustomDomainHold
    fields = ["domain", "until", "token", "created_at"]
    ordering = ["-until"]


@admin.register(Store)
class StoreAdmin(AuditedModelAdmin):
    list_display = ["name", "organization", "storefront_slug", "created_at"]
    list_select_related = ["organization", "storefront"]
    search_fields = ["name", "=id", "organization__name", "storefront__slug"]
    autocomplete_fields = ["organization"]

    @admin.display(description="Storefront", ordering="storefront__slug")
    def storefront_slug(self, obj: Store) -> str:
        storefront = getattr(obj, "storefront", None)
        return storefront.slug if storefront else "-"


@admin.register(Storefront)
class StorefrontAdmin(DomainNameSearchMixin, AuditedModelAdmin):
    """Domain fields are read-only: they change through the contract's endpoints, which
    verify ownership and fire events."""

    list_display = [
        "slug",
        "title",
        "store",
        "organization",
        "published",
        "custom_domain",
        "custom_domain_verified",
        "custom_domain_verified_at",
        "domain_last_checked_at",
    ]
    list_filter = [
        "published",
        "custom_domain_verified",
        ("custom_domain", admin.EmptyFieldListFilter),
        ("deleted_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["store__organization"]
    search_fields = [
        "slug",
        "title",
        "custom_domain",
        "=id",
        "store__name",
        "store__organization__name",
    ]
    domain_name_fields = ("custom_domain",)
    date_hierarchy = "created_at"
    readonly_fields = [
        "store",
        "custom_domain",
        "custom_domain_pair",
        "custom_domain_pair_primary",
        "custom_domain_site",
        "custom_domain_verification_token",
        "custom_domain_verified",
        "custom_domain_verified_at",
        "domain_next_check_at",
        "domain_missing_checks",
        "domain_first_missing_at",
        "domain_last_checked_at",
        "routing_status",
        "tls_status",
        "live_hint",
        "live_observed",
        "live_checked_at",
        "live_next_check_at",
        "created_at",
        "updated_at",
    ]
    inlines = [ProductInline, CustomDomainHoldInline]
    actions = ["reverify_custom_domain"]

    @admin.display(description="Organization", ordering="store__organization__name")
    def organization(self, obj: Storefront) -> str:
        return str(obj.store.organization)

    def domain_search_label(self, obj: Storefront) -> str:
        return to_display(obj.custom_domain) if obj.custom_domain else obj.slug

    def domain_search_detail(self, obj: Storefront) -> str:
        state = "verified" if obj.custom_domain_verified else "not verified"
        return f"Custom domain of storefront {obj.slug} ({obj.store.organization}) · {state}"

    @admin.action(description="Re-verify custom domain", permissions=["change"])
    def reverify_custom_domain(self, request: HttpRequest, queryset: QuerySet[Storefront]) -> None:
        """An unverified domain is verified if its TXT token is published; a verified one
        gets the periodic re-check now (only repeated definite absence unverifies)."""
        report = ActionReport()
        selected = queryset.select_related("store")
        for storefront in first_of_selection(self, request, selected):
            if not storefront.custom_domain:
                report.skip("no custom domain set", storefront)
            elif storefront.custom_domain_verified:
                outcome = storefront_recheck_domain(storefront=storefront)
                if outcome == "transient":
                    report.skip("DNS did not answer, nothing changed", storefront.custom_domain)
                else:
                    report.ok(RECHECK_OUTCOMES[outcome], storefront.custom_domain)
            else:
                try:
                    storefront_verify_domain(storefront=storefront)
                except ServiceError as exc:
                    report.skip(f"not verified ({exc.message})", storefront.custom_domain)
                else:
                    report.ok("Verified", storefront.custom_domain)
        report.send(self, request)


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = ["name", "storefront", "price", "currency", "stock", "active", "created_at"]
    list_filter = ["active", "currency"]
    list_select_related = ["storefront"]
    search_fields = ["name", "=id", "storefront__slug", "storefront__store__organization__name"]
    autocomplete_fields = ["storefront"]


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    readonly_fields = ["product", "name", "quantity", "unit_price", "line_total"]


@admin.register(Order)
class OrderAdmin(ReadOnlyModelAdmin):
    """Orders are placed by customers (stock, prices and the emailed code are checked
    there); here they are history."""

    list_display = ["id", "storefront", "customer_email", "total", "currency", "created_at"]
    list_filter = ["currency"]
    list_select_related = ["storefront"]
    search_fields = ["=id", "customer_email", "customer_name", "storefront__slug"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "storefront",
        "customer_email",
        "customer_name",
        "total",
        "currency",
        "created_at",
    ]
    inlines = [OrderLineInline]


@admin.register(OrderOtp)
class OrderOtpAdmin(ReadOnlyModelAdmin):
    """Codes sent before orders: when, to whom, and whether used. The code's hash is
    never shown."""

    list_display = ["email", "storefront", "created_at", "expires_at", "attempts", "used_at"]
    list_filter = [("used_at", admin.EmptyFieldListFilter)]
    list_select_related = ["storefront"]
    search_fields = ["email", "storefront__slug"]
    date_hierarchy = "created_at"
    fields = ["storefront", "email", "created_at", "expires_at", "attempts", "used_at"]


@admin.register(CustomDomainHold)
class CustomDomainHoldAdmin(ReadOnlyModelAdmin):
    """Verified domains stores let go, each reserved to its store until `until`. They end
    through the services (set again, reclaimed by proof, expired), never here."""

    list_display = ["domain", "storefront", "until", "created_at"]
    list_select_related = ["storefront"]
    search_fields = ["domain", "storefront__slug"]
    fields = ["domain", "storefront", "token", "until", "created_at"]

from django.contrib import admin

from audit.admin import AuditedModelAdmin
from storefronts.models import Order, OrderLine, Product, Store, Storefront


class ProductInline(admin.TabularInline):
    model = Product
    extra = 0
    fields = ["name", "price", "currency", "stock", "active"]


@admin.register(Store)
class StoreAdmin(AuditedModelAdmin):
    list_display = ["name", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]


@admin.register(Storefront)
class StorefrontAdmin(AuditedModelAdmin):
    """Domain fields are read-only: they change through the contract's endpoints, which
    verify ownership and fire events."""

    list_display = ["slug", "title", "published", "custom_domain", "custom_domain_verified"]
    list_filter = ["published", "custom_domain_verified"]
    search_fields = ["slug", "title", "custom_domain"]
    readonly_fields = [
        "store",
        "custom_domain",
        "custom_domain_verification_token",
        "custom_domain_verified",
        "custom_domain_verified_at",
        "domain_next_check_at",
        "domain_missing_checks",
        "domain_first_missing_at",
        "domain_last_checked_at",
        "created_at",
        "updated_at",
    ]
    inlines = [ProductInline]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ["product", "name", "quantity", "unit_price", "line_total"]


@admin.register(Order)
class OrderAdmin(AuditedModelAdmin):
    list_display = ["id", "storefront", "customer_email", "total", "currency", "created_at"]
    list_select_related = ["storefront"]
    readonly_fields = [
        "storefront",
        "customer_email",
        "customer_name",
        "total",
        "currency",
        "created_at",
    ]
    inlines = [OrderLineInline]

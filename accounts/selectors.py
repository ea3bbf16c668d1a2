"""Reads for accounts."""

from django.db.models import QuerySet

from accounts.models import ApiKey, Membership, Organization, Tenant, User


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("created_at", "pk")
    )


def membership_for(*, user: User, organization_id: str) -> Membership | None:
    return (
        Membership.objects.filter(user=user, organization_id=organization_id)
        .select_related("organization")
        .first()
    )


def tenants_for(*, organization: Organization) -> QuerySet[Tenant]:
    return Tenant.objects.filter(organization=organization)


def api_keys_for(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("created_by")

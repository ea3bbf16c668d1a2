"""What a caller may do, and in which organization.

Every API request acts in exactly one organization: an API key's own, or for a dashboard
session the one kept in the session (the user's first membership when none is kept). The
first permission check puts it on `request.organization` and the caller's role on
`request.organization_role`; viewsets scope their querysets to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.authentication import ApiKeyPrincipal
from accounts.models import Membership
from accounts.selectors import membership_for, memberships_for_user
from audit.services import record

if TYPE_CHECKING:  # DRF loads these classes while rest_framework.views is importing
    from rest_framework.views import APIView

SESSION_ORGANIZATION_KEY = "organization_id"

# Named permissions (as the storefront contract names them) and the roles that hold them.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Membership.Role.OWNER: frozenset(
        {
            "organization.manage",
            "domains.view",
            "domains.manage",
            "store.storefront.view",
            "store.storefront.manage",
        }
    ),
    Membership.Role.STAFF: frozenset({"domains.view", "store.storefront.view"}),
}


def resolve_organization(request: Request | HttpRequest) -> None:
    """Sets `request.organization` and `request.organization_role`, or raises."""
    if getattr(request, "organization", None) is not None:
        return
    user = request.user
    if not user or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    if isinstance(user, ApiKeyPrincipal):
        request.organization = user.api_key.organization
        request.organization_role = Membership.Role.OWNER
        return
    membership = None
    wanted = request.session.get(SESSION_ORGANIZATION_KEY)
    if wanted:
        membership = membership_for(user=user, organization_id=wanted)
    if membership is None:
        membership = memberships_for_user(user=user).first()
        if membership is None:
            raise exceptions.PermissionDenied(
                "You are not a member of any organization.", code="NO_ORGANIZATION"
            )
        request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    request.organization = membership.organization
    request.organization_role = membership.role


def record_denial(request: Request | HttpRequest, permission: str) -> None:
    """A member tried something their role does not allow: worth an audit event."""
    record(
        action="authorization.denied",
        organization=request.organization,
        outcome="denied",
        metadata={
            "permission": permission,
            "role": request.organization_role,
            "method": request.method,
            "path": request.path,
        },
    )


def has_org_permission(request: Request | HttpRequest, permission: str) -> bool:
    resolve_organization(request)
    return permission in ROLE_PERMISSIONS.get(request.organization_role, frozenset())


class IsOrganizationMember(BasePermission):
    """Any member (or API key) of the organization the request acts in."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        resolve_organization(request)
        return True


class HasOrgPermission(IsOrganizationMember):
    """Subclass with `required` set to one name from ROLE_PERMISSIONS."""

    required: str = ""
    message = "Your role in this organization does not allow this action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        allowed = has_org_permission(request, self.required)
        if not allowed:
            record_denial(request, self.required)
        return allowed


class IsOrganizationOwner(HasOrgPermission):
    required = "organization.manage"
    message = "Only an owner of this organization can do this."


class OwnerWritesMembersRead(IsOrganizationMember):
    """Members may read; changes need the owner role."""

    message = IsOrganizationOwner.message

    def has_permission(self, request: Request, view: APIView) -> bool:
        resolve_organization(request)
        if request.method in SAFE_METHODS:
            return True
        allowed = has_org_permission(request, "organization.manage")
        if not allowed:
            record_denial(request, "organization.manage")
        return allowed


class StorefrontView(HasOrgPermission):
    required = "store.storefront.view"


class StorefrontManage(HasOrgPermission):
    required = "store.storefront.manage"
    message = "Managing the storefront needs the store.storefront.manage permission."

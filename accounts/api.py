"""API views for accounts: the caller's organization, tenants (both surfaces), and API keys
(dashboard only: a key cannot mint keys)."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyPrincipal
from accounts.models import ApiKey, Tenant
from accounts.permissions import (
    SESSION_ORGANIZATION_KEY,
    IsOrganizationMember,
    IsOrganizationOwner,
    OwnerWritesMembersRead,
    resolve_organization,
)
from accounts.selectors import api_keys_for, membership_for, memberships_for_user
from accounts.serializers import (
    ApiKeyInputSerializer,
    ApiKeySerializer,
    CurrentOrganizationInputSerializer,
    MembershipSerializer,
    OrganizationSerializer,
    TenantInputSerializer,
    TenantSerializer,
    WhoAmISerializer,
)
from accounts.services import (
    api_key_create,
    api_key_revoke,
    organization_switch,
    tenant_create,
    tenant_delete,
    tenant_update,
)
from accounts.viewsets import OrganizationScopedViewSet
from config.envelope import respond
from config.errors import NotFoundError

TENANT_ID = r"tnt_[A-Za-z0-9]+"
API_KEY_ID = r"key_[A-Za-z0-9]+"


class WhoAmIView(APIView):
    """The organization this request acts in, the caller's role, and the key used."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(responses=WhoAmISerializer, operation_id="organization_retrieve")
    def get(self, request: Request) -> Response:
        resolve_organization(request)
        api_key = request.user.api_key if isinstance(request.user, ApiKeyPrincipal) else None
        data = WhoAmISerializer(
            {
                "organization": request.organization,
                "role": request.organization_role,
                "api_key": api_key,
            }
        ).data
        return respond(data)


class TenantViewSet(OrganizationScopedViewSet):
    """Tenants are the organization's own customers; sending domains can be bound to one."""

    queryset = Tenant.objects.all()
    permission_classes = [OwnerWritesMembersRead]
    lookup_value_regex = TENANT_ID

    @extend_schema(responses=TenantSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TenantSerializer(page, many=True).data)

    @extend_schema(request=TenantInputSerializer, responses={201: TenantSerializer})
    def create(self, request: Request) -> Response:
        payload = TenantInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        tenant = tenant_create(organization=request.organization, **payload.validated_data)
        return respond(TenantSerializer(tenant).data, "Tenant created.", status=201)

    @extend_schema(responses=TenantSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return respond(TenantSerializer(self.get_object()).data)

    @extend_schema(request=TenantInputSerializer, responses=TenantSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        tenant = self.get_object()
        payload = TenantInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        tenant = tenant_update(tenant=tenant, **payload.validated_data)
        return respond(TenantSerializer(tenant).data, "Tenant updated.")

    @extend_schema(responses={200: TenantSerializer})
    def destroy(self, request: Request, pk: str) -> Response:
        tenant = self.get_object()
        data = TenantSerializer(tenant).data
        tenant_delete(tenant=tenant)
        return respond(data, "Tenant deleted.")


class ApiKeyViewSet(OrganizationScopedViewSet):
    """API keys of the organization. Owners only; the secret is in the create response
    and nowhere else."""

    queryset = ApiKey.objects.select_related("created_by")
    permission_classes = [IsOrganizationOwner]
    lookup_value_regex = API_KEY_ID

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(api_keys_for(organization=request.organization))
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        payload = ApiKeyInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        issued = api_key_create(
            organization=request.organization,
            name=payload.validated_data["name"],
            created_by=request.user,
        )
        data = {**ApiKeySerializer(issued.api_key).data, "key": issued.raw_key}
        return respond(data, "API key created. Copy it now: it is not shown again.", status=201)

    def retrieve(self, request: Request, pk: str) -> Response:
        return respond(ApiKeySerializer(self.get_object()).data)

    def destroy(self, request: Request, pk: str) -> Response:
        api_key = api_key_revoke(api_key=self.get_object())
        return respond(ApiKeySerializer(api_key).data, "API key revoked.")


class MyOrganizationsView(APIView):
    """The dashboard user's organizations, and which one the session acts in."""

    permission_classes = [IsOrganizationMember]

    def get(self, request: Request) -> Response:
        resolve_organization(request)
        memberships = memberships_for_user(user=request.user)
        data = MembershipSerializer(
            memberships, many=True, context={"current_organization_id": request.organization.pk}
        ).data
        return respond(data)


class CurrentOrganizationView(APIView):
    """Switches the organization the dashboard session acts in."""

    permission_classes = [IsOrganizationMember]

    def post(self, request: Request) -> Response:
        payload = CurrentOrganizationInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = membership_for(
            user=request.user, organization_id=payload.validated_data["organization_id"]
        )
        if membership is None:
            raise NotFoundError("No such organization among yours.")
        organization_switch(user=request.user, membership=membership)
        request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
        return respond(
            OrganizationSerializer(membership.organization).data,
            f"Now working in {membership.organization.name}.",
        )

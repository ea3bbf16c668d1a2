"""Sending domains over both API surfaces (the same services behind each)."""

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Tenant
from accounts.permissions import IsOrganizationMember, OwnerWritesMembersRead
from accounts.throttling import DiagnoseThrottle, PrincipalRateThrottle
from accounts.viewsets import OrganizationScopedViewSet
from config.envelope import respond
from config.errors import InvalidInputError, NotFoundError
from domains.models import SendingDomain
from domains.sending import sending_domain_send_test_email
from domains.serializers import (
    CreateInputSerializer,
    DiagnosisSerializer,
    DomainFilterSerializer,
    DomainSerializer,
    DomainTenantInputSerializer,
    InternalCreateInputSerializer,
    MessageSerializer,
    RecheckInputSerializer,
    RegionInputSerializer,
    TestEmailInputSerializer,
    VerifyResultSerializer,
    WarmupInputSerializer,
    result_data,
)
from domains.services import (
    sending_domain_create,
    sending_domain_delete,
    sending_domain_diagnose,
    sending_domain_set_region,
    sending_domain_set_tenant,
    sending_domain_start_warmup,
    sending_domain_verify,
)

DOMAIN_ID = r"dom_[A-Za-z0-9]+"


def _tenant(request: Request, tenant_id: str | None, field: str = "tenant_id") -> Tenant | None:
    if not tenant_id:
        return None
    tenant = Tenant.objects.filter(organization=request.organization, pk=tenant_id).first()
    if tenant is None:
        raise InvalidInputError("No such tenant.", errors={field: ["No such tenant."]})
    return tenant


class SendingDomainViewSet(OrganizationScopedViewSet):
    """Domains the organization sends mail from: the records to publish, each record's
    status and hint, verification, diagnose, warmup, region and tenant."""

    queryset = SendingDomain.objects.select_related("tenant").prefetch_related("records")
    permission_classes = [OwnerWritesMembersRead]
    lookup_value_regex = DOMAIN_ID

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "diagnose":  # reads only: staff may too
            return [IsOrganizationMember()]
        return super().get_permissions()

    def _domain_response(self, domain: SendingDomain, message: str, status: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=domain.pk)
        return respond(DomainSerializer(fresh).data, message, status=status)

    def _filtered(self, request: Request) -> QuerySet[SendingDomain]:
        filters = DomainFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        domains = self.get_queryset()
        if "status" in filters.validated_data:
            domains = domains.filter(status=filters.validated_data["status"])
        if "tenant" in filters.validated_data:
            domains = domains.filter(tenant_id=filters.validated_data["tenant"])
        return domains

    @extend_schema(parameters=[DomainFilterSerializer], responses=DomainSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self._filtered(request))
        return self.get_paginated_response(DomainSerializer(page, many=True).data)

    @extend_schema(request=CreateInputSerializer, responses={201: DomainSerializer})
    def create(self, request: Request) -> Response:
        if self.api_surface == "internal":
            payload = InternalCreateInputSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            domain = sending_domain_create(
                organization=request.organization,
                name=data["domain"],
                tenant=_tenant(request, data.get("tenantId"), "tenantId"),
                name_field="domain",
            )
        else:
            payload = CreateInputSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            domain = sending_domain_create(
                organization=request.organization,
                name=data["name"],
                tenant=_tenant(request, data.get("tenant_id")),
                region=data.get("region"),
                mail_from_label=data.get("mail_from_label", ""),
            )
        return self._domain_response(
            domain, "Domain added. Publish its DNS records, then verify.", status=201
        )

    @extend_schema(responses=DomainSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return respond(DomainSerializer(self.get_object()).data)

    @extend_schema(responses={200: DomainSerializer})
    def destroy(self, request: Request, pk: str) -> Response:
        domain = self.get_object()
        data = DomainSerializer(domain).data
        if not sending_domain_delete(domain=domain):
            raise NotFoundError()  # removed by a request that came just before
        return respond(data, "Domain removed.")

    def _verify(self, domain: SendingDomain) -> Response:
        outcome = sending_domain_verify(domain=domain, requested=True)
        provider = outcome.provider_status
        fresh = self.get_queryset().get(pk=domain.pk)
        data = {
            "domain": DomainSerializer(fresh).data,
            "changed": outcome.changed,
            "transient": outcome.transient,
            "provider": {
                "verified": provider.verified if provider else None,
                "dkim_status": provider.dkim_status if provider else "",
                "error_type": provider.error_type if provider else "",
            },
        }
        return respond(data, outcome.message)

    @extend_schema(request=None, responses=VerifyResultSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str) -> Response:
        """Re-check now: asks the provider and checks every record in DNS."""
        return self._verify(self.get_object())

    @extend_schema(request=None, responses=DiagnosisSerializer)
    @action(
        detail=True,
        methods=["post"],
        throttle_classes=[PrincipalRateThrottle, DiagnoseThrottle],
    )
    def diagnose(self, request: Request, pk: str) -> Response:
        """Each record as the public internet sees it (DNS over HTTPS) and as the zone's own
        servers hold it, with a hint and the fix; nothing is changed."""
        diagnosis = sending_domain_diagnose(domain=self.get_object())
        summary = diagnosis.summary
        data = {
            "records": [result_data(r) for r in diagnosis.results],
            "summary": {
                "outcome": summary.outcome,
                "hint": summary.hint,
                "fix": summary.fix,
                "ok_count": summary.ok_count,
                "total": summary.total,
            },
            "apex": diagnosis.apex,
            "provider": diagnosis.provider,
        }
        return respond(data, summary.fix)

    @extend_schema(request=WarmupInputSerializer, responses=DomainSerializer)
    @action(detail=True, methods=["post"])
    def warmup(self, request: Request, pk: str) -> Response:
        domain = self.get_object()
        payload = WarmupInputSerializer(data=request.data or {})
        payload.is_valid(raise_exception=True)
        domain = sending_domain_start_warmup(
            domain=domain, total_days=payload.validated_data["total_days"]
        )
        return self._domain_response(domain, "Warmup started: daily caps apply from today.")

    @extend_schema(request=RegionInputSerializer, responses=DomainSerializer)
    @action(detail=True, methods=["patch"])
    def region(self, request: Request, pk: str) -> Response:
        domain = self.get_object()
        payload = RegionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        domain = sending_domain_set_region(
            domain=domain,
            region=payload.validated_data["region"],
            fallback_region=payload.validated_data.get("fallback_region") or "",
        )
        return self._domain_response(domain, "Region updated.")

    @extend_schema(request=DomainTenantInputSerializer, responses=DomainSerializer)
    @action(detail=True, methods=["patch"])
    def tenant(self, request: Request, pk: str) -> Response:
        domain = self.get_object()
        payload = DomainTenantInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        tenant = _tenant(request, payload.validated_data["tenant_id"])
        domain = sending_domain_set_tenant(domain=domain, tenant=tenant)
        return self._domain_response(domain, "Tenant bound." if tenant else "Tenant unbound.")

    @extend_schema(request=TestEmailInputSerializer, responses={201: MessageSerializer})
    @action(detail=True, methods=["post"], url_path="test-email")
    def test_email(self, request: Request, pk: str) -> Response:
        """Sends a short test message from `test@<domain>` to the given address (counted
        against the warmup cap like any send)."""
        domain = self.get_object()
        payload = TestEmailInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = sending_domain_send_test_email(domain=domain, to=payload.validated_data["to"])
        return respond(MessageSerializer(message).data, "Test email sent.", status=201)

    # --- the dashboard's collection-level forms (the internal contract) -------------------

    def _from_id(self, domain_id: Any) -> SendingDomain:
        if not isinstance(domain_id, str) or not domain_id:
            raise InvalidInputError(
                "Give the domain's id.", errors={"id": ["This field is required."]}
            )
        if not re.fullmatch(DOMAIN_ID, domain_id):
            raise NotFoundError()
        domain = self.get_queryset().filter(pk=domain_id).first()
        if domain is None:
            raise NotFoundError()
        self.check_object_permissions(self.request, domain)
        return domain

    @extend_schema(exclude=True)
    def recheck_from_body(self, request: Request) -> Response:
        """`PATCH /api/internal/domains {"id": "dom_..."}`: re-check."""
        payload = RecheckInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._verify(self._from_id(payload.validated_data["id"]))

    @extend_schema(exclude=True, parameters=[OpenApiParameter("id", str)])
    def destroy_from_query(self, request: Request) -> Response:
        """`DELETE /api/internal/domains?id=dom_...`."""
        domain = self._from_id(request.query_params.get("id"))
        data = DomainSerializer(domain).data
        if not sending_domain_delete(domain=domain):
            raise NotFoundError()
        return respond(data, "Domain removed.")

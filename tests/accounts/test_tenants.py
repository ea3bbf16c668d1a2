"""Tenants on both surfaces: the owner/staff/outsider matrix every endpoint gets."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Tenant
from accounts.services import tenant_create
from tests.conftest import OrgTrio

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(trio: OrgTrio) -> Tenant:
    return tenant_create(organization=trio.organization, name="Retail", external_id="r-1")


@pytest.fixture
def foreign_tenant(trio: OrgTrio) -> Tenant:
    return tenant_create(organization=trio.other_organization, name="Theirs")


def test_it_creates_a_tenant_with_a_prefixed_id(trio: OrgTrio, v1: APIClient) -> None:
    response = v1.post("/api/v1/tenants", {"name": "  Wholesale ", "external_id": "w-9"})

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Tenant created."
    assert body["data"]["id"].startswith("tnt_")
    assert body["data"]["name"] == "Wholesale"
    tenant = Tenant.objects.get(pk=body["data"]["id"])
    assert tenant.organization == trio.organization


def test_it_lists_only_the_callers_tenants(
    v1: APIClient, tenant: Tenant, foreign_tenant: Tenant
) -> None:
    response = v1.get("/api/v1/tenants")

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [tenant.pk]
    assert body["pagination"] == {"next": None, "previous": None}


def test_it_pages_through_tenants_with_a_cursor(trio: OrgTrio, v1: APIClient) -> None:
    created = {tenant_create(organization=trio.organization, name=f"T{i}").pk for i in range(5)}

    seen: list[str] = []
    url: str | None = "/api/v1/tenants?page_size=2"
    while url:
        body = v1.get(url).json()
        seen.extend(row["id"] for row in body["data"])
        url = body["pagination"]["next"]

    assert len(seen) == 5
    assert set(seen) == created


def test_owner_session_reads_and_updates(owner_session: APIClient, tenant: Tenant) -> None:
    response = owner_session.patch(
        f"/api/internal/tenants/{tenant.pk}", {"name": "Retail EU"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Retail EU"
    assert response.json()["data"]["external_id"] == "r-1"


def test_staff_can_read(staff_session: APIClient, tenant: Tenant) -> None:
    assert staff_session.get("/api/internal/tenants").status_code == 200
    assert staff_session.get(f"/api/internal/tenants/{tenant.pk}").status_code == 200


def test_staff_cannot_change(staff_session: APIClient, tenant: Tenant) -> None:
    responses = [
        staff_session.post("/api/internal/tenants", {"name": "X"}, format="json"),
        staff_session.patch(f"/api/internal/tenants/{tenant.pk}", {"name": "X"}, format="json"),
        staff_session.delete(f"/api/internal/tenants/{tenant.pk}"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert {r.json()["code"] for r in responses} == {"PERMISSION_DENIED"}
    tenant.refresh_from_db()
    assert tenant.name == "Retail"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organizations_tenant_is_a_404_on_v1(
    outsider_v1: APIClient, tenant: Tenant, method: str
) -> None:
    response = getattr(outsider_v1, method)(f"/api/v1/tenants/{tenant.pk}", {}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert Tenant.objects.filter(pk=tenant.pk, name="Retail").exists()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organizations_tenant_is_a_404_on_internal(
    outsider_session: APIClient, tenant: Tenant, method: str
) -> None:
    response = getattr(outsider_session, method)(
        f"/api/internal/tenants/{tenant.pk}", {}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_deleting_returns_what_was_deleted(v1: APIClient, tenant: Tenant) -> None:
    response = v1.delete(f"/api/v1/tenants/{tenant.pk}")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == tenant.pk
    assert not Tenant.objects.filter(pk=tenant.pk).exists()


def test_external_id_is_unique_within_an_organization(v1: APIClient, tenant: Tenant) -> None:
    response = v1.post("/api/v1/tenants", {"name": "Dup", "external_id": "r-1"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "TENANT_EXTERNAL_ID_TAKEN"
    assert "external_id" in body["errors"]
    assert Tenant.objects.filter(external_id="r-1").count() == 1


def test_external_id_may_repeat_across_organizations(
    outsider_v1: APIClient, tenant: Tenant
) -> None:
    response = outsider_v1.post("/api/v1/tenants", {"name": "Same", "external_id": "r-1"})

    assert response.status_code == 201


def test_blank_external_ids_do_not_collide(v1: APIClient) -> None:
    assert v1.post("/api/v1/tenants", {"name": "A"}).status_code == 201
    assert v1.post("/api/v1/tenants", {"name": "B", "external_id": ""}).status_code == 201

"""The dashboard's surface: session + CSRF, organization switching, API key management."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership, User
from accounts.services import api_key_create, membership_set
from tests.conftest import PASSWORD, OrgTrio, bearer_client, session_client

pytestmark = pytest.mark.django_db


def test_a_write_without_the_csrf_token_is_refused(trio: OrgTrio) -> None:
    client = session_client(trio.owner, enforce_csrf=True)

    response = client.post("/api/internal/tenants", {"name": "A"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "CSRF_FAILED"


def test_a_write_with_the_csrf_token_goes_through(trio: OrgTrio) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    login = client.post(
        "/login/",
        {"username": trio.owner.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert login.status_code == 302
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/api/internal/tenants", {"name": "A"}, format="json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 201


def test_an_api_key_does_not_authenticate_the_internal_surface(v1: APIClient) -> None:
    response = v1.get("/api/internal/tenants")

    assert response.status_code == 401


def test_a_user_without_an_organization_is_told_so(db: None) -> None:
    loner = User.objects.create_user("loner@example.test", PASSWORD)

    response = session_client(loner).get("/api/internal/tenants")

    assert response.status_code == 403
    assert response.json()["code"] == "NO_ORGANIZATION"


def test_it_lists_my_organizations_and_switches_between_them(trio: OrgTrio) -> None:
    membership_set(
        organization=trio.other_organization, user=trio.staff, role=Membership.Role.OWNER
    )
    client = session_client(trio.staff)

    listed = client.get("/api/internal/organizations").json()["data"]
    switched = client.post(
        "/api/internal/organizations/current",
        {"organization_id": trio.other_organization.pk},
        format="json",
    )
    relisted = client.get("/api/internal/organizations").json()["data"]

    assert [(m["organization"]["id"], m["role"], m["current"]) for m in listed] == [
        (trio.organization.pk, "staff", True),
        (trio.other_organization.pk, "owner", False),
    ]
    assert switched.status_code == 200
    assert [m["current"] for m in relisted] == [False, True]
    # The role follows the organization: owner there, so writes now go through.
    assert client.post("/api/internal/tenants", {"name": "T"}, format="json").status_code == 201


def test_switching_to_someone_elses_organization_is_a_404(
    trio: OrgTrio, owner_session: APIClient
) -> None:
    response = owner_session.post(
        "/api/internal/organizations/current",
        {"organization_id": trio.other_organization.pk},
        format="json",
    )

    assert response.status_code == 404
    assert owner_session.get("/api/internal/tenants").status_code == 200


def test_owner_creates_a_key_and_sees_the_secret_once(
    trio: OrgTrio, owner_session: APIClient
) -> None:
    created = owner_session.post("/api/internal/api-keys", {"name": "deploy"}, format="json")

    assert created.status_code == 201
    data = created.json()["data"]
    raw_key = data["key"]
    assert raw_key.startswith(data["prefix"] + "_")
    assert data["created_by"] == trio.owner.email
    listed = owner_session.get("/api/internal/api-keys").json()["data"]
    shown = owner_session.get(f"/api/internal/api-keys/{data['id']}").json()["data"]
    assert all("key" not in row and raw_key not in str(row) for row in [*listed, shown])
    assert bearer_client(raw_key).get("/api/v1/organization").status_code == 200


def test_owner_revokes_a_key_and_it_stops_working(trio: OrgTrio, owner_session: APIClient) -> None:
    issued = api_key_create(organization=trio.organization, name="old", created_by=trio.owner)

    response = owner_session.delete(f"/api/internal/api-keys/{issued.api_key.pk}")

    assert response.status_code == 200
    assert response.json()["data"]["active"] is False
    assert response.json()["data"]["revoked_at"] is not None
    assert bearer_client(issued.raw_key).get("/api/v1/organization").status_code == 401


def test_staff_cannot_see_or_manage_keys(trio: OrgTrio, staff_session: APIClient) -> None:
    issued = api_key_create(organization=trio.organization, name="k", created_by=trio.owner)

    responses = [
        staff_session.get("/api/internal/api-keys"),
        staff_session.post("/api/internal/api-keys", {"name": "x"}, format="json"),
        staff_session.delete(f"/api/internal/api-keys/{issued.api_key.pk}"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is None


def test_another_organizations_key_is_a_404(trio: OrgTrio, outsider_session: APIClient) -> None:
    issued = api_key_create(organization=trio.organization, name="k", created_by=trio.owner)

    get = outsider_session.get(f"/api/internal/api-keys/{issued.api_key.pk}")
    delete = outsider_session.delete(f"/api/internal/api-keys/{issued.api_key.pk}")

    assert (get.status_code, delete.status_code) == (404, 404)
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is None
    assert [
        row["id"] for row in outsider_session.get("/api/internal/api-keys").json()["data"]
    ] == []

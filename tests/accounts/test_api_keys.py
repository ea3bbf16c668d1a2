import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from tests.conftest import OrgTrio, bearer_client

pytestmark = pytest.mark.django_db

WHOAMI = "/api/v1/organization"


def test_a_valid_key_acts_in_its_organization_as_owner(trio: OrgTrio, v1: APIClient) -> None:
    response = v1.get(WHOAMI)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"]["organization"]["id"] == trio.organization.pk
    assert body["data"]["role"] == "owner"
    assert body["data"]["api_key"]["prefix"].startswith("dk_")


def test_only_the_sha256_hash_of_the_key_is_stored(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)

    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert stored.secret_hash == hashlib.sha256(issued.raw_key.encode()).hexdigest()
    secret = issued.raw_key.rsplit("_", 1)[1]
    for field in ApiKey._meta.concrete_fields:
        assert secret not in str(getattr(stored, field.attname))


def test_the_key_has_a_visible_prefix_and_a_long_secret(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)

    assert issued.raw_key.startswith(issued.api_key.prefix + "_")
    assert len(issued.raw_key.rsplit("_", 1)[1]) == 32


def test_a_revoked_key_is_refused(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)
    api_key_revoke(api_key=issued.api_key)

    response = bearer_client(issued.raw_key).get(WHOAMI)

    assert response.status_code == 401
    assert response.json()["code"] == "API_KEY_REVOKED"
    assert response.json()["success"] is False


def test_a_wrong_secret_with_a_real_prefix_is_refused(trio: OrgTrio, api_key: str) -> None:
    prefix = api_key.rsplit("_", 1)[0]
    forged = f"{prefix}_{'A' * 32}"

    response = bearer_client(forged).get(WHOAMI)

    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_API_KEY"


def test_an_unknown_key_is_refused(db: None) -> None:
    response = bearer_client(f"dk_{'x' * 8}_{'y' * 32}").get(WHOAMI)

    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_API_KEY"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer not-a-key",
        "Bearer dk_short_key",
        "Token dk_abcdefgh_" + "a" * 32,
        "Basic dXNlcjpwYXNz",
        "Bearer a b",
    ],
)
def test_a_malformed_authorization_header_is_refused(db: None, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(WHOAMI)

    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_API_KEY"


def test_no_credentials_is_not_authenticated(db: None) -> None:
    response = APIClient().get(WHOAMI)

    assert response.status_code == 401
    body = response.json()
    assert body == {
        "success": False,
        "code": "NOT_AUTHENTICATED",
        "message": "Authentication credentials were not provided.",
        "errors": {},
    }


@pytest.mark.parametrize("param", ["api_key", "key", "access_token", "token"])
def test_a_key_in_the_query_string_is_refused_even_when_valid(api_key: str, param: str) -> None:
    response = APIClient().get(WHOAMI, {param: api_key})

    assert response.status_code == 401
    assert response.json()["code"] == "API_KEY_IN_QUERY"


def test_a_key_in_the_query_string_is_refused_beside_a_valid_header(
    v1: APIClient, api_key: str
) -> None:
    response = v1.get(WHOAMI, {"q": api_key})

    assert response.status_code == 401
    assert response.json()["code"] == "API_KEY_IN_QUERY"


def test_a_key_hidden_in_a_repeated_parameter_is_refused(v1: APIClient, api_key: str) -> None:
    response = v1.get(f"{WHOAMI}?x={api_key}&x=harmless")

    assert response.status_code == 401
    assert response.json()["code"] == "API_KEY_IN_QUERY"


def test_use_updates_last_used_at_at_most_once_a_minute(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)
    client = bearer_client(issued.raw_key)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get(WHOAMI)
    first = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get(WHOAMI)
    unchanged = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client.get(WHOAMI)
    later = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at

    assert first == start
    assert unchanged == start
    assert later == start + timedelta(minutes=2)


def test_revoking_twice_keeps_the_first_revocation_time(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)
    first = api_key_revoke(api_key=issued.api_key).revoked_at

    again = api_key_revoke(api_key=ApiKey.objects.get(pk=issued.api_key.pk)).revoked_at

    assert first is not None
    assert again == first


def test_a_session_does_not_authenticate_the_v1_api(trio: OrgTrio) -> None:
    client = APIClient()
    client.force_login(trio.owner)

    response = client.get(WHOAMI)

    assert response.status_code == 401

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Membership, Organization, Tenant, User
from accounts.services import organization_create
from tests.conftest import bearer_client

pytestmark = pytest.mark.django_db


def bootstrap(*args: str) -> dict[str, str]:
    out = StringIO()
    call_command("bootstrap_org", *args, stdout=out)
    return json.loads(out.getvalue())


def test_bootstrap_org_creates_the_org_and_its_owner() -> None:
    result = bootstrap("--org", "Acme", "--email", "Ops@Acme.test", "--password", "s3cret-pass!")

    assert set(result) == {"org_id", "user_email"}
    assert result["org_id"].startswith("org_")
    assert result["user_email"] == "ops@acme.test"
    user = User.objects.get(email="ops@acme.test")
    assert user.check_password("s3cret-pass!")
    membership = Membership.objects.get(user=user, organization_id=result["org_id"])
    assert membership.role == "owner"


def test_bootstrap_org_reuses_what_exists() -> None:
    first = bootstrap("--org", "Acme", "--email", "ops@acme.test")
    second = bootstrap("--org", "Acme", "--email", "ops@acme.test")

    assert first["org_id"] == second["org_id"]
    assert Organization.objects.count() == 1
    assert User.objects.count() == 1


def test_bootstrap_org_issues_a_working_api_key() -> None:
    result = bootstrap("--org", "Acme", "--email", "ops@acme.test", "--api-key")

    assert result["api_key"].startswith("dk_")
    response = bearer_client(result["api_key"]).get("/api/v1/organization")
    assert response.json()["data"]["organization"]["id"] == result["org_id"]
    assert ApiKey.objects.filter(organization_id=result["org_id"]).count() == 1


def test_bootstrap_org_refuses_a_bad_email() -> None:
    with pytest.raises(CommandError, match="not an email"):
        bootstrap("--org", "Acme", "--email", "not-an-email")
    assert Organization.objects.count() == 0


def test_bootstrap_org_never_joins_another_owners_organization() -> None:
    ceo = User.objects.create_user("ceo@acme.test", "pw")
    theirs = organization_create(name="Acme", owner=ceo)

    result = bootstrap("--org", "Acme", "--email", "someone@else.test", "--api-key")

    assert result["org_id"] != theirs.pk
    assert list(theirs.memberships.values_list("user__email", flat=True)) == ["ceo@acme.test"]
    response = bearer_client(result["api_key"]).get("/api/v1/organization")
    assert response.json()["data"]["organization"]["id"] == result["org_id"]


def test_load_demo_is_idempotent_and_prints_the_logins(settings) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=StringIO())

    assert "owner@demo.test" in out.getvalue()
    assert Organization.objects.filter(name="Acme Demo").count() == 1
    assert Tenant.objects.count() == 2
    owner = User.objects.get(email="owner@demo.test")
    assert owner.memberships.get().role == "owner"
    assert User.objects.get(email="admin@demo.test").is_superuser


def test_load_demo_refuses_without_debug(settings) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError):
        call_command("load_demo", stdout=StringIO())

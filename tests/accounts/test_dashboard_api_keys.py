"""The API keys page: owners create (the key shown once) and revoke; staff and other
organizations get nothing, as in the API."""

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_authenticate, api_key_create, hash_api_key
from audit.models import AuditEvent
from tests.conftest import OrgTrio, session_client

pytestmark = pytest.mark.django_db

LIST = "/overview/api-keys"


def revoke_url(api_key: ApiKey) -> str:
    return f"{LIST}/{api_key.pk}/revoke"


def test_owner_creates_a_key_and_sees_it_only_in_that_response(trio: OrgTrio) -> None:
    owner = session_client(trio.owner)

    response = owner.post(LIST, {"name": "  billing service "})

    assert response.status_code == 200
    raw_key = response.context["issued"].raw_key
    api_key = ApiKey.objects.get(organization=trio.organization)
    assert (api_key.name, api_key.created_by, api_key.secret_hash) == (
        "billing service",
        trio.owner,
        hash_api_key(raw_key),
    )
    assert f'data-copy="{raw_key}"' in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert raw_key not in owner.get(LIST).content.decode()
    assert api_key_authenticate(raw_key=raw_key) == api_key


@pytest.mark.parametrize(
    ("name", "error"), [("", "required"), ("   ", "required"), ("x" * 101, "100")]
)
def test_a_bad_name_is_shown_next_to_the_field(trio: OrgTrio, name: str, error: str) -> None:
    response = session_client(trio.owner).post(LIST, {"name": name})

    assert response.status_code == 400
    assert error in " ".join(response.context["form"].errors["name"])
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ApiKey.objects.filter(organization=trio.organization).exists()


def test_the_list_shows_prefix_creator_last_use_and_revocation(trio: OrgTrio) -> None:
    used = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)
    api_key_authenticate(raw_key=used.raw_key)
    gone = api_key_create(organization=trio.organization, name="old", created_by=None).api_key
    ApiKey.objects.filter(pk=gone.pk).update(revoked_at=timezone.now())

    body = session_client(trio.owner).get(LIST).content.decode()

    assert f"<code>{used.api_key.prefix}_…</code>" in body
    assert used.raw_key not in body
    assert trio.owner.email in body
    assert "Never" not in body.split(used.api_key.prefix)[1].split("</tr>")[0]
    assert "badge revoked" in body
    assert body.count("Revoke</button>") == 1


def test_an_empty_list_says_so(trio: OrgTrio) -> None:
    body = session_client(trio.owner).get(LIST).content.decode()

    assert "No API keys yet" in body


def test_owner_revokes_a_key(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)
    owner = session_client(trio.owner)

    response = owner.post(revoke_url(issued.api_key), follow=True)
    again = owner.post(revoke_url(issued.api_key), follow=True)

    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is not None
    assert "revoked. Requests with it now get 401." in response.content.decode()
    assert "was already revoked" in again.content.decode()
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_staff_can_neither_see_nor_manage_keys(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)
    staff = session_client(trio.staff)

    answers = [
        staff.get(LIST),
        staff.post(LIST, {"name": "mine"}),
        staff.post(revoke_url(issued.api_key)),
    ]

    assert [r.status_code for r in answers] == [403, 403, 403]
    assert issued.api_key.prefix not in answers[0].content.decode()
    assert ApiKey.objects.filter(organization=trio.organization).count() == 1
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is None
    assert AuditEvent.objects.filter(
        action="authorization.denied", actor_id=str(trio.staff.pk)
    ).count() == len(answers)


def test_another_organization_sees_none_of_the_keys_and_cannot_revoke_them(
    trio: OrgTrio,
) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)
    outsider = session_client(trio.outsider)

    listed = outsider.get(LIST)
    revoked = outsider.post(revoke_url(issued.api_key))

    assert listed.status_code == 200
    assert issued.api_key.prefix not in listed.content.decode()
    assert revoked.status_code == 404
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is None


def test_revoking_needs_a_post(trio: OrgTrio) -> None:
    issued = api_key_create(organization=trio.organization, name="ci", created_by=trio.owner)

    response = session_client(trio.owner).get(revoke_url(issued.api_key))

    assert response.status_code == 405
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is None

"""The audit log page: owners filter, page through and export it; staff and other
organizations get nothing."""

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.http import HttpResponse

from accounts.services import api_key_create, tenant_create
from audit.context import Actor
from audit.models import AuditEvent
from audit.services import record
from tests.conftest import OrgTrio, session_client

pytestmark = pytest.mark.django_db

LIST = "/overview/audit"
EXPORT = "/overview/audit.csv"


def listed(response: HttpResponse) -> list[str]:
    return [event.id for event in response.context["page"].object_list]


def exported(response: HttpResponse) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def history(trio: OrgTrio) -> dict[str, Any]:
    """Events on known days, by known actors, in the trio's organization."""
    org = trio.organization
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False):
        tenant = tenant_create(organization=org, name="Retail")
    with time_machine.travel(datetime(2026, 3, 2, 23, 59, tzinfo=UTC), tick=False):
        key = api_key_create(organization=org, name="ci", created_by=trio.owner).api_key
    with time_machine.travel(datetime(2026, 3, 3, 0, 0, tzinfo=UTC), tick=False):
        denied = record(
            action="authorization.denied",
            organization=org,
            outcome="denied",
            actor=Actor("user", str(trio.staff.pk), trio.staff.email),
        )
    return {
        "tenant": AuditEvent.objects.get(action="tenant.created", organization=org),
        "key": AuditEvent.objects.get(action="api_key.created", organization=org),
        "denied": denied,
        "tenant_obj": tenant,
        "key_obj": key,
    }


def test_owner_sees_the_log_newest_first(trio: OrgTrio, history: dict) -> None:
    response = session_client(trio.owner).get(LIST)

    assert response.status_code == 200
    ids = listed(response)
    assert ids[:3] == [history["denied"].id, history["key"].id, history["tenant"].id]
    body = response.content.decode()
    assert "<code>tenant.created</code>" in body
    assert "Retail" in body
    assert trio.staff.email in body
    assert "badge denied" in body
    assert "2 Mar 2026 23:59:00" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "tenant.created"}, ["tenant"]),
        ({"action": "api_key.*"}, ["key"]),
        ({"outcome": "denied"}, ["denied"]),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, ["key"]),
        ({"date_from": "2026-03-01", "date_to": "2026-03-03"}, ["denied", "key", "tenant"]),
        ({"date_from": "2026-03-03", "date_to": "2026-03-31"}, ["denied"]),
        ({"date_to": "2026-03-01"}, ["tenant"]),
        ({"target_type": "tenant"}, ["tenant"]),
        ({"action": "nothing.like.this"}, []),
    ],
)
def test_filters_narrow_the_log(
    trio: OrgTrio, history: dict, query: dict, expected: list[str]
) -> None:
    response = session_client(trio.owner).get(LIST, query)

    assert response.status_code == 200
    assert listed(response) == [history[name].id for name in expected]


def test_the_actor_and_target_filters_use_the_organizations_people_keys_and_objects(
    trio: OrgTrio, history: dict
) -> None:
    owner = session_client(trio.owner)

    by_staff = owner.get(LIST, {"actor_id": str(trio.staff.pk)})
    by_target = owner.get(LIST, {"target_id": history["key_obj"].pk})
    form_html = by_staff.content.decode()

    assert listed(by_staff) == [history["denied"].id]
    assert listed(by_target) == [history["key"].id]
    assert f'<option value="{trio.staff.pk}" selected>{trio.staff.email}</option>' in form_html
    assert f"ci ({history['key_obj'].prefix})" in form_html
    assert trio.outsider.email not in form_html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2026-03-03", "date_to": "2026-03-01"}, "date_to"),
        ({"date_from": "March"}, "date_from"),
        ({"outcome": "exploded"}, "outcome"),
        ({"actor_id": str(10**9)}, "actor_id"),
    ],
)
def test_filters_that_do_not_parse_are_shown_next_to_their_field(
    trio: OrgTrio, history: dict, query: dict, field: str
) -> None:
    for url in (LIST, EXPORT):
        response = session_client(trio.owner).get(url, query)

        assert response.status_code == 400
        assert list(response.context["form"].errors) == [field]
        assert listed(response) == []
        assert 'aria-invalid="true"' in response.content.decode()


def test_the_log_is_paged_and_pages_keep_the_filters(trio: OrgTrio) -> None:
    for n in range(55):
        record(action="test.paged", organization=trio.organization, metadata={"n": n})
    owner = session_client(trio.owner)

    first = owner.get(LIST, {"action": "test.paged"})
    second = owner.get(LIST, {"action": "test.paged", "page": 2})

    assert len(listed(first)) == 50
    assert len(listed(second)) == 5
    assert not set(listed(first)) & set(listed(second))
    assert "?action=test.paged&amp;page=2" in first.content.decode()


def test_empty_states(trio: OrgTrio) -> None:
    owner = session_client(trio.owner)

    nothing_matches = owner.get(LIST, {"action": "nothing.like.this"}).content.decode()

    assert "No events match these filters" in nothing_matches
    assert "Clear the filters" in nothing_matches


def test_the_export_streams_the_filtered_events_as_csv(trio: OrgTrio, history: dict) -> None:
    response = session_client(trio.owner).get(EXPORT, {"action": "api_key.*"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = exported(response)
    assert [r["id"] for r in rows] == [history["key"].id]
    assert rows[0]["action"] == "api_key.created"
    assert rows[0]["actor_type"] == "system"  # recorded outside a request
    assert history["key_obj"].pk in rows[0]["targets"]


def test_the_export_link_carries_the_filters(trio: OrgTrio, history: dict) -> None:
    body = session_client(trio.owner).get(LIST, {"action": "tenant.*", "page": 1}).content.decode()

    assert f'href="{EXPORT}?action=tenant.%2A"' in body


def test_export_cells_that_look_like_formulas_are_defused(trio: OrgTrio) -> None:
    record(
        action="test.formula",
        organization=trio.organization,
        actor=Actor("user", "-1", '=HYPERLINK("http://evil.test")'),
    )
    record(action="test.formula", organization=trio.organization, actor=Actor("cron", "", "@SUM"))
    record(action="test.formula", organization=trio.organization, actor=Actor("cron", "", "+1"))

    rows = exported(session_client(trio.owner).get(EXPORT, {"action": "test.formula"}))

    assert [r["actor_name"] for r in rows] == ["'+1", "'@SUM", '\'=HYPERLINK("http://evil.test")']
    assert rows[2]["actor_id"] == "'-1"


def test_staff_may_not_read_or_export_the_log(trio: OrgTrio, history: dict) -> None:
    staff = session_client(trio.staff)

    page = staff.get(LIST)
    export = staff.get(EXPORT)

    assert (page.status_code, export.status_code) == (403, 403)
    assert history["tenant"].id not in page.content.decode()
    assert (
        AuditEvent.objects.filter(
            action="authorization.denied", actor_id=str(trio.staff.pk)
        ).count()
        == 3
    )  # the fixture's own, and one for each refusal


def test_another_organization_sees_none_of_the_events(trio: OrgTrio, history: dict) -> None:
    outsider = session_client(trio.outsider)

    page = outsider.get(LIST)
    by_target = outsider.get(LIST, {"target_id": history["tenant_obj"].pk})
    export = outsider.get(EXPORT)

    ours = {e.id for e in AuditEvent.objects.filter(organization=trio.organization)}
    assert not set(listed(page)) & ours
    assert listed(by_target) == []
    assert not {r["id"] for r in exported(export)} & ours

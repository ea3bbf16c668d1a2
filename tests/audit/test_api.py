import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.utils import timezone
from rest_framework.test import APIClient

from audit.context import Actor
from audit.models import AuditEvent
from audit.services import record
from tests.conftest import OrgTrio

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events"


@pytest.fixture
def history(trio: OrgTrio) -> list[AuditEvent]:
    org = trio.organization
    start = timezone.now() - timedelta(days=3)
    events = []
    for day, (action, actor, target_id) in enumerate(
        [
            ("tenant.created", Actor("user", "1", "a@acme.test"), "tnt_a"),
            ("tenant.updated", Actor("api_key", "key_x", "ci"), "tnt_a"),
            ("api_key.created", Actor("user", "1", "a@acme.test"), "key_y"),
        ]
    ):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            events.append(
                record(
                    action=action,
                    organization=org,
                    actor=actor,
                    targets=[{"type": action.split(".")[0], "id": target_id, "name": "x"}],
                    metadata={"note": "=HYPERLINK(1)"},
                )
            )
    record(action="tenant.created", organization=trio.other_organization)
    return events


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["data"]]


def test_owner_lists_newest_first_with_the_event_shape(v1: APIClient, history: list) -> None:
    response = v1.get(URL, {"action": "tenant.*"})

    assert response.status_code == 200
    assert ids(response) == [history[1].id, history[0].id]
    row = response.json()["data"][0]
    assert row["actor"] == {"type": "api_key", "id": "key_x", "name": "ci"}
    assert row["targets"] == [{"type": "tenant", "id": "tnt_a", "name": "x"}]
    assert set(row) >= {"occurred_at", "outcome", "changes", "context", "metadata", "hash"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "api_key.created", "actor_id": "1"}, [2]),
        ({"actor_type": "user", "actor_id": "1"}, [2, 0]),
        ({"target_id": "tnt_a"}, [1, 0]),
        ({"target_type": "api_key", "actor_type": "user", "actor_id": "1"}, [2]),
    ],
)
def test_filters(v1: APIClient, history: list, params: dict, expected: list[int]) -> None:
    assert ids(v1.get(URL, params)) == [history[i].id for i in expected]


def test_time_range(v1: APIClient, history: list) -> None:
    since = history[1].occurred_at
    until = history[2].occurred_at

    response = v1.get(URL, {"since": since.isoformat(), "until": until.isoformat()})

    assert ids(response) == [history[1].id]


def test_bad_filters_are_a_400(v1: APIClient) -> None:
    assert v1.get(URL, {"since": "yesterday"}).status_code == 400
    assert v1.get(URL, {"actor_type": "robot"}).status_code == 400
    response = v1.get(URL, {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert response.json()["errors"] == {"until": ["Must be after since."]}


def test_cursor_pages(v1: APIClient, history: list) -> None:
    first = v1.get(URL, {"page_size": 2}).json()
    second = v1.get(first["pagination"]["next"]).json()

    seen = [r["id"] for r in first["data"] + second["data"]]
    assert len(seen) == len(set(seen))
    assert set(seen) >= {e.id for e in history}


def test_retrieve_one(v1: APIClient, history: list) -> None:
    response = v1.get(f"{URL}/{history[0].id}")

    assert response.json()["data"]["action"] == "tenant.created"


def test_csv_export_is_complete_and_formula_safe(v1: APIClient, history: list) -> None:
    response = v1.get(f"{URL}/export", {"action": "tenant.*"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["id"] for r in rows] == [history[1].id, history[0].id]
    assert rows[0]["actor_type"] == "api_key"
    assert rows[0]["metadata"].startswith("{")  # JSON text, which cannot start a formula
    assert all(not r["action"].startswith("=") for r in rows)


def test_csv_cells_that_look_like_formulas_are_defused(v1: APIClient, trio: OrgTrio) -> None:
    record(action="test.x", organization=trio.organization, actor=Actor("user", "1", "=cmd|calc"))

    response = v1.get(f"{URL}/export", {"action": "test.x"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["actor_name"] == "'=cmd|calc"


def test_staff_may_not_read_the_log(staff_session: APIClient) -> None:
    response = staff_session.get("/api/internal/audit-events")

    assert response.status_code == 403


def test_another_organizations_events_are_invisible(outsider_v1: APIClient, history: list) -> None:
    listed = ids(outsider_v1.get(URL))

    assert not set(listed) & {e.id for e in history}
    assert outsider_v1.get(f"{URL}/{history[0].id}").status_code == 404
    exported = b"".join(outsider_v1.get(f"{URL}/export").streaming_content).decode()
    assert history[0].id not in exported


def test_owner_session_reads_through_the_dashboard_surface(
    owner_session: APIClient, history: list
) -> None:
    assert history[0].id in ids(owner_session.get("/api/internal/audit-events"))


def test_the_admin_is_read_only(trio: OrgTrio, client, history: list) -> None:
    from accounts.models import User

    client.force_login(User.objects.create_superuser("root@example.test", "pw"))

    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert client.get(f"/admin/audit/auditevent/{quote(history[0].pk)}/change/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{quote(history[0].pk)}/delete/").status_code == 403

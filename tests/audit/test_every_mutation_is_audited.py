"""Walks the URL conf: every API route that accepts POST, PUT, PATCH or DELETE must write
an audit event. A new mutating route without a case here fails the suite until one is added."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.services import api_key_create, membership_set, tenant_create
from audit.models import AuditEvent
from tests.conftest import OrgTrio, bearer_client, session_client

pytestmark = pytest.mark.django_db

MUTATING = {"post", "put", "patch", "delete"}
API_PREFIXES = ("api/v1/", "api/internal/")


def _route_text(pattern: Any) -> str:
    text = str(pattern)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    return text.replace("^", "").replace("$", "").replace("\\.", ".")


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, Callable]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _route_text(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _route_text(entry.pattern), entry.callback


def mutating_api_routes() -> set[tuple[str, str]]:
    routes = set()
    for route, callback in _walk(get_resolver().url_patterns):
        if not route.startswith(API_PREFIXES):
            continue
        view_class = getattr(callback, "cls", None)
        if view_class is None:
            continue
        actions = getattr(callback, "actions", None)
        methods = set(actions) if actions else {m for m in MUTATING if hasattr(view_class, m)}
        routes |= {(method.upper(), route) for method in methods & MUTATING}
    return routes


@dataclass
class Call:
    client: APIClient
    path: str
    body: dict | None = None


def _v1(trio: OrgTrio) -> APIClient:
    return bearer_client(
        api_key_create(organization=trio.organization, name="walk", created_by=None).raw_key
    )


def _tenant(trio: OrgTrio) -> str:
    return tenant_create(organization=trio.organization, name="Walk").pk


def _key(trio: OrgTrio) -> str:
    return api_key_create(
        organization=trio.organization, name="k", created_by=trio.owner
    ).api_key.pk


def _second_org(trio: OrgTrio) -> str:
    membership_set(organization=trio.other_organization, user=trio.owner, role="owner")
    return trio.other_organization.pk


CASES: dict[tuple[str, str], Callable[[OrgTrio], Call]] = {
    ("POST", "api/v1/tenants"): lambda t: Call(_v1(t), "/api/v1/tenants", {"name": "A"}),
    ("PATCH", "api/v1/tenants/<pk>"): lambda t: Call(
        _v1(t), f"/api/v1/tenants/{_tenant(t)}", {"name": "B"}
    ),
    ("DELETE", "api/v1/tenants/<pk>"): lambda t: Call(_v1(t), f"/api/v1/tenants/{_tenant(t)}"),
    ("POST", "api/internal/tenants"): lambda t: Call(
        session_client(t.owner), "/api/internal/tenants", {"name": "A"}
    ),
    ("PATCH", "api/internal/tenants/<pk>"): lambda t: Call(
        session_client(t.owner), f"/api/internal/tenants/{_tenant(t)}", {"name": "B"}
    ),
    ("DELETE", "api/internal/tenants/<pk>"): lambda t: Call(
        session_client(t.owner), f"/api/internal/tenants/{_tenant(t)}"
    ),
    ("POST", "api/internal/api-keys"): lambda t: Call(
        session_client(t.owner), "/api/internal/api-keys", {"name": "deploy"}
    ),
    ("DELETE", "api/internal/api-keys/<pk>"): lambda t: Call(
        session_client(t.owner), f"/api/internal/api-keys/{_key(t)}"
    ),
    ("POST", "api/internal/organizations/current"): lambda t: Call(
        session_client(t.owner),
        "/api/internal/organizations/current",
        {"organization_id": _second_org(t)},
    ),
}


def test_every_mutating_route_has_a_case() -> None:
    missing = mutating_api_routes() - set(CASES)
    stale = set(CASES) - mutating_api_routes()

    assert not missing, f"mutating routes with no audit case: {sorted(missing)}"
    assert not stale, f"cases for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: f"{c[0]} {c[1]}")
def test_each_mutating_route_writes_an_audit_event(trio: OrgTrio, case: tuple[str, str]) -> None:
    call = CASES[case](trio)
    before = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()

    response = call.client.generic(
        case[0],
        call.path,
        data=__import__("json").dumps(call.body or {}),
        content_type="application/json",
    )

    assert 200 <= response.status_code < 300, response.content
    written = AuditEvent.objects.filter(sequence__gt=before or 0)
    assert written.exclude(action__in=["api_key.created"]).exists() or case[1].startswith(
        "api/internal/api-keys"
    ), f"{case[0]} {call.path} wrote no audit event"

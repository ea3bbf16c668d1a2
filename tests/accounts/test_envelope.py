"""Every error is the envelope with a code; nothing a caller does produces a 500."""

import base64
import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.conftest import OrgTrio

pytestmark = pytest.mark.django_db


def test_400_names_each_invalid_field(v1: APIClient) -> None:
    response = v1.post("/api/v1/tenants", {"name": "", "external_id": "x" * 201}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body["errors"]) == {"name", "external_id"}
    assert body["message"].startswith("name: ")


def test_400_for_an_unknown_field(v1: APIClient) -> None:
    response = v1.post("/api/v1/tenants", {"name": "A", "nmae": "typo"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"nmae": ["Unknown field."]}


def test_400_for_malformed_json(v1: APIClient) -> None:
    response = v1.generic("POST", "/api/v1/tenants", '{"name": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


def test_400_for_a_json_body_that_is_not_an_object(v1: APIClient) -> None:
    response = v1.post("/api/v1/tenants", ["name"], format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_401_is_the_envelope(db: None) -> None:
    response = APIClient().get("/api/v1/tenants")

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_401_on_the_internal_surface_when_nobody_is_signed_in(db: None) -> None:
    response = APIClient().get("/api/internal/tenants")

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_403_is_the_envelope(staff_session: APIClient) -> None:
    response = staff_session.post("/api/internal/tenants", {"name": "A"}, format="json")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "PERMISSION_DENIED"
    assert body["message"] == "Only an owner of this organization can do this."


def test_404_for_an_unknown_object(v1: APIClient) -> None:
    response = v1.get("/api/v1/tenants/tnt_doesnotexist00000000")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "code": "NOT_FOUND",
        "message": "Not found.",
        "errors": {},
    }


def test_404_for_an_unknown_route_under_the_api(v1: APIClient) -> None:
    response = v1.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "NOT_FOUND"


def test_404_for_a_malformed_id(v1: APIClient) -> None:
    response = v1.get("/api/v1/tenants/../../etc")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_405_is_the_envelope(v1: APIClient, trio: OrgTrio) -> None:
    tenant_id = v1.post("/api/v1/tenants", {"name": "A"}).json()["data"]["id"]

    response = v1.put(f"/api/v1/tenants/{tenant_id}", {"name": "B"}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert response.json()["message"] == 'Method "PUT" not allowed.'


def test_415_for_an_unsupported_body(v1: APIClient) -> None:
    response = v1.generic("POST", "/api/v1/tenants", "name=A", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_429_is_the_envelope_with_retry_after(v1: APIClient, settings) -> None:
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"principal": "2/min"}}
    with override_settings(REST_FRAMEWORK=rest):
        statuses = [v1.get("/api/v1/organization").status_code for _ in range(3)]
        response = v1.get("/api/v1/organization")

    assert statuses == [200, 200, 429]
    assert response.json()["code"] == "THROTTLED"
    assert int(response["Retry-After"]) > 0


def test_throttling_counts_each_key_apart(v1: APIClient, outsider_v1: APIClient, settings) -> None:
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"principal": "1/min"}}
    with override_settings(REST_FRAMEWORK=rest):
        first = v1.get("/api/v1/organization").status_code
        other = outsider_v1.get("/api/v1/organization").status_code
        again = v1.get("/api/v1/organization").status_code

    assert (first, other, again) == (200, 200, 429)


def test_non_api_pages_keep_html_404s(client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_a_forged_cursor_is_a_400(v1: APIClient) -> None:
    forged = base64.b64encode(b"p=garbage").decode()

    response = v1.get("/api/v1/tenants", {"cursor": forged})

    assert response.status_code == 400
    assert response.json()["errors"]["cursor"]


def test_a_cursor_with_a_bad_offset_is_a_400(v1: APIClient) -> None:
    response = v1.get("/api/v1/tenants", {"cursor": base64.b64encode(b"o=many").decode()})

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_deeply_nested_json_is_malformed_not_a_crash(v1: APIClient) -> None:
    response = v1.generic("POST", "/api/v1/tenants", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


def test_a_body_over_the_size_limit_is_a_413(v1: APIClient, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "x" * 2000})

    response = v1.generic("POST", "/api/v1/tenants", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "REQUEST_TOO_LARGE"


def test_too_many_form_fields_is_the_envelope(v1: APIClient) -> None:
    fields = "&".join(f"f{i}=1" for i in range(1200))

    response = v1.generic(
        "POST", "/api/v1/tenants", fields, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


def test_a_nul_byte_in_the_query_string_is_a_400(v1: APIClient) -> None:
    for query in ("?cursor=%00", "?status=a%00b", "?x%00=1"):
        response = v1.get(f"/api/v1/tenants{query}")
        assert (response.status_code, response.json()["code"]) == (400, "MALFORMED_REQUEST")

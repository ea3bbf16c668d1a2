"""The project around the apps: OpenAPI schema and docs, health, admin, settings, Celery."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.test import Client

from accounts.models import ApiKey, User
from config.celery import app as celery_app
from tests.conftest import OrgTrio

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_the_schema_is_valid_openapi_3_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(target),
    )

    schema = json.loads(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/tenants" in schema["paths"]
    assert not [path for path in schema["paths"] if path.startswith("/api/internal/")]


@pytest.mark.django_db
def test_the_schema_shows_the_envelope(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    created = schema["paths"]["/api/v1/tenants"]["post"]["responses"]
    success = created["201"]["content"]["application/json"]["schema"]
    assert set(success["properties"]) == {"success", "message", "data"}
    assert created["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert (
        "ApiKeyAuthentication" in json.dumps(schema["components"]["securitySchemes"])
        or (schema["components"]["securitySchemes"])
    )


@pytest.mark.django_db
def test_the_interactive_docs_are_served_from_our_own_static_files(client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html


@pytest.mark.django_db
def test_health_reports_the_database(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


@pytest.mark.django_db
def test_the_home_page_needs_a_login_and_opens_the_organizations_domains(trio: OrgTrio) -> None:
    client = Client()
    assert client.get("/").url == "/login/?next=/overview/domains"

    client.force_login(trio.staff)
    response = client.get("/", follow=True)
    page = response.content.decode()

    assert response.redirect_chain[-1][0] == "/overview/domains"
    assert "Acme" in page
    assert "Globex" not in page


@pytest.mark.django_db
def test_admin_creates_an_api_key_and_shows_the_secret_once(trio: OrgTrio) -> None:
    admin = User.objects.create_superuser("root@example.test", "pw")
    client = Client()
    client.force_login(admin)

    response = client.post(
        "/admin/accounts/apikey/add/",
        {"organization": trio.organization.pk, "name": "from admin"},
        follow=True,
    )

    assert response.status_code == 200
    key = ApiKey.objects.get(name="from admin")
    shown = [str(m) for m in response.context["messages"]]
    assert any(key.prefix in message for message in shown)
    change_page = client.get(f"/admin/accounts/apikey/{quote(key.pk)}/change/").content.decode()
    assert key.secret_hash not in change_page


@pytest.mark.django_db
def test_admin_pages_render(trio: OrgTrio) -> None:
    admin = User.objects.create_superuser("root@example.test", "pw")
    client = Client()
    client.force_login(admin)

    for url in (
        "/admin/accounts/organization/",
        f"/admin/accounts/organization/{quote(trio.organization.pk)}/change/",
        "/admin/accounts/user/",
        "/admin/accounts/tenant/",
        "/admin/accounts/apikey/",
        "/admin/accounts/apikey/add/",
    ):
        assert client.get(url).status_code == 200, url


def test_celery_is_configured_for_safe_delivery() -> None:
    conf = celery_app.conf

    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def settings_in_subprocess(module: str, env: dict[str, str], expr: str) -> str:
    """Reads one value of a settings module as a fresh process with `env` would see it."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "-c", f"import {module} as s; print({expr})"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_local_settings_need_no_services() -> None:
    module = "config.settings.local"

    assert settings_in_subprocess(module, {}, "s.DATABASES['default']['ENGINE']").endswith(
        "sqlite3"
    )
    assert settings_in_subprocess(module, {}, "s.CELERY_BROKER_URL") == "filesystem://"
    assert "LocMemCache" in settings_in_subprocess(module, {}, "s.CACHES['default']['BACKEND']")


def test_redis_url_moves_cache_and_broker_to_redis_with_a_long_visibility_timeout() -> None:
    module = "config.settings.local"
    env = {"REDIS_URL": "redis://127.0.0.1:6379/3"}

    assert settings_in_subprocess(module, env, "s.CELERY_BROKER_URL") == env["REDIS_URL"]
    timeout = int(
        settings_in_subprocess(
            module, env, "s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']"
        )
    )
    assert timeout > 26 * 3600  # the longest webhook retry countdown: 24 h plus 10 % jitter


def test_production_settings_refuse_to_start_without_a_secret_key() -> None:
    with pytest.raises(subprocess.CalledProcessError) as failure:
        settings_in_subprocess(
            "config.settings.production",
            {
                "ALLOWED_HOSTS": "x.test",
                "DATABASE_URL": "postgres://u@h/db",
                "REDIS_URL": "redis://h",
            },
            "s.SECRET_KEY",
        )
    assert "SECRET_KEY" in failure.value.stderr


def deploy_check(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE in this process when it
        # is collected; a production process never has it, and the check rightly refuses it.
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
        },
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 20 + "Zq8#kL2!vN5@pR7$tW9%yB4^" + "m" * 20,
        "ALLOWED_HOSTS": "domainkeeper.example.com",
        "TRUSTED_PROXY_HOPS": "1",
        "DATABASE_URL": "sqlite:///unused.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_production_settings_pass_the_deploy_checklist() -> None:
    result = deploy_check()

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_checklist_catches_a_redirect_loop_behind_a_proxy() -> None:
    result = deploy_check(TRUSTED_PROXY_HOPS="0")

    assert result.returncode != 0
    assert "domainkeeper.W001" in result.stderr


def test_the_schema_ignores_a_stale_authorization_header(client: Client, db: None) -> None:
    response = client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer dk_stale")

    assert response.status_code == 200
